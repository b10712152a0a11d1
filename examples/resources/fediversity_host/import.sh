# Import by "[user@]address[:port]", followed by the host key to pin unless
# the provider's known_hosts_file lists the host.
tofu import fediversity_host.web1 'root@192.0.2.10:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq'

# With the host in known_hosts_file:
tofu import fediversity_host.web2 deploy@web2.hosting.example:2222

# Import by "[user@]address[:port]/name", followed by the host key to pin
# unless the provider's known_hosts_file lists the host.
tofu import fediversity_runtime.web1 'root@192.0.2.10:22/web1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq'

# Import by "[user@]address[:port]/runtime/operator/kind", followed by the
# host key unless the provider's known_hosts_file lists the host.
tofu import fediversity_application.mastodon 'root@192.0.2.10:22/web1/chessclub/mastodon ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq'

package provider

import "testing"

// Key and known_hosts files may start with ~/, as in OpenSSH.
func TestExpandHome(t *testing.T) {
	t.Setenv("HOME", "/home/deployer")
	for in, want := range map[string]string{
		"~/.ssh/id_ed25519": "/home/deployer/.ssh/id_ed25519",
		"/etc/keys/k":       "/etc/keys/k",
		"~other/k":          "~other/k",
		"relative/k":        "relative/k",
	} {
		if got := expandHome(in); got != want {
			t.Errorf("expandHome(%q) = %q, want %q", in, got, want)
		}
	}
}

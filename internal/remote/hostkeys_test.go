package remote

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func TestParseAuthorizedKey(t *testing.T) {
	t.Parallel()
	key := keys().hostEd25519.PublicKey()
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))

	for _, in := range []string{line, line + " root@host", "  " + line + "\n"} {
		got, err := ParseAuthorizedKey(in)
		if err != nil || string(got.Marshal()) != string(key.Marshal()) {
			t.Errorf("ParseAuthorizedKey(%q) = %v, %v; want the key", in, got, err)
		}
	}
	for _, bad := range []string{"", "garbage", "ssh-ed25519 !!!notbase64", line + "\n" + line, `from="x" ` + line} {
		if _, err := ParseAuthorizedKey(bad); err == nil {
			t.Errorf("ParseAuthorizedKey(%q) accepted garbage", bad)
		} else if bad == "garbage" && !strings.Contains(err.Error(), `"ssh-ed25519 AAAA..."`) {
			t.Errorf("error %q does not say what a key looks like", err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	key := keys().hostEd25519.PublicKey()
	want := "ssh-ed25519 " + ssh.FingerprintSHA256(key)
	if got := Fingerprint(key); got != want || !strings.HasPrefix(got, "ssh-ed25519 SHA256:") {
		t.Fatalf("Fingerprint = %q, want %q", got, want)
	}
}

func TestHostKeyAlgorithms(t *testing.T) {
	t.Parallel()
	k := keys()
	cases := []struct {
		keys []ssh.PublicKey
		want []string
	}{
		{[]ssh.PublicKey{k.hostEd25519.PublicKey()}, []string{"ssh-ed25519"}},
		{[]ssh.PublicKey{k.hostRSA.PublicKey()}, []string{"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"}},
		{[]ssh.PublicKey{k.hostRSA.PublicKey(), k.hostEd25519.PublicKey(), k.client.PublicKey()},
			[]string{"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa", "ssh-ed25519"}},
	}
	for _, c := range cases {
		if got := HostKeyAlgorithms(c.keys); !slices.Equal(got, c.want) {
			t.Errorf("HostKeyAlgorithms = %q, want %q", got, c.want)
		}
	}
}

// writeKnownHosts writes a known_hosts file listing keys for hostPort.
func writeKnownHosts(t *testing.T, hostPort string, keys ...ssh.PublicKey) string {
	t.Helper()
	var lines []string
	for _, k := range keys {
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(hostPort)}, k))
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestKnownHostKeys(t *testing.T) {
	t.Parallel()
	k := keys()
	file := writeKnownHosts(t, "10.0.0.7:2222", k.hostEd25519.PublicKey(), k.hostRSA.PublicKey())
	missing := filepath.Join(t.TempDir(), "absent")

	got, err := KnownHostKeys([]string{missing, file}, "10.0.0.7:2222")
	if err != nil || len(got) != 2 || Fingerprint(got[0]) != Fingerprint(k.hostEd25519.PublicKey()) {
		t.Fatalf("KnownHostKeys = %v, %v; want both listed keys", got, err)
	}
	for _, other := range []string{"10.0.0.7:22", "10.0.0.8:2222"} {
		got, err := KnownHostKeys([]string{file}, other)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("KnownHostKeys(%s) = %v, %v; want an empty slice", other, got, err)
		}
	}
	if got, err := KnownHostKeys(nil, "10.0.0.7:2222"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("KnownHostKeys(no files) = %v, %v; want an empty slice", got, err)
	}
}

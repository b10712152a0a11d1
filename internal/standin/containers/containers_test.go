package containers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"ct1":          "",
		"a":            "",
		"abc-def-123":  "", // 11 characters
		"abcdefghijkl": "is too long",
		"":             "no container name",
		"Ct1":          "invalid container name",
		"1ct":          "invalid container name",
		"ct_1":         "invalid container name",
		"ct/1":         "invalid container name",
		"-ct":          "invalid container name",
	} {
		err := checkName(name)
		switch {
		case want == "" && err != nil:
			t.Errorf("%q refused: %v", name, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: %v, want %q", name, err, want)
		}
	}
}

func TestConfRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ct1.conf")
	want := conf{hostAddress: "127.0.0.220", localAddress: "127.0.0.254"}
	if err := os.WriteFile(path, []byte("# a comment\n"+want.render()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readConf(path)
	if err != nil || got != want {
		t.Fatalf("readConf: %+v, %v; want %+v", got, err, want)
	}
	for _, line := range []string{"PRIVATE_NETWORK=1", "HOST_ADDRESS=127.0.0.220", "LOCAL_ADDRESS=127.0.0.254", "AUTO_START=0"} {
		if !strings.Contains(want.render(), line+"\n") {
			t.Errorf("conf lacks %s", line)
		}
	}
	if _, err := readConf(filepath.Join(t.TempDir(), "none.conf")); !errors.Is(err, errNoContainer) {
		t.Errorf("missing conf: %v", err)
	}
}

func TestLaunchesOfAHostRoot(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, rootsDir, "ct1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	record := `{"name": "container ct1", "instance": "x", "instance_file": "` + instanceFile + `", "pid": 1, "start_time": 2}`
	if err := os.WriteFile(filepath.Join(dir, launchRecord), []byte(record), 0o644); err != nil {
		t.Fatal(err)
	}
	got := Launches(root)
	if len(got) != 1 || got[0].Name != "container ct1" || got[0].InstanceFile != instanceFile || got[0].PID != 1 {
		t.Fatalf("Launches: %+v", got)
	}
	if got := Launches(t.TempDir()); len(got) != 0 {
		t.Errorf("Launches of a host without containers: %+v", got)
	}
}

func TestUsageAndRefusals(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 1, "usage: nixos-container list"},
		{[]string{"frobnicate", "ct1"}, 1, "unknown action ‘frobnicate’"},
		{[]string{"start"}, 1, "no container name specified"},
		{[]string{"create", "abcdefghijkl", "--system-path", "/nix/store/x"}, 1, "container name ‘abcdefghijkl’ is too long"},
		{[]string{"create", "Ct1", "--system-path", "/nix/store/x"}, 1, "invalid container name"},
		{[]string{"create", "ct1"}, 1, "--system-path is required"},
		{[]string{"run", "ct1", "true"}, 1, "usage:"},
	} {
		var stdout, stderr strings.Builder
		code := Main(t.Context(), c.args, &stdout, &stderr)
		if code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), c.code, c.want)
		}
	}
}

// Containers take 127.0.1.254 downwards and go on into further loopback
// /24s, never into sandbox hosts' 127.0.0.0/24 nor onto a network or
// broadcast address.
func TestCandidateAddressesReachBeyondOneSubnet(t *testing.T) {
	var all []string
	for a := range candidateAddresses {
		all = append(all, a)
	}
	if all[0] != "127.0.1.254" || all[252] != "127.0.1.2" || all[253] != "127.0.2.254" || all[len(all)-1] != "127.0.255.2" {
		t.Fatalf("order: first %s, 253rd %s, 254th %s, last %s", all[0], all[252], all[253], all[len(all)-1])
	}
	seen := map[string]bool{}
	for _, a := range all {
		if seen[a] || strings.HasSuffix(a, ".0") || strings.HasSuffix(a, ".255") || strings.HasPrefix(a, "127.0.0.") {
			t.Fatalf("bad candidate %s", a)
		}
		seen[a] = true
	}
	if len(all) < 1000+254 {
		t.Fatalf("only %d addresses for containers", len(all))
	}
}

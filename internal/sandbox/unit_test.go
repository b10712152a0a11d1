package sandbox

import (
	"context"
	"crypto/rsa"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
)

// These tests need neither root nor sshd.

func TestWriteHostKeys(t *testing.T) {
	dir := t.TempDir()
	keys, err := writeHostKeys(dir, "host1")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !strings.HasPrefix(keys[0], "ssh-ed25519 ") || !strings.HasPrefix(keys[1], "ssh-rsa ") {
		t.Fatalf("keys: %q", keys)
	}
	for i, file := range hostKeyFiles {
		path := filepath.Join(dir, file)
		info, err := os.Stat(path)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", file, info.Mode(), err)
		}
		data, _ := os.ReadFile(path)
		key, err := ssh.ParseRawPrivateKey(data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if rsaKey, ok := key.(*rsa.PrivateKey); ok && rsaKey.N.BitLen() != rsaHostKeyBits {
			t.Errorf("RSA key has %d bits", rsaKey.N.BitLen())
		}
		if pub, err := readPrivateKeyPublic(path); err != nil || pub != keys[i] {
			t.Errorf("%s: public key %q, %v; want %q", file, pub, err, keys[i])
		}
	}
	again, err := readHostKeys(dir)
	if err != nil || strings.Join(again, "\n") != strings.Join(keys, "\n") {
		t.Errorf("readHostKeys: %q, %v", again, err)
	}
	if _, err := writeHostKeys(dir, "host1"); err == nil {
		t.Error("existing host keys were overwritten")
	}
}

func TestSSHDConfig(t *testing.T) {
	config := sshdConfig("127.0.0.9")
	for _, line := range []string{
		"ListenAddress 127.0.0.9:22",
		"HostKey /run/fediversity-sandbox/state/ssh_host_ed25519_key",
		"HostKey /run/fediversity-sandbox/state/ssh_host_rsa_key",
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"AuthorizedKeysFile /run/fediversity-sandbox/state/authorized_keys",
		"PidFile /run/fediversity-sandbox/state/sshd.pid",
		"LogLevel VERBOSE",
		"MaxSessions 16",
		"ClientAliveInterval 0",
	} {
		if !strings.Contains(config, line+"\n") {
			t.Errorf("sshd_config lacks %q", line)
		}
	}
}

func TestUnescapeMountPath(t *testing.T) {
	if got := unescapeMountPath(`/tmp/a\040b\134c\`); got != `/tmp/a b\c\` {
		t.Errorf("got %q", got)
	}
}

func TestWithin(t *testing.T) {
	for path, want := range map[string]bool{
		"/d": true, "/d/x": true, "/dx": false, "/": false, "/d/../e": false,
	} {
		if within(path, "/d") != want {
			t.Errorf("within(%q, /d) != %v", path, want)
		}
	}
}

func TestPickAddressesRange(t *testing.T) {
	if _, _, err := pickAddresses(254, 2); err == nil {
		t.Error("hosts past 127.0.0.254 accepted")
	}
}

// Fleets coming up at once get different addresses: each holds its pick
// until its hosts listen.
func TestPickedAddressesStayReserved(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding port 22 needs root")
	}
	first, release, err := pickAddresses(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	second, releaseSecond, err := pickAddresses(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseSecond()
	if first[0] == second[0] {
		t.Fatalf("two fleets coming up both picked %s", first[0])
	}
	n, _ := strconv.Atoi(strings.TrimPrefix(first[0], "127.0.0."))
	if _, _, err := pickAddresses(n, 1); err == nil {
		t.Fatalf("%s was picked again while reserved", first[0])
	}
	release()
	again, releaseAgain, err := pickAddresses(n, 1)
	if err != nil {
		t.Fatalf("%s after its release: %v", first[0], err)
	}
	releaseAgain()
	if again[0] != first[0] {
		t.Fatalf("got %s", again[0])
	}
}

func TestUpRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {Dir: t.TempDir()}, {Dir: t.TempDir(), Hosts: 1, FirstAddress: 255}} {
		if _, err := Up(context.Background(), o); err == nil {
			t.Errorf("Up(%+v) succeeded", o)
		}
	}
}

func TestUpRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	precious := filepath.Join(dir, hostsDir, "precious")
	if err := os.MkdirAll(precious, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Up(context.Background(), Options{Dir: dir, Hosts: 1, FirstAddress: 229}); err == nil {
		t.Fatal("Up took over a dir it did not create")
	}
	if _, err := os.Stat(precious); err != nil {
		t.Fatalf("Up removed what it did not create: %v", err)
	}
}

func TestDownAndLeftoversOnMissingOrEmptyDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	empty := t.TempDir()
	for _, dir := range []string{missing, empty} {
		for range 2 {
			if err := Down(dir); err != nil {
				t.Errorf("Down(%s): %v", dir, err)
			}
		}
		if left, err := Leftovers(dir); err != nil || len(left) > 0 {
			t.Errorf("Leftovers(%s): %v, %v", dir, left, err)
		}
	}
}

// A record left by a crash whose pid has long been reused by something
// else must not make Down kill that process.
func TestDownIgnoresStaleRecord(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, hostsDir, "host1")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	stale := record{
		Launch:   mountns.Launch{Name: "host1", Instance: "gone", InstanceFile: inHostInstance, PID: self, StartTime: 1, MountNS: mountns.Current()},
		Address:  "127.0.0.228",
		stateDir: state,
	}
	if err := stale.save(); err != nil {
		t.Fatal(err)
	}
	if procs := stale.processes(); len(procs) > 0 {
		t.Fatalf("stale record matches live processes: %v", procs)
	}
	if err := Down(dir); err != nil {
		t.Fatal(err)
	}
}

func TestPickAddressesRefusesAddressInUse(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding port 22 needs root")
	}
	busy, err := net.Listen("tcp", "127.0.0.230:22")
	if err != nil {
		t.Skip(err)
	}
	defer busy.Close()
	if _, _, err := pickAddresses(229, 2); err == nil || !strings.Contains(err.Error(), "127.0.0.230:22") {
		t.Errorf("an address in use was accepted: %v", err)
	}
	got, release, err := pickAddresses(229, 1)
	if err != nil || got[0] != "127.0.0.229" {
		t.Fatalf("pickAddresses(229, 1) = %v, %v", got, err)
	}
	release()
}

// Someone else listening on a stopped host's address is not the fleet's.
func TestLeftoversIgnoreForeignListener(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding port 22 needs root")
	}
	foreign, err := net.Listen("tcp", "127.0.0.229:22")
	if err != nil {
		t.Skip(err)
	}
	defer foreign.Close()
	dir := t.TempDir()
	state := filepath.Join(dir, hostsDir, "host1")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	gone := record{Launch: mountns.Launch{Name: "host1", Instance: "gone"}, Address: "127.0.0.229", stateDir: state}
	if err := gone.save(); err != nil {
		t.Fatal(err)
	}
	if left, err := Leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("Leftovers: %q, %v", left, err)
	}
}

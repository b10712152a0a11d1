package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// requireSandbox skips a test that needs real sandbox hosts when this
// machine cannot run them, except in CI, where that is a failure.
func requireSandbox(t *testing.T) {
	t.Helper()
	if err := Requirements(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// upFleet brings up a fleet in a fresh temp dir and always takes it down
// again, checking that nothing is left.
func upFleet(t *testing.T, hosts, firstAddress int) *Fleet {
	t.Helper()
	requireSandbox(t)
	dir := t.TempDir()
	t.Cleanup(func() { downClean(t, dir) })
	f, err := Up(testContext(t), Options{Dir: dir, Hosts: hosts, FirstAddress: firstAddress})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// downClean runs Down and fails the test if anything of the fleet survives.
func downClean(t *testing.T, dir string) {
	t.Helper()
	if err := Down(dir); err != nil {
		t.Errorf("Down: %v", err)
	}
	if left, err := Leftovers(dir); err != nil || len(left) > 0 {
		t.Errorf("after Down: leftovers %v, %v", left, err)
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// knownHosts writes a known_hosts file with the given keys for a host.
func knownHosts(t *testing.T, h Host, keys ...string) string {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s\n", h.Address, k)
	}
	path := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sshCommand is /usr/bin/ssh to a host as root, trusting only the host keys
// in knownHostsFile and offering only the fleet's client key.
func sshCommand(ctx context.Context, h Host, knownHostsFile string, extra []string, remote ...string) *exec.Cmd {
	args := []string{
		"-F", "/dev/null",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHostsFile,
		"-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "UpdateHostKeys=no",
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "ConnectTimeout=10",
		"-i", h.ClientKeyPath,
	}
	args = append(args, extra...)
	args = append(args, "root@"+h.Address, "--")
	return exec.CommandContext(ctx, "ssh", append(args, remote...)...)
}

// runSSH runs a remote command with all of the host's keys trusted.
func runSSH(t *testing.T, h Host, stdin io.Reader, remote ...string) (string, error) {
	t.Helper()
	cmd := sshCommand(testContext(t), h, knownHosts(t, h, h.HostKeys...), nil, remote...)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("ssh %s %v: %w: %s", h.Name, remote, err, stderr.String())
	}
	return string(out), nil
}

func mustSSH(t *testing.T, h Host, remote ...string) string {
	t.Helper()
	out, err := runSSH(t, h, nil, remote...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dialPinned connects with x/crypto/ssh, accepting exactly one host key and
// negotiating only the given host key algorithms, and runs a command.
func dialPinned(h Host, hostKey string, algorithms []string) (string, error) {
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hostKey))
	if err != nil {
		return "", err
	}
	keyData, err := os.ReadFile(h.ClientKeyPath)
	if err != nil {
		return "", err
	}
	signer, err := ssh.ParsePrivateKey(keyData)
	if err != nil {
		return "", err
	}
	client, err := ssh.Dial("tcp", fmt.Sprintf("%s:%d", h.Address, h.Port), &ssh.ClientConfig{
		User:              "root",
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   ssh.FixedHostKey(pinned),
		HostKeyAlgorithms: algorithms,
		Timeout:           10 * time.Second,
	})
	if err != nil {
		return "", err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer session.Close()
	out, err := session.Output("echo pinned-ok")
	return string(out), err
}

// machineNix runs a Nix command against the machine's own store, offline.
func machineNix(t *testing.T, stdin io.Reader, args ...string) string {
	t.Helper()
	conf := t.TempDir()
	if err := os.WriteFile(filepath.Join(conf, "nix.conf"), []byte(nixConf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testContext(t), args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "NIX_CONF_DIR="+conf)
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

func hostRecord(t *testing.T, h Host) record {
	t.Helper()
	r, err := readRecord(h.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor polls a condition for up to 30 seconds (the machine may be busy
// with builds); describe, if given, says what was seen instead.
func waitFor(t *testing.T, what string, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			seen := ""
			if describe != nil {
				seen = ": " + describe()
			}
			t.Fatalf("timed out waiting for %s%s", what, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

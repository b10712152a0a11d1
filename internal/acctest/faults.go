package acctest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// ClosedPort returns a loopback port that nothing listens on.
func ClosedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// SilentListener accepts TCP connections and never says a word, like a
// host whose sshd hangs or a firewall that swallows the handshake.
func SilentListener(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().(*net.TCPAddr).Port
}

// StrangerKey writes a private key that no host authorises.
func StrangerKey(t *testing.T) string {
	t.Helper()
	_, private, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(private, "stranger")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "stranger_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// SlowNixStore makes nix-store on one host announce itself in
// /run/slow-nix-store.started and then hang, by bind-mounting a script over
// it inside that host only. It returns a function that undoes it.
func SlowNixStore(t *testing.T, h sandbox.Host) (restore func()) {
	t.Helper()
	const script = "#!/bin/sh\ntouch /run/slow-nix-store.started\nexec sleep 120\n"
	runOnHost(t, h, script, "sh", "-c", "cat > /etc/fediversity/slow-nix-store && chmod 755 /etc/fediversity/slow-nix-store")
	runOnHost(t, h, "", "mount", "--bind", "/etc/fediversity/slow-nix-store", "/usr/bin/nix-store")
	restored := false
	restore = func() {
		if !restored {
			restored = true
			runOnHost(t, h, "", "sh", "-c", "umount /usr/bin/nix-store; rm -f /etc/fediversity/slow-nix-store /run/slow-nix-store.started")
		}
	}
	t.Cleanup(restore)
	return restore
}

// WaitSlowNixStoreStarted blocks until the slow nix-store has started.
func WaitSlowNixStoreStarted(t *testing.T, h sandbox.Host) bool {
	return poll(func() bool {
		return h.Exec(context.Background(), "test", "-e", "/run/slow-nix-store.started").Run() == nil
	})
}

// WaitSlowNixStoreGone blocks until no slow nix-store runs on the host,
// which shows that a timed-out command was killed on the host too.
func WaitSlowNixStoreGone(t *testing.T, h sandbox.Host) {
	t.Helper()
	// Hosts share the machine's pids: count only this host's sleepers.
	const sleepersHere = `n=0; for p in $(pgrep -x sleep); do
  [ "$(readlink /proc/$p/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ] || continue
  [ "$(tr '\0' ' ' </proc/$p/cmdline)" = "sleep 120 " ] && n=$((n + 1))
done; echo $n`
	gone := poll(func() bool {
		out, _ := h.Exec(context.Background(), "sh", "-c", sleepersHere).Output()
		return strings.TrimSpace(string(out)) == "0"
	})
	if !gone {
		t.Errorf("the timed-out command still runs on %s", h.Name)
	}
}

func poll(done func() bool) bool {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if done() {
			return true
		}
	}
	return false
}

func runOnHost(t *testing.T, h sandbox.Host, stdin string, args ...string) {
	t.Helper()
	cmd := h.Exec(context.Background(), args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("on %s: %s: %v: %s", h.Name, strings.Join(args, " "), err, out)
	}
}

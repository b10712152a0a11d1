package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests run this command as a real process (to signal it).
func TestMain(m *testing.M) {
	if os.Getenv("FEDIVERSITY_STANDIN_TEST_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

func runCommand(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args       []string
		code       int
		wantStderr string
	}{
		{nil, 2, "usage: fediversity-standin ROLE"},
		{[]string{"nonesuch"}, 2, `unknown role "nonesuch"`},
		{[]string{"app"}, 2, "usage: fediversity-standin app --config FILE"},
		{[]string{"mail", "--config", "x.json", "extra"}, 2, "usage: fediversity-standin mail"},
		{[]string{"app", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"app", "-h"}, 0, "usage: fediversity-standin app"},
	} {
		code, _, stderr := runCommand(c.args...)
		if code != c.code || !strings.Contains(stderr, c.wantStderr) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.wantStderr)
		}
	}
	code, stdout, _ := runCommand("--help")
	if code != 0 || !strings.Contains(stdout, "  app ") || !strings.Contains(stdout, "  mail ") || !strings.Contains(stdout, "  proxy ") {
		t.Errorf("--help: exit %d, %q", code, stdout)
	}
}

func TestRefusalIsOneLineAndExitStatus1(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "otp_secret")
	config := writeFile(t, dir, "app.json", fmt.Sprintf(`{"kind": "mastodon", "version": "4.3.2",
		"domain": "social.example.org", "listen": "127.0.0.1:0",
		"database": {"host": %q, "name": "m", "user": "m"}, "state_dir": %q,
		"secrets": {"OTP_SECRET": %q}}`, dir, dir, missing))
	for _, args := range [][]string{
		{"app", "--config", config},
		{"app", "--config", filepath.Join(dir, "no-such-config.json")},
		{"mail", "--config", writeFile(t, dir, "mail.json", `{"smtp_listen": "127.0.0.1:0", "http_listen": "127.0.0.1:0",
			"maildir": "/tmp/unused", "domains": [{"domain": "example.org", "dkim_private_key_file": "`+missing+`"}]}`)},
		{"proxy", "--config", writeFile(t, dir, "proxy.json", `{"listen": ["127.0.0.1:0"], "virtualHosts": {"a.example.org":
			{"locations": {"/": {"proxyPass": "http://mastodon-streaming"}}}}}`)},
	} {
		code, _, stderr := runCommand(args...)
		if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "fediversity-standin "+args[0]+": ") {
			t.Errorf("%q: exit %d, stderr %q; want exit 1 and one line", args, code, stderr)
		}
	}
	if _, _, stderr := runCommand("app", "--config", config); !strings.Contains(stderr, "OTP_SECRET") || !strings.Contains(stderr, missing) {
		t.Errorf("refusal does not name the secret and its file: %q", stderr)
	}
}

func TestSIGTERMShutsDownWithExitStatus0(t *testing.T) {
	dir := t.TempDir()
	key := writeFile(t, dir, "dkim.private", "a key")
	config := writeFile(t, dir, "mail.json", fmt.Sprintf(`{"smtp_listen": "127.0.0.1:0", "http_listen": "127.0.0.1:0",
		"maildir": %q, "domains": [{"domain": "example.org", "dkim_private_key_file": %q}]}`, filepath.Join(dir, "mail"), key))
	cmd := exec.Command(os.Args[0], "mail", "--config", config)
	cmd.Env = append(os.Environ(), "FEDIVERSITY_STANDIN_TEST_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // in case the test failed; an error means it is gone
	lines := bufio.NewScanner(stderr)
	for lines.Scan() && !strings.Contains(lines.Text(), "HTTP on 127.0.0.1:") {
	}
	go func() { // keep draining, so that logging never blocks the process
		for lines.Scan() {
		}
	}()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("after SIGTERM: %v, want exit status 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

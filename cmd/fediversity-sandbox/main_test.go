package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"bogus"}, exitUsage},
		{[]string{"up", "--hosts", "0"}, exitUsage},
		{[]string{"up", "--first-address", "255"}, exitUsage},
		{[]string{"up", "--no-such-flag"}, exitUsage},
		{[]string{"down", "stray"}, exitUsage},
		{[]string{"status", "-h"}, 0},
		{[]string{"help"}, 0},
	} {
		var stdout, stderr bytes.Buffer
		if got := run(c.args, &stdout, &stderr); got != c.code {
			t.Errorf("%q: exit %d, want %d; stderr %s", c.args, got, c.code, stderr.String())
		}
		if c.code == exitUsage && !strings.Contains(stderr.String(), "usage: fediversity-sandbox") {
			t.Errorf("%q: no usage on stderr: %s", c.args, stderr.String())
		}
	}
}

func TestDownAndStatusOnMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"down", "--dir", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("down: %d %s", code, stderr.String())
	}
	if code := run([]string{"status", "--dir", dir}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "nothing of the fleet is alive") {
		t.Fatalf("status: %d %s %s", code, stdout.String(), stderr.String())
	}
}

package provider

import (
	"strings"
	"testing"
)

// hostile are strings that must never reach a shell or Nix source unquoted
// (RELIABILITY 27); every validator of an identifier-like attribute rejects them.
var hostile = []string{
	`host"; reboot; "`, `$(touch /tmp/pwned)`, "`id`", "a\nb", "${var.x}", "a\x00b",
	`host'name`, "host name", "host;name", "-oProxyCommand=sh", "../../etc", "",
}

func TestCheckAddress(t *testing.T) {
	for _, ok := range []string{"127.0.0.2", "::1", "2001:db8::10", "web1", "web1.hosting.example", "web1.hosting.example.", "xn--bcher-kva.example"} {
		if err := checkAddress(ok); err != nil {
			t.Errorf("checkAddress(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range append(hostile, "-leading.example", "trailing-.example", strings.Repeat("a", 64)+".example", "a..b") {
		if err := checkAddress(bad); err == nil {
			t.Errorf("checkAddress(%q) accepted a hostile or malformed address", bad)
		}
	}
	err := checkAddress("192.0.2.1:2222")
	if err == nil || !strings.Contains(err.Error(), `port = 2222`) {
		t.Errorf("an address with a port should say how to fix it, got %v", err)
	}
}

func TestCheckUser(t *testing.T) {
	for _, ok := range []string{"root", "deploy", "_svc", "web-admin1"} {
		if err := checkUser(ok); err != nil {
			t.Errorf("checkUser(%q) = %v", ok, err)
		}
	}
	for _, bad := range append(hostile, "Root", "1user", strings.Repeat("a", 33)) {
		if err := checkUser(bad); err == nil {
			t.Errorf("checkUser(%q) accepted", bad)
		}
	}
}

const (
	exampleEd25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGFnHgz2v+K5M2e0l3m0FfX5h8sQWJk6p2b1t4m7ZxYq root@web1"
	otherEd25519   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBmXx2w0kqZrj8W1y5c3oQeV9sT4hN6aL2pD7fG0uJkY"
)

func TestParseHostKey(t *testing.T) {
	if _, err := parseHostKey(exampleEd25519); err != nil {
		t.Fatalf("valid key rejected: %v", err)
	}
	cases := map[string]string{
		"garbage":         "not an SSH public key",
		"known_hosts":     "a known_hosts host name",
		"two keys":        "more than one line",
		"with options":    "authorized_keys options",
		"truncated key":   "not an SSH public key",
		"shell injection": "not an SSH public key",
	}
	inputs := map[string]string{
		"garbage":         "ssh-ed25519 garbage",
		"known_hosts":     "192.0.2.1 " + exampleEd25519,
		"two keys":        exampleEd25519 + "\n" + otherEd25519,
		"with options":    `command="reboot" ` + exampleEd25519,
		"truncated key":   exampleEd25519[:40],
		"shell injection": "$(reboot)",
	}
	for name, want := range cases {
		_, err := parseHostKey(inputs[name])
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, want)
		}
	}
}

func TestParseHostImportID(t *testing.T) {
	m, err := parseHostImportID("deploy@192.0.2.10:2222 " + exampleEd25519)
	if err != nil {
		t.Fatal(err)
	}
	if m.User.ValueString() != "deploy" || m.Address.ValueString() != "192.0.2.10" || m.Port.ValueInt64() != 2222 || m.HostKey.ValueString() != exampleEd25519 {
		t.Fatalf("parsed %+v", m)
	}
	m, err = parseHostImportID("2001:db8::1")
	if err != nil || m.Address.ValueString() != "2001:db8::1" || m.Port.ValueInt64() != 22 || !m.User.IsNull() || !m.HostKey.IsNull() {
		t.Fatalf("bare IPv6: %+v, %v", m, err)
	}
	m, err = parseHostImportID("[2001:db8::1]:2200")
	if err != nil || m.Address.ValueString() != "2001:db8::1" || m.Port.ValueInt64() != 2200 {
		t.Fatalf("bracketed IPv6 with port: %+v, %v", m, err)
	}
	for _, bad := range []string{"", "$(reboot)", "root;x@host", "host:0", "host:99999", "host:ssh", "host ssh-ed25519 garbage"} {
		if _, err := parseHostImportID(bad); err == nil || !strings.Contains(err.Error(), "[user@]address[:port]") {
			t.Errorf("parseHostImportID(%q) = %v, want the format explained", bad, err)
		}
	}
}

func TestDurationAndVersionChecks(t *testing.T) {
	for _, bad := range []string{"soon", "0s", "-5s", "10"} {
		if durationValidator().(stringCheck).check(bad) == nil {
			t.Errorf("duration %q accepted", bad)
		}
	}
	if err := durationValidator().(stringCheck).check("1m30s"); err != nil {
		t.Error(err)
	}
	if versionValidator().(stringCheck).check("latest") == nil {
		t.Error(`version "latest" accepted`)
	}
}

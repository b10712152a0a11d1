package nixos

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseRecord(t *testing.T) {
	r := parseRecord("status=4\nprevious=/nix/store/abc-nixos-system\nholder=\nlog<<\nunit a failed\nthe following units failed: a\n")
	if r.status != "4" || r.previous != "/nix/store/abc-nixos-system" || r.log != "unit a failed\nthe following units failed: a" {
		t.Fatalf("parsed %+v", r)
	}
	if r := parseRecord("status=running\n"); r.status != "running" || r.log != "" {
		t.Fatalf("parsed %+v", r)
	}
}

func TestParseGenerations(t *testing.T) {
	gens, err := parseGenerations("12 /nix/store/c-system current\n3 /nix/store/a-system\n10 /nix/store/b-system\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 3 || gens[0].Number != 3 || gens[2].Number != 12 || !gens[2].Current || gens[1].Current {
		t.Fatalf("parsed %+v", gens)
	}
	if _, err := parseGenerations("x /nix/store/a\n"); err == nil {
		t.Fatal("garbage accepted")
	}
	if gens, err := parseGenerations(""); err != nil || len(gens) != 0 {
		t.Fatalf("empty profile: %v %v", gens, err)
	}
}

func TestContainerProfile(t *testing.T) {
	p, err := ContainerProfile("op-a1")
	if err != nil || p.Path != "/nix/var/nix/profiles/per-container/op-a1/system" || !strings.HasSuffix(p.Lock, "container-op-a1.lock") {
		t.Fatalf("%+v %v", p, err)
	}
	for _, bad := range []string{"", "toolongname1", "1abc", "Op", "a/b", "a b", "$(x)"} {
		if _, err := ContainerProfile(bad); err == nil {
			t.Errorf("container name %q accepted", bad)
		}
	}
}

func TestActivationErrorMessages(t *testing.T) {
	e := &ActivationError{Profile: "/p", Toplevel: "/nix/store/x", Stage: StageSwitch, ExitStatus: "4", RolledBackTo: "/nix/store/w", Log: "boom"}
	for _, want := range []string{"exit status 4", "some units failed", "rolled back to /nix/store/w", "boom"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
	locked := &ActivationError{Profile: "/p", Stage: StageLock}
	if !strings.Contains(locked.Error(), "nothing was changed") {
		t.Errorf("%q", locked.Error())
	}
}

func TestParseRuntimeFacts(t *testing.T) {
	out := "system=/nix/store/abc-nixos-system-web\nlink=system-7-link\n" +
		"fragment runtime.json {\"name\": \"web\"}\nfragment operator-club.json {}\n"
	hashes := "0a1b  /r/web/fragments/runtime.json\n2c3d  /r/web/fragments/operator-club.json\n" +
		"0a1b  /nix/store/abc-nixos-system-web/etc/fediversity/fragments/runtime.json\n" +
		"2c3d  /nix/store/abc-nixos-system-web/etc/fediversity/fragments/operator-club.json\n"
	read := func(out, hashes string) RuntimeFacts {
		f, err := parseRuntimeFacts(out)
		if err != nil {
			t.Fatal(err)
		}
		takeHashes(hashes, map[string]*RuntimeFacts{"/r/web/fragments": &f})
		return f
	}
	f := read(out, hashes)
	if f.System != "/nix/store/abc-nixos-system-web" || f.Generation != 7 || !f.InSync() {
		t.Fatalf("parsed %+v", f)
	}
	if f.OnDisk["operator-club.json"] != "2c3d" || string(f.Deployed["runtime.json"]) != `{"name": "web"}` {
		t.Fatalf("fragments %+v %q", f.OnDisk, f.Deployed)
	}
	if _, err := parseRuntimeFacts("deployed x.json !!!\n"); err == nil {
		t.Fatal("bad base64 accepted")
	}
	if f := read("system=\nlink=\n", ""); f.InSync() {
		t.Fatal("a runtime with no system is not in sync")
	}
	if f := read(out, strings.Replace(hashes, "2c3d  /r/", "9f9f  /r/", 1)); f.InSync() {
		t.Fatal("a fragment changed on disk leaves the runtime out of sync")
	}
	if f := read(out, hashes+"4e5f  /r/web/fragments/application-club-mastodon.json\n"); f.InSync() {
		t.Fatal("a fragment added on disk leaves the runtime out of sync")
	}
	container := "container=op1\naddress=127.0.0.250\nstatus=%s\nsystem=/nix/store/abc-nixos-system-web\n"
	f = read(fmt.Sprintf(container, "up"), hashes)
	if f.Container != "op1" || f.Address != "127.0.0.250" || !f.ContainerUp || !f.InSync() {
		t.Fatalf("container runtime parsed %+v", f)
	}
	if f := read(fmt.Sprintf(container, "down"), hashes); f.InSync() {
		t.Fatal("a stopped container is not in sync")
	}
}

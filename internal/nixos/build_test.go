package nixos_test

import (
	"context"
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/modules"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// testEntry builds a minimal system from fragments with the provider's own
// fragments.nix, so the digest the runner compares is the real one.
const testEntry = `{ fragments }:
let
  desired = (import ./MODULES/fragments.nix { dir = fragments; }).config;
  digest = desired.digest;
in derivation {
  name = "nixos-system-test";
  system = builtins.currentSystem;
  builder = "/bin/sh";
  PATH = "/usr/bin:/bin";
  inherit digest;
  state = builtins.toJSON desired; # parses every fragment
  args = [ "-c" "mkdir -p $out/bin $out/etc/fediversity && printf %s \"$digest\" >$out/etc/fediversity/fragments.sha256 && printf '#!/bin/sh\\nexit 0\\n' >$out/bin/switch-to-configuration && chmod 755 $out/bin/switch-to-configuration" ];
}
`

type buildHost struct {
	*host
	build nixos.Build
}

func newBuildHost(t *testing.T) *buildHost {
	h := newHost(t)
	c, err := h.pool.Client(context.Background(), h.ep)
	if err != nil {
		t.Fatal(err)
	}
	root := "/etc/fediversity/test-" + path.Base(path.Dir(h.profile.Path))
	dir, err := modules.Install(context.Background(), c, root+"/modules")
	if err != nil {
		t.Fatal(err)
	}
	entry := root + "/entry.nix"
	h.run(`mkdir -p "$3/fragments" && printf '%s' "$1" | sed "s|MODULES|modules/$2|" >"$4"`, testEntry, path.Base(dir), root, entry)
	b := &buildHost{host: h, build: nixos.Build{Entry: entry, Fragments: root + "/fragments", OutLink: root + "/result"}}
	b.fragment("runtime.json", `{"name":"rt","kind":"host","hostName":"h"}`)
	return b
}

func (b *buildHost) fragment(name, content string) {
	b.run(`printf '%s' "$2" >"$1"`, path.Join(b.build.Fragments, name), content)
}

func (b *buildHost) deploy() (nixos.Result, error) {
	return nixos.Activate(context.Background(), b.connect, nixos.Switch{Profile: b.profile, Build: &b.build})
}

func (b *buildHost) counted(what string) int {
	out := b.run(`grep -c "^$1 $2" /var/log/fediversity/activations.log || true`, what, b.profile.Path)
	n, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		b.t.Fatalf("counting %ss: %q", what, out)
	}
	return n
}

// A build happens when the fragments change, and only then: a request whose
// fragments the running system already includes builds and switches nothing.
func TestBuildOnlyWhenFragmentsChange(t *testing.T) {
	b := newBuildHost(t)
	first, err := b.deploy()
	if err != nil || !first.Changed {
		t.Fatalf("first deploy: %+v, %v", first, err)
	}
	again, err := b.deploy()
	if err != nil || again.Changed || again.System != first.System {
		t.Fatalf("unchanged deploy: %+v, %v", again, err)
	}
	if builds, switches := b.counted("build"), b.counted("switch"); builds != 1 || switches != 1 {
		t.Fatalf("a no-op deploy built or switched: %d builds, %d switches", builds, switches)
	}
	b.fragment("operator-a.json", `{"name":"a","domain":"a.example","contactEmail":"x@a.example"}`)
	changed, err := b.deploy()
	if err != nil || !changed.Changed || changed.System == first.System {
		t.Fatalf("deploy after a change: %+v, %v", changed, err)
	}
	if builds := b.counted("build"); builds != 2 {
		t.Fatalf("%d builds, want 2", builds)
	}
}

// RELIABILITY 8: a build that fails reports the end of the Nix log and
// leaves the running system as it was.
func TestBuildFailureLeavesSystemUntouched(t *testing.T) {
	b := newBuildHost(t)
	good, err := b.deploy()
	if err != nil {
		t.Fatal(err)
	}
	b.fragment("operator-broken.json", `{"name": "broken", "domain": `)
	_, err = b.deploy()
	var failed *nixos.ActivationError
	if !errors.As(err, &failed) || failed.Stage != nixos.StageBuild {
		t.Fatalf("want a build failure, got %v", err)
	}
	if !strings.Contains(err.Error(), "untouched") || !strings.Contains(failed.Log, "error") {
		t.Errorf("the error should carry the Nix log and say nothing changed: %v", err)
	}
	if cur := b.current(); cur.System != good.System {
		t.Fatalf("the running system changed to %s", cur.System)
	}
	if switches := b.counted("switch"); switches != 1 {
		t.Fatalf("%d switches, want only the first", switches)
	}
}

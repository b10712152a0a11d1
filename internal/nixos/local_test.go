package nixos_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// copyEntry builds a "system" that references a base path; the base
// depends on the nonce fragment only, so that a changed text fragment makes
// a new system on the same base.
const copyEntry = `{ fragments }:
let
  build = name: script: env: derivation ({
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    PATH = "/usr/bin:/bin";
    args = [ "-c" script ];
  } // env);
  base = build "copy-test-base" "echo \"$nonce\" >$out" { nonce = builtins.readFile "${fragments}/nonce"; };
in build "copy-test-system" "echo \"$base\" \"$text\" >$out" { inherit base; text = builtins.readFile "${fragments}/text"; }
`

// localBuild is a Build on this machine from fragments in a temporary
// directory.
type localBuild struct {
	t     *testing.T
	build nixos.Build
}

func newLocalBuild(t *testing.T, entry string) *localBuild {
	t.Helper()
	if _, err := exec.LookPath("nix-build"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("nix-build is not installed (Debian package nix-bin)")
		}
		t.Skip("nix-build is not installed (Debian package nix-bin)")
	}
	// The builders are the machine's /bin/sh, as on sandbox hosts, and
	// the machine may be offline. build-users-group is BuildLocally's own
	// business.
	t.Setenv("NIX_CONFIG", "sandbox = false\nsubstituters =\n")
	dir := t.TempDir()
	b := &localBuild{t: t, build: nixos.Build{
		Entry: filepath.Join(dir, "entry.nix"), Fragments: filepath.Join(dir, "fragments"), OutLink: filepath.Join(dir, "result"),
	}}
	b.write(b.build.Entry, entry)
	b.write(filepath.Join(b.build.Fragments, "nonce"), strconv.FormatInt(time.Now().UnixNano(), 10))
	return b
}

func (b *localBuild) write(file, content string) {
	b.t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *localBuild) system(text string) string {
	b.t.Helper()
	b.write(filepath.Join(b.build.Fragments, "text"), text)
	system, err := nixos.BuildLocally(context.Background(), b.build)
	if err != nil {
		b.t.Fatal(err)
	}
	if link, _ := os.Readlink(b.build.OutLink); link != system {
		b.t.Fatalf("out link points to %q, want %s", link, system)
	}
	return system
}

// A local build reports why it failed with the end of Nix's output.
func TestBuildLocallyReportsEvaluationFailure(t *testing.T) {
	b := newLocalBuild(t, `{ fragments }: throw "the entry is broken on purpose"`)
	_, err := nixos.BuildLocally(context.Background(), b.build)
	var failed *nixos.LocalBuildError
	if !errors.As(err, &failed) || !strings.Contains(failed.Log, "the entry is broken on purpose") {
		t.Fatalf("want a build failure carrying Nix's message, got %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, b.build.Entry) || !strings.Contains(msg, "on this machine") {
		t.Errorf("the message does not say what failed where: %s", msg)
	}
}

// A system built here reaches the host's own store with only the paths the
// host lacks, rooted there against garbage collection.
func TestCopyClosureSendsOnlyWhatTheHostLacks(t *testing.T) {
	h := newHost(t)
	b := newLocalBuild(t, copyEntry)
	c, err := h.pool.Client(context.Background(), h.ep)
	if err != nil {
		t.Fatal(err)
	}
	root := "/etc/fediversity/test-copy-" + filepath.Base(filepath.Dir(b.build.Entry)) + "/system"
	copyTo := func(system string, want nixos.CopyStats) {
		t.Helper()
		got, err := nixos.CopyClosure(context.Background(), c, system, root)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("copied %s: %+v", system, got)
		if got.Closure != want.Closure || got.Missing != want.Missing || (got.Bytes == 0) != (want.Missing == 0) {
			t.Fatalf("copied %+v, want closure %d with %d missing", got, want.Closure, want.Missing)
		}
		if link := strings.TrimSpace(h.run(`nix-store --check-validity "$2" && readlink "$1"`, root, system)); link != system {
			t.Fatalf("GC root %s points to %q, want %s", root, link, system)
		}
	}

	first := b.system("one")
	base := strings.Fields(h.localRefs(first))[0]
	copyTo(first, nixos.CopyStats{Closure: 2, Missing: 2})
	// Only the root keeps these alive: nothing else on the host refers to them.
	for _, p := range []string{first, base} {
		if h.deletable(p) {
			t.Fatalf("%s is not protected by the GC root on the host", p)
		}
	}
	copyTo(first, nixos.CopyStats{Closure: 2})
	second := b.system("two")
	copyTo(second, nixos.CopyStats{Closure: 2, Missing: 1})
	if h.deletable(base) || !h.deletable(first) {
		t.Fatal("the moved root should keep the base and release the first system")
	}
}

// deletable deletes a path from the host's store if nothing keeps it alive.
func (h *host) deletable(path string) bool {
	out := h.run(`nix-store --delete "$1" 2>&1 || true`, path)
	if !strings.Contains(out, "deleted") && !strings.Contains(out, "still alive") {
		h.t.Fatalf("deleting %s: %s", path, out)
	}
	return !strings.Contains(out, "still alive")
}

// localRefs lists the references of a path in this machine's store.
func (h *host) localRefs(path string) string {
	h.t.Helper()
	out, err := exec.Command("nix-store", "--query", "--references", path).Output()
	if err != nil {
		h.t.Fatal(err)
	}
	return string(out)
}

package probe

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	goversion "github.com/hashicorp/go-version"
)

const sandboxOutput = `kernel=Linux
machine=x86_64
nix=nix-store (Nix) 2.8.0
cpus=2
mem_kib=24000000
nix_free_kib=83886080
profile_link=system-12-link
system_path=/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-host1
os=sandbox
`

func TestParse(t *testing.T) {
	got, err := Parse(sandboxOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		NixVersion:        "2.8.0",
		System:            "x86_64-linux",
		CPUCount:          2,
		MemoryBytes:       24000000 * 1024,
		DiskFreeBytes:     83886080 * 1024,
		CurrentGeneration: 12,
		CurrentSystem:     "/nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-host1",
		OS:                "sandbox",
	}
	if got != want {
		t.Fatalf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

func TestParseWithoutNixOrGeneration(t *testing.T) {
	got, err := Parse("kernel=Linux\nmachine=aarch64\ncpus=4\nmem_kib=1\nnix_free_kib=1\nos=other\n")
	if err != nil {
		t.Fatal(err)
	}
	if got.NixVersion != "" || got.CurrentGeneration != 0 || got.CurrentSystem != "" || got.System != "aarch64-linux" {
		t.Fatalf("unexpected facts %+v", got)
	}
}

func TestParseRejectsGarbage(t *testing.T) {
	for _, out := range []string{"", "cpus=two\nmem_kib=1\nnix_free_kib=1", "cpus=1\nmem_kib=-5\nnix_free_kib=1"} {
		if _, err := Parse(out); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", out)
		}
	}
}

func TestNixVersionOfLix(t *testing.T) {
	if v := nixVersion("nix-store (Lix, like Nix) 2.91.1"); v != "2.91.1" {
		t.Fatalf("got %q", v)
	}
}

func TestNotReadyReasons(t *testing.T) {
	ready, _ := Parse(sandboxOutput)
	minimum := goversion.Must(goversion.NewVersion("2.8"))
	if r := NotReadyReasons(ready, minimum); len(r) != 0 {
		t.Fatalf("a sandbox host with Nix 2.8.0 should be ready, got %v", r)
	}
	cases := map[string]struct {
		change func(*Facts)
		want   string
	}{
		"no nix":       {func(f *Facts) { f.NixVersion = "" }, "Nix is not installed"},
		"old nix":      {func(f *Facts) { f.NixVersion = "2.3.16" }, "Nix 2.3.16 is older than the minimum 2.8.0"},
		"garbage nix":  {func(f *Facts) { f.NixVersion = "banana" }, "unreadable version"},
		"not linux":    {func(f *Facts) { f.System = "x86_64-darwin" }, "not Linux"},
		"not nixos":    {func(f *Facts) { f.OS = "other" }, "not a NixOS machine"},
		"disk is full": {func(f *Facts) { f.DiskFreeBytes = 10 << 20 }, "only 10 MiB free under /nix"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			f := ready
			c.change(&f)
			reasons := NotReadyReasons(f, minimum)
			if len(reasons) != 1 || !strings.Contains(reasons[0], c.want) {
				t.Fatalf("reasons %q, want one containing %q", reasons, c.want)
			}
		})
	}
}

// localRunner runs the probe on this machine, which proves the script is
// valid sh and that its output parses.
type localRunner struct{ argv []string }

func (l *localRunner) Output(ctx context.Context, args ...string) ([]byte, error) {
	l.argv = args
	return exec.CommandContext(ctx, args[0], args[1:]...).Output()
}

func TestRunLocally(t *testing.T) {
	r := &localRunner{}
	f, err := Run(context.Background(), r)
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("probe script failed: %s", exitErr.Stderr)
		}
		t.Fatal(err)
	}
	if f.CPUCount < 1 || f.MemoryBytes < 1 || f.DiskFreeBytes < 1 || !strings.HasSuffix(f.System, "-linux") {
		t.Fatalf("implausible facts of this machine: %+v", f)
	}
	if !reflect.DeepEqual(r.argv[:2], []string{"sh", "-c"}) || len(r.argv) != 3 {
		t.Fatalf("probe must be a single sh -c invocation, got %q", r.argv)
	}
}

package nixos

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

func TestReferencesFirst(t *testing.T) {
	const (
		top  = "/nix/store/aaaa-system"
		etc  = "/nix/store/bbbb-etc"
		app  = "/nix/store/cccc-app"
		libc = "/nix/store/zzzz-glibc"
	)
	refs := map[string][]string{
		top:  {etc, app, top, "/nix/store/yyyy-on-the-host-already"},
		etc:  {app},
		app:  {libc, app},
		libc: {libc},
	}
	want := []string{libc, app, etc, top}
	for _, paths := range [][]string{{top, etc, app, libc}, {libc, app, etc, top}, {app, top, libc, etc}} {
		got, err := referencesFirst(paths, refs)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("from %v: got %v, %v; want %v", paths, got, err, want)
		}
	}
	if got, err := referencesFirst([]string{top}, refs); err != nil || !slices.Equal(got, []string{top}) {
		t.Fatalf("references outside the set must be ignored: %v %v", got, err)
	}
}

func TestReferencesFirstRefusesCycles(t *testing.T) {
	refs := map[string][]string{"/nix/store/a-x": {"/nix/store/b-y"}, "/nix/store/b-y": {"/nix/store/a-x"}}
	if got, err := referencesFirst([]string{"/nix/store/a-x", "/nix/store/b-y"}, refs); err == nil {
		t.Fatalf("a cycle was ordered: %v", got)
	}
}

// dumpDB is what `nix-store --dump-db` of Nix 2.8 prints for two paths.
const dumpDB = `/nix/store/1wany68sgjnb44b2zr42rsrsbmyxwxi3-lt-b
a47ea86482d7f92734a2eb456607be450fd1da5b0f431184312de876872884cc
168
/nix/store/j0n4g9gs9y31rzfkbhmghm1cfzhh36p1-lt-b.drv
1
/nix/store/jd38crm3dzhapl514a0qhn8navj9jxih-lt-a
/nix/store/jd38crm3dzhapl514a0qhn8navj9jxih-lt-a
10551daed7fa467d0b58826e7eb9a0f2af7d693de319f2ef775fffcda244b9f6
120

0
`

func TestParseReferences(t *testing.T) {
	refs, err := parseReferences(dumpDB)
	if err != nil {
		t.Fatal(err)
	}
	b, a := "/nix/store/1wany68sgjnb44b2zr42rsrsbmyxwxi3-lt-b", "/nix/store/jd38crm3dzhapl514a0qhn8navj9jxih-lt-a"
	if len(refs) != 2 || !slices.Equal(refs[b], []string{a}) || len(refs[a]) != 0 {
		t.Fatalf("parsed %v", refs)
	}
	if refs, err := parseReferences(""); err != nil || len(refs) != 0 {
		t.Fatalf("empty: %v %v", refs, err)
	}
	for _, bad := range []string{dumpDB[:strings.Index(dumpDB, "lt-b.drv")], strings.Replace(dumpDB, "\n1\n", "\n7\n", 1), strings.Replace(dumpDB, "\n1\n", "\nx\n", 1)} {
		if _, err := parseReferences(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestSetting(t *testing.T) {
	config := "build-poll-interval = 5\nbuild-users-group = nixbld\nbuilders = \n"
	if got := setting(config, "build-users-group"); got != "nixbld" {
		t.Fatalf("got %q", got)
	}
	if got := setting(config, "builders"); got != "" {
		t.Fatalf("got %q", got)
	}
}

func TestTailWriterKeepsLastLines(t *testing.T) {
	var w tailWriter
	for i := range 5000 {
		_, _ = io.WriteString(&w, strings.Repeat("x", i%7)+"\n")
	}
	_, _ = io.WriteString(&w, "error: the end\n")
	if len(w.buf) > 2*tailKeep {
		t.Fatalf("kept %d bytes", len(w.buf))
	}
	if got := w.lastLines(2); got != "x\nerror: the end" { // line 4999 has 4999 % 7 = 1 x
		t.Fatalf("got %q", got)
	}
	short := tailWriter{buf: []byte("one\ntwo")}
	if got := short.lastLines(40); got != "one\ntwo" {
		t.Fatalf("got %q", got)
	}
}

// fakeHost runs remote commands in the test.
type fakeHost func(ctx context.Context, cmd remote.Cmd) error

func (f fakeHost) Run(ctx context.Context, cmd remote.Cmd) error { return f(ctx, cmd) }

func TestStreamCountsWhatItSends(t *testing.T) {
	var got bytes.Buffer
	host := fakeHost(func(_ context.Context, cmd remote.Cmd) error {
		_, err := io.Copy(&got, cmd.Stdin)
		return err
	})
	n, err := stream(context.Background(), host, exec.Command("printf", "nar-bytes"), remote.Cmd{})
	if err != nil || n != 9 || got.String() != "nar-bytes" {
		t.Fatalf("sent %d bytes (%q), %v", n, got.String(), err)
	}
}

// A failed export fails the host's import too, and the error blames this
// machine.
func TestStreamExportFailureFailsTheImport(t *testing.T) {
	var hostSaw error
	host := fakeHost(func(_ context.Context, cmd remote.Cmd) error {
		_, hostSaw = io.Copy(io.Discard, cmd.Stdin)
		return hostSaw
	})
	export := exec.Command("sh", "-c", "printf half-a-nar; echo 'error: path is not valid' >&2; exit 3")
	_, err := stream(context.Background(), host, export, remote.Cmd{})
	if err == nil || err.OnHost || err.Step != "exporting" || !strings.Contains(err.Error(), "path is not valid") {
		t.Fatalf("want an export failure on this machine, got %v", err)
	}
	if hostSaw == nil {
		t.Fatal("the host read a clean end of stream from a failed export")
	}
}

// A host that fails without reading everything stops the export, and the
// error blames the host.
func TestStreamHostFailureStopsTheExport(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host := fakeHost(func(context.Context, remote.Cmd) error {
		return &remote.CommandError{ExitStatus: 1, Stderr: "error: disk full"}
	})
	_, err := stream(ctx, host, exec.CommandContext(ctx, "yes"), remote.Cmd{})
	if err == nil || !err.OnHost || err.Step != "importing" || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("want an import failure on the host, got %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the export went on after the host stopped reading")
	}
	rootFailed := fakeHost(func(context.Context, remote.Cmd) error {
		return &remote.CommandError{ExitStatus: 90}
	})
	if _, err := stream(ctx, rootFailed, nil, remote.Cmd{}); err == nil || err.Step != "registering the GC root" {
		t.Fatalf("want a GC root failure, got %v", err)
	}
}

func TestCopyErrorUnwraps(t *testing.T) {
	cause := &remote.ConnectionLostError{HostPort: "h:22"}
	err := error(&CopyError{Path: "/nix/store/x", OnHost: true, Step: "importing", Err: cause})
	if !remote.IsTransient(err) || !errors.Is(err, cause) || !strings.Contains(err.Error(), "failed on the host while importing") {
		t.Fatalf("%v", err)
	}
}

func TestLocalFailureSaysWhyItWasKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	// sleep outlives the killed sh and holds its stderr open.
	_, err := localOutput(ctx, "sh", "-c", "echo starting >&2; sleep 5")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "starting") {
		t.Fatalf("want the deadline and the output in %v", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("waited %s for a child holding the output", waited)
	}
}

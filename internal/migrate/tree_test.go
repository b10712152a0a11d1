package migrate_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/migrate"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// side is a sandbox host as one end of a migration, with the host's own
// system as its runtime.
type side struct {
	t      *testing.T
	addr   string // host:port, as errors name it
	client *remote.Client
	ep     migrate.Endpoint
}

// pair returns the fleet's two hosts, the source first.
func pair(t *testing.T) (src, dst *side) {
	f := acctest.Fleet(t)
	pool := acctest.HostPool(t, f, remote.Config{})
	return newSide(t, pool, f.Hosts[0]), newSide(t, pool, f.Hosts[1])
}

func newSide(t *testing.T, pool *remote.Pool, h sandbox.Host) *side {
	ep := acctest.Endpoint(t, h, h.Address, h.Port)
	c, err := pool.Client(t.Context(), ep)
	if err != nil {
		t.Fatal(err)
	}
	return &side{t: t, addr: ep.HostPort(), client: c, ep: migrate.Endpoint{Host: c, Root: "/"}}
}

// run runs a script on the host with args as its positional parameters.
func (s *side) run(script string, args ...string) string {
	s.t.Helper()
	out, err := s.client.Output(s.t.Context(), append([]string{"sh", "-c", "set -eu\n" + script, "sh"}, args...)...)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(out)
}

// scratch is an empty dir of the test's own on the host, removed after it.
func (s *side) scratch() string {
	s.t.Helper()
	dir := "/var/lib/migrate-test/" + strings.NewReplacer("/", "-", " ", "-").Replace(s.t.Name())
	s.run(`rm -rf "$1"; mkdir -p "$1"`, dir)
	s.t.Cleanup(func() { _ = s.client.Run(s.t.Context(), remote.Cmd{Args: []string{"rm", "-rf", dir}}) })
	return dir
}

func (s *side) manifest(dir string) migrate.Manifest {
	s.t.Helper()
	m, err := migrate.TreeManifest(s.t.Context(), s.ep, dir)
	if err != nil {
		s.t.Fatal(err)
	}
	return m
}

// Awkward names, as the tree's files have them; latin1 is no UTF-8.
const (
	spaced  = "with space é 🐘.txt"
	newline = "line\nbreak"
	latin1  = "caf\xe9"
)

// makeTree fills dir with what a tree copy must keep: an empty file, a
// random one of bigBytes, awkward names, symlinks (one dangling), an empty
// dir, a nested dir, and a file of nobody's with mode 0600.
func makeTree(s *side, dir string, bigBytes int) {
	s.run(`dir=$1
mkdir -p "$dir" && cd "$dir" && chmod 0750 .
: >empty
head -c "$2" /dev/urandom >big
printf 'spaces\n' >"$3"
printf 'newline\n' >"$4"
printf 'latin1\n' >"$5"
mkdir -p nested/deeper && printf 'deep\n' >nested/deeper/file
touch -d '2001-02-03 04:05:06' nested/deeper/file
ln -s nested/deeper/file link
ln -s /nonexistent dangling
mkdir -m 0700 empty-dir
printf 'secret\n' >secret && chown nobody:nogroup secret && chmod 0600 secret
`, dir, strconv.Itoa(bigBytes), spaced, newline, latin1)
}

func copyTree(t *testing.T, src *side, from string, dst *side, to string) migrate.CopyStats {
	t.Helper()
	stats, err := migrate.CopyTree(t.Context(), src.ep, from, dst.ep, to)
	if err != nil {
		t.Fatal(err)
	}
	return stats
}

// copiedTree is makeTree's tree on the first host copied to the second,
// with its manifest.
func copiedTree(t *testing.T, bigBytes int) (src, dst *side, from, to string, want migrate.Manifest) {
	t.Helper()
	src, dst = pair(t)
	from, to = src.scratch()+"/tree", dst.scratch()+"/tree"
	makeTree(src, from, bigBytes)
	copyTree(t, src, from, dst, to)
	return src, dst, from, to, src.manifest(from)
}

// aloneBeside checks that nothing lies beside dir: no staging dir, no
// replaced copy.
func (s *side) aloneBeside(dir string) {
	s.t.Helper()
	if left := s.run(`ls -A "$(dirname "$1")"`, dir); left != path.Base(dir)+"\n" {
		s.t.Errorf("beside %s: %q, want nothing", dir, left)
	}
}

func entries(m migrate.Manifest) map[migrate.Name]migrate.Entry {
	byPath := map[migrate.Name]migrate.Entry{}
	for _, e := range m.Entries {
		byPath[e.Path] = e
	}
	return byPath
}

func TestCopyTreeKeepsEverything(t *testing.T) {
	src, dst := pair(t)
	from, to := src.scratch()+"/tree", dst.scratch()+"/new/parent/tree"
	makeTree(src, from, 64<<20+1)

	stats := copyTree(t, src, from, dst, to)
	if stats.Bytes < 64<<20 {
		t.Errorf("the copy sent %d bytes, want more than the big file", stats.Bytes)
	}
	want, got := src.manifest(from), dst.manifest(to)
	if diffs := migrate.Compare(want, got); len(diffs) > 0 {
		t.Errorf("the copy differs from the source: %v", diffs)
	}
	checkManifest(t, want)
	// Owners, modes, mtimes and the link as the host sees them, apart from
	// the manifest.
	const stat = `cd "$1" && stat -c '%U:%G %a %Y %s' . secret big empty-dir nested/deeper/file && readlink link dangling`
	if a, b := src.run(stat, from), dst.run(stat, to); a != b {
		t.Errorf("attributes differ: source\n%s\ntarget\n%s", a, b)
	}
	dst.aloneBeside(to)
	// The manifest goes through the journal as JSON, awkward names and all.
	encoded, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var decoded migrate.Manifest
	if err := json.Unmarshal(encoded, &decoded); err != nil {
		t.Fatal(err)
	}
	if diffs := migrate.Compare(want, decoded); len(diffs) > 0 {
		t.Errorf("the manifest changed through JSON: %v", diffs)
	}
}

// checkManifest checks that a manifest of makeTree's tree has what the
// tree has, so that equal manifests mean something.
func checkManifest(t *testing.T, m migrate.Manifest) {
	t.Helper()
	byPath := entries(m)
	checks := []struct {
		path migrate.Name
		ok   func(migrate.Entry) bool
	}{
		{".", func(e migrate.Entry) bool { return e.Type == "dir" && e.Mode == "0750" }},
		{"empty", func(e migrate.Entry) bool {
			return e.Type == "file" && e.Size == 0 && e.SHA256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		}},
		{"big", func(e migrate.Entry) bool { return e.Size == 64<<20+1 && len(e.SHA256) == 64 }},
		{spaced, func(e migrate.Entry) bool { return e.Size == 7 }},
		{newline, func(e migrate.Entry) bool { return e.Size == 8 }},
		{latin1, func(e migrate.Entry) bool { return e.Size == 7 }},
		{"nested/deeper/file", func(e migrate.Entry) bool { return e.Size == 5 && e.MTime != 0 }},
		{"link", func(e migrate.Entry) bool { return e.Type == "symlink" && e.Target == "nested/deeper/file" }},
		{"dangling", func(e migrate.Entry) bool { return e.Type == "symlink" && e.Target == "/nonexistent" }},
		{"empty-dir", func(e migrate.Entry) bool { return e.Type == "dir" && e.Mode == "0700" }},
		{"secret", func(e migrate.Entry) bool { return e.Owner == "nobody" && e.Group == "nogroup" && e.Mode == "0600" }},
	}
	for _, c := range checks {
		if e, ok := byPath[c.path]; !ok || !c.ok(e) {
			t.Errorf("manifest entry %q: %+v", c.path, e)
		}
	}
	if tot := m.Totals(); tot.Files != 7 || tot.Dirs != 4 || tot.Symlinks != 2 || tot.Bytes != 64<<20+1+34 {
		t.Errorf("totals %+v", tot)
	}
}

func TestCopyTreeAgainOverAPartialCopyEndsIdentical(t *testing.T) {
	src, dst, from, to, want := copiedTree(t, 1<<20)

	// What an earlier, interrupted run may leave: a changed target and a
	// half-filled staging dir.
	dst.run(`cd "$1" && echo stale >extra && mkdir stale-dir && truncate -s 3 big && rm -r nested && ln -sfn elsewhere link
mkdir -p ../.tree.fediversity-incoming && echo junk >../.tree.fediversity-incoming/junk`, to)
	diffs := migrate.Compare(want, dst.manifest(to))
	var seen []string
	for _, d := range diffs {
		seen = append(seen, d.String())
	}
	for _, wanted := range []string{`"big" differs: size 3, want 1048576`, `"extra" is not in the manifest`, `"link" differs: target "elsewhere", want "nested/deeper/file"`, `"nested" is missing`, `"nested/deeper/file" is missing`, `"stale-dir" is not in the manifest`} {
		if !strings.Contains(strings.Join(seen, "\n"), wanted) {
			t.Errorf("Compare did not report %s; it reported:\n%s", wanted, strings.Join(seen, "\n"))
		}
	}

	copyTree(t, src, from, dst, to)
	if diffs := migrate.Compare(want, dst.manifest(to)); len(diffs) > 0 {
		t.Errorf("the second copy differs from the source: %v", diffs)
	}
	dst.aloneBeside(to)
}

func TestVerifyTreeReportsACorruptedByte(t *testing.T) {
	_, dst, _, to, want := copiedTree(t, 1<<20)
	dst.run(`printf X | dd of="$1/nested/deeper/file" bs=1 seek=2 conv=notrunc 2>/dev/null`, to)

	_, err := migrate.VerifyTree(t.Context(), dst.ep, to, want)
	var mismatch *migrate.MismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("want a mismatch, got %v", err)
	}
	if len(mismatch.Differences) != 1 || mismatch.Differences[0].Path != "nested/deeper/file" {
		t.Fatalf("want the corrupted file alone, got %v", mismatch.Differences)
	}
	var what []string
	for _, c := range mismatch.Differences[0].Changes {
		what = append(what, c.What)
	}
	if !strings.Contains(strings.Join(what, " "), "sha256") || strings.Contains(strings.Join(what, " "), "size") {
		t.Errorf("want a changed hash of the same size, got %v", mismatch.Differences[0])
	}
	if !strings.Contains(err.Error(), `"nested/deeper/file" differs: sha256`) {
		t.Errorf("the error does not name the file: %v", err)
	}
}

func TestCopyTreeFromAMissingDir(t *testing.T) {
	src, dst := pair(t)
	from, parent := src.scratch()+"/never-written", dst.scratch()
	to := parent + "/tree"

	_, err := migrate.CopyTree(t.Context(), src.ep, from, dst.ep, to)
	var copyErr *migrate.CopyError
	var noDir *migrate.NoDirError
	if !errors.As(err, &copyErr) || copyErr.Side != migrate.Source || !errors.As(err, &noDir) {
		t.Fatalf("want a missing source dir, got %v", err)
	}
	t.Log(err)
	if msg := err.Error(); !strings.Contains(msg, "the source failed") || !strings.Contains(msg, src.addr) || !strings.Contains(msg, from) {
		t.Errorf("the error does not name the side, host and dir: %v", err)
	}
	if left := dst.run(`ls -A "$1"`, parent); left != "" {
		t.Errorf("the failed copy left %q on the target", left)
	}

	stats, err := migrate.CopyOptionalTree(t.Context(), src.ep, from, dst.ep, to)
	if err != nil || !stats.SourceMissing {
		t.Errorf("an optional missing dir: %+v, %v", stats, err)
	}
	if left := dst.run(`ls -A "$1"`, parent); left != "" {
		t.Errorf("copying no dir left %q on the target", left)
	}
	if _, err := migrate.TreeManifest(t.Context(), src.ep, from); !errors.As(err, &noDir) {
		t.Errorf("manifest of a missing dir: want a *NoDirError, got %v", err)
	}
}

func TestCopyTreeOntoAFile(t *testing.T) {
	src, dst := pair(t)
	from, to := src.scratch()+"/tree", dst.scratch()+"/tree"
	makeTree(src, from, 16<<20) // more than an SSH window: the source must be killed
	dst.run(`echo keep >"$1"`, to)

	_, err := migrate.CopyTree(t.Context(), src.ep, from, dst.ep, to)
	var copyErr *migrate.CopyError
	if !errors.As(err, &copyErr) || copyErr.Side != migrate.Target {
		t.Fatalf("want the target to fail, got %v", err)
	}
	t.Log(err)
	if msg := err.Error(); !strings.Contains(msg, "the target failed") || !strings.Contains(msg, dst.addr) || !strings.Contains(msg, "exists and is not a directory") {
		t.Errorf("the error does not say what failed where: %v", err)
	}
	if kept := dst.run(`cat "$1"; ls -A "$(dirname "$1")"`, to); kept != "keep\ntree\n" {
		t.Errorf("the target's file and dir: %q", kept)
	}
}

// stopsReading is a target that reads part of the archive and fails, as a
// full disk or a lost connection would.
type stopsReading struct{ after int64 }

var errOnFire = errors.New("the target's disk is on fire")

func (s stopsReading) Run(_ context.Context, cmd remote.Cmd) error {
	if cmd.Stdin != nil {
		_, _ = io.CopyN(io.Discard, cmd.Stdin, s.after)
	}
	return errOnFire
}

func TestCopyTreeKillsTheSourceWhenTheTargetFails(t *testing.T) {
	src, _ := pair(t)
	from := src.scratch() + "/tree"
	makeTree(src, from, 32<<20)

	_, err := migrate.CopyTree(t.Context(), src.ep, from, migrate.Endpoint{Host: stopsReading{after: 1 << 20}, Root: "/"}, "/var/lib/tree")
	var copyErr *migrate.CopyError
	if !errors.As(err, &copyErr) || copyErr.Side != migrate.Target || !errors.Is(err, errOnFire) {
		t.Fatalf("want the target's error, got %v", err)
	}
	if left := src.run(`pgrep -f -- "tar -C $1" || true`, from); left != "" {
		t.Errorf("the source's tar still runs: %s", left)
	}
}

// failsMidway is a source that sends the start of an archive and fails.
type failsMidway struct{}

var errSourceLost = errors.New("the source's connection went down")

func (failsMidway) Run(_ context.Context, cmd remote.Cmd) error {
	w := tar.NewWriter(cmd.Stdout)
	_ = w.WriteHeader(&tar.Header{Name: "./half", Mode: 0o644, Size: 1 << 20, Typeflag: tar.TypeReg})
	_, _ = w.Write(make([]byte, 1<<19))
	return errSourceLost
}

func TestCopyTreeKeepsTheTargetWhenTheSourceFails(t *testing.T) {
	_, dst := pair(t)
	to := dst.scratch() + "/tree"
	dst.run(`mkdir "$1" && echo old >"$1/file"`, to)
	before := dst.manifest(to)

	_, err := migrate.CopyTree(t.Context(), migrate.Endpoint{Host: failsMidway{}, Root: "/"}, "/var/lib/tree", dst.ep, to)
	var copyErr *migrate.CopyError
	if !errors.As(err, &copyErr) || copyErr.Side != migrate.Source || !errors.Is(err, errSourceLost) {
		t.Fatalf("want the source's error, got %v", err)
	}
	if diffs := migrate.Compare(before, dst.manifest(to)); len(diffs) > 0 {
		t.Errorf("a failed copy changed the target: %v", diffs)
	}
	dst.aloneBeside(to)
}

// TestCopyTreeMapsOwnersByTheContainersNames copies between two containers
// whose user "app" has different uids, neither known to the hosts.
func TestCopyTreeMapsOwnersByTheContainersNames(t *testing.T) {
	src, dst := pair(t)
	const users = `root=$1 uid=$2
mkdir -p "$root/etc"
printf 'root:x:0:0::/root:/bin/sh\napp:x:%s:%s::/:/bin/sh\n' "$uid" "$uid" >"$root/etc/passwd"
printf 'root:x:0:\napp:x:%s:\n' "$uid" >"$root/etc/group"
`
	c1, c2 := src.scratch()+"/c1", dst.scratch()+"/c2"
	src.run(users+`mkdir -p "$root/var/lib/app/sub" && echo data >"$root/var/lib/app/sub/data" && chown -R "$uid:$uid" "$root/var/lib/app"`, c1, "4242")
	dst.run(users, c2, "4343")
	from := migrate.Endpoint{Host: src.client, Root: c1, Container: "c1"}
	to := migrate.Endpoint{Host: dst.client, Root: c2, Container: "c2"}

	if _, err := migrate.CopyTree(t.Context(), from, "/var/lib/app", to, "/var/lib/app"); err != nil {
		t.Fatal(err)
	}
	if owners := dst.run(`cd "$1/var/lib/app" && stat -c '%u:%g' . sub sub/data`, c2); owners != "4343:4343\n4343:4343\n4343:4343\n" {
		t.Errorf("owners on the target host: %q, want the target container's app", owners)
	}
	want, err := migrate.TreeManifest(t.Context(), from, "/var/lib/app")
	if err != nil {
		t.Fatal(err)
	}
	got, err := migrate.VerifyTree(t.Context(), to, "/var/lib/app", want)
	if err != nil {
		t.Fatal(err)
	}
	if e := entries(got)["sub/data"]; e.Owner != "app" || e.Group != "app" {
		t.Errorf("manifest owner %s:%s, want app:app", e.Owner, e.Group)
	}
	if n := dst.run(`grep -c '^app:' /etc/passwd || true`); n != "0\n" {
		t.Errorf("the host's /etc/passwd has the container's user: the bind mount leaked")
	}
}

// memoryWatch samples this process's memory while a copy runs: the heap
// live after each GC (what the copy holds on to, garbage aside), the heap's
// objects including garbage, and all memory taken from the OS.
type memoryWatch struct {
	base, peak [3]uint64
	stop, done chan struct{}
}

var memoryMetrics = []string{"/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes", "/memory/classes/total:bytes"}

func watchMemory() *memoryWatch {
	w := &memoryWatch{stop: make(chan struct{}), done: make(chan struct{})}
	samples := make([]metrics.Sample, len(memoryMetrics))
	for i, name := range memoryMetrics {
		samples[i].Name = name
	}
	read := func() (v [3]uint64) {
		metrics.Read(samples)
		for i, s := range samples {
			v[i] = s.Value.Uint64()
		}
		return v
	}
	runtime.GC()
	w.base = read()
	go func() {
		defer close(w.done)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, v := range read() {
				w.peak[i] = max(w.peak[i], v)
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// memoryGrowth is how far each figure rose above where it was, in bytes.
type memoryGrowth struct{ live, objects, total int64 }

func (g memoryGrowth) String() string {
	return fmt.Sprintf("live heap +%.1f MiB, heap objects with garbage +%.1f MiB, memory from the OS +%.1f MiB",
		float64(g.live)/(1<<20), float64(g.objects)/(1<<20), float64(g.total)/(1<<20))
}

func (w *memoryWatch) growth() memoryGrowth {
	close(w.stop)
	<-w.done
	rise := func(i int) int64 { return int64(w.peak[i]) - int64(w.base[i]) }
	return memoryGrowth{rise(0), rise(1), rise(2)}
}

func TestCopyTreeMemoryStaysFlat(t *testing.T) {
	src, dst := pair(t)
	from, to := src.scratch()+"/tree", dst.scratch()+"/tree"
	src.run(`mkdir -p "$1" && head -c 1048576 /dev/urandom >"$1/small"`, from)
	copyTree(t, src, from, dst, to) // sessions and buffers warm
	src.run(`head -c 268435456 /dev/urandom >"$1/big"`, from)

	w := watchMemory()
	stats := copyTree(t, src, from, dst, to)
	g := w.growth()
	t.Logf("copied %d MiB: %v", stats.Bytes>>20, g)
	// About 5 MiB live and 10 with garbage on an idle machine, whatever
	// the size: SSH windows and packets. The bounds leave room for a loaded
	// one, where a GC's marking takes longer and counts what is allocated
	// meanwhile as live; a copy that held even a tenth of the data would
	// still exceed them.
	if g.live > 16<<20 || g.total > 16<<20 || g.objects > 24<<20 {
		t.Errorf("memory grew with the data: %v; want the live heap and memory from the OS under 16 MiB, the heap's objects under 24 MiB", g)
	}
}

// TestBenchmarkCopyTree is the CopyTree half of scripts/bench-migrate.sh:
// it copies the tree FEDIVERSITY_BENCH_MIGRATE names on the fleet's first
// host to the second and prints figures; it asserts nothing.
func TestBenchmarkCopyTree(t *testing.T) {
	from := os.Getenv("FEDIVERSITY_BENCH_MIGRATE")
	if from == "" {
		t.Skip("benchmark: run scripts/bench-migrate.sh")
	}
	src, dst := pair(t)
	to := from + "-copy"
	dst.run(`rm -rf "$1"`, to)
	// Peak RSS counts from here: 5 resets VmHWM.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Fatal(err)
	}
	w := watchMemory()
	began := time.Now()
	stats := copyTree(t, src, from, dst, to)
	took := time.Since(began)
	g := w.growth()
	t.Logf("bench-migrate copytree bytes=%d seconds=%.3f mib_per_s=%.1f peak_rss_kib=%s live_heap_growth_kib=%d heap_objects_growth_kib=%d os_memory_growth_kib=%d",
		stats.Bytes, took.Seconds(), float64(stats.Bytes)/(1<<20)/took.Seconds(), peakRSS(t), g.live>>10, g.objects>>10, g.total>>10)

	began = time.Now()
	want := src.manifest(from)
	if _, err := migrate.VerifyTree(t.Context(), dst.ep, to, want); err != nil {
		t.Fatal(err)
	}
	tot := want.Totals()
	t.Logf("bench-migrate verify files=%d bytes=%d seconds=%.3f", tot.Files, tot.Bytes, time.Since(began).Seconds())
}

// peakRSS is this process's VmHWM, as /proc/self/status gives it.
func peakRSS(t *testing.T) string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if value, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.Fields(value)[0]
		}
	}
	return "?"
}

package nixos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Streamer runs one command on a host with its streams; *remote.Client is
// one.
type Streamer interface {
	Run(ctx context.Context, cmd remote.Cmd) error
}

// BuildLocally builds a runtime's system on this machine: b's paths are
// local ones, and b.Nixpkgs empty uses this machine's NIX_PATH. It returns
// the system's store path, rooted by b.OutLink.
func BuildLocally(ctx context.Context, b Build) (toplevel string, err error) {
	if b.Entry == "" || b.OutLink == "" {
		return "", errors.New("a local build needs an entry and an out link")
	}
	args := []string{b.Entry, "--argstr", "fragments", b.Fragments, "-o", b.OutLink}
	if b.Nixpkgs != "" {
		args = append(args, "-I", "nixpkgs="+b.Nixpkgs)
	}
	args = append(args, buildUsersOverride(ctx)...)
	tflog.Info(ctx, "building the system on this machine", map[string]any{"entry": b.Entry, "fragments": b.Fragments})
	var out bytes.Buffer
	log := &tailWriter{}
	cmd := localCommand(ctx, "nix-build", args...)
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Run(); err != nil {
		return "", &LocalBuildError{Entry: b.Entry, Err: interrupted(ctx, err), Log: log.lastLines(logTailLines)}
	}
	paths := strings.Fields(out.String())
	if len(paths) != 1 {
		return "", &LocalBuildError{Entry: b.Entry, Err: fmt.Errorf("want one system, nix-build printed %q", out.String())}
	}
	return paths[0], nil
}

// LocalBuildError reports a build on this machine that failed.
type LocalBuildError struct {
	Entry string
	Err   error  // how nix-build ended
	Log   string // last lines of its output
}

func (e *LocalBuildError) Error() string {
	msg := fmt.Sprintf("building %s on this machine failed: %v", e.Entry, e.Err)
	if e.Log != "" {
		msg += "\nlast lines of the build:\n" + e.Log
	}
	return msg
}

func (e *LocalBuildError) Unwrap() error { return e.Err }

// buildUsersOverride lets root build when the configured build-users-group
// does not exist: Debian's nix-bin without a daemon has no nixbld group,
// and Nix refuses to build at all then. A machine with the group, and any
// user whose builds go through a daemon, build as configured.
func buildUsersOverride(ctx context.Context) []string {
	if os.Geteuid() != 0 {
		return nil
	}
	out, err := localCommand(ctx, "nix", "--extra-experimental-features", "nix-command", "show-config").Output()
	if err != nil {
		return nil // nix-build says what is wrong, if anything
	}
	group := setting(string(out), "build-users-group")
	if group == "" {
		return nil
	}
	_, err = user.LookupGroup(group)
	var unknown user.UnknownGroupError
	if !errors.As(err, &unknown) {
		return nil
	}
	return []string{"--option", "build-users-group", ""}
}

// setting reads a value from `nix show-config` output.
func setting(config, name string) string {
	for _, line := range strings.Split(config, "\n") {
		if k, v, ok := strings.Cut(line, " = "); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// CopyStats says what a copy moved.
type CopyStats struct {
	Closure int   // store paths path needs, itself included
	Missing int   // of those, the ones the host lacked and was sent
	Bytes   int64 // size of the export stream sent
}

// CopyError reports a failed copy and which side failed.
type CopyError struct {
	Path   string
	OnHost bool   // the host failed; else this machine
	Step   string // what was being done
	Err    error
}

func (e *CopyError) Error() string {
	side := "this machine"
	if e.OnHost {
		side = "the host"
	}
	return fmt.Sprintf("copying %s to the host failed on %s while %s: %v", e.Path, side, e.Step, e.Err)
}

func (e *CopyError) Unwrap() error { return e.Err }

// CopyClosure makes path and everything it references valid on the host,
// streaming only what the host lacks as one `nix-store --export` into
// `nix-store --import` over the SSH connection, and registers gcRoot (a
// path on the host) as a GC root of path, so that a collection between the
// copy and the switch cannot remove it. The transfer may take as long as
// ctx allows, or copyTimeout when ctx has no deadline.
func CopyClosure(ctx context.Context, r Streamer, path, gcRoot string) (CopyStats, error) {
	fail := func(onHost bool, step string, err error) (CopyStats, error) {
		return CopyStats{}, &CopyError{Path: path, OnHost: onHost, Step: step, Err: err}
	}
	out, err := localOutput(ctx, "nix-store", "--query", "--requisites", path)
	if err != nil {
		return fail(false, "listing the closure", err)
	}
	closure := strings.Fields(out)
	missing, err := invalidOnHost(ctx, r, closure)
	if err != nil {
		return fail(true, "checking which paths the host lacks", err)
	}
	stats := CopyStats{Closure: len(closure), Missing: len(missing)}
	var export *exec.Cmd
	if len(missing) > 0 {
		ordered, err := exportOrder(ctx, missing)
		if err != nil {
			return fail(false, "ordering the missing paths", err)
		}
		// Not localCommand: the end of the stream drains at the host's pace,
		// after the export exited, and WaitDelay would cut it short.
		export = exec.CommandContext(ctx, "nix-store", append([]string{"--export"}, ordered...)...)
	}
	receive := remote.Cmd{Args: []string{"sh", "-c", receiveScript, "sh", gcRoot, path, strconv.Itoa(len(missing))}, Timeout: transferTimeout(ctx)}
	sent, failed := stream(ctx, r, export, receive)
	if failed != nil {
		failed.Path = path
		return CopyStats{}, failed
	}
	stats.Bytes = sent
	tflog.Info(ctx, "copied a closure to the host", map[string]any{"path": path, "closure": stats.Closure, "missing": stats.Missing, "bytes": stats.Bytes})
	return stats, nil
}

// invalidOnHost returns the paths the host's store lacks, asked in one
// command; the paths go on stdin so that no closure is too long for argv.
func invalidOnHost(ctx context.Context, r Streamer, paths []string) ([]string, error) {
	var out bytes.Buffer
	err := r.Run(ctx, remote.Cmd{
		Args:   []string{"sh", "-c", invalidScript, "sh"},
		Stdin:  strings.NewReader(strings.Join(paths, "\n") + "\n"),
		Stdout: &out,
	})
	return strings.Fields(out.String()), err
}

// invalidScript prints those of the store paths on stdin, one a line, that
// are not valid in the host's store; xargs keeps argv within limits.
const invalidScript = `exec xargs nix-store --check-validity --print-invalid`

// receiveScript imports the export stream on stdin when it holds paths
// ($3 > 0), then registers $1 as an indirect GC root of $2 (a symlink that
// gcroots/auto records, as nix-build -o makes). A failure to register
// exits with rootFailedStatus. Arguments: gc_root path count.
const receiveScript = `
set -eu
root=$1 path=$2 count=$3
if [ "$count" -gt 0 ]; then nix-store --import >/dev/null; fi
mkdir -p "$(dirname "$root")" && nix-store --realise "$path" --add-root "$root" >/dev/null || exit ` + rootFailedStatus + `
`

const rootFailedStatus = "90"

// copyTimeout bounds a transfer when ctx has no deadline: a whole system
// over a slow link takes long.
const copyTimeout = 4 * time.Hour

func transferTimeout(ctx context.Context) time.Duration {
	return remote.TimeoutUntilDeadline(ctx, copyTimeout)
}

// exportOrder sorts paths so that every one comes after its references,
// as an import needs them; the references come from this machine's store.
func exportOrder(ctx context.Context, paths []string) ([]string, error) {
	out, err := localOutput(ctx, "nix-store", append([]string{"--dump-db"}, paths...)...)
	if err != nil {
		return nil, err
	}
	refs, err := parseReferences(out)
	if err != nil {
		return nil, err
	}
	return referencesFirst(paths, refs)
}

// parseReferences reads the references of each path from `nix-store
// --dump-db` output: per path, lines of the path, its hash, its size, its
// deriver, the number of references and then the references.
func parseReferences(out string) (map[string][]string, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	refs := map[string][]string{}
	for i := 0; i < len(lines) && lines[i] != ""; {
		if i+5 > len(lines) {
			return nil, fmt.Errorf("store registration of %s cut short", lines[i])
		}
		n, err := strconv.Atoi(lines[i+4])
		if err != nil || n < 0 || i+5+n > len(lines) {
			return nil, fmt.Errorf("store registration of %s: bad reference count %q", lines[i], lines[i+4])
		}
		refs[lines[i]] = lines[i+5 : i+5+n]
		i += 5 + n
	}
	return refs, nil
}

// referencesFirst orders paths so that each comes after those of its
// references that are among them (a path's reference to itself aside).
// The order depends only on the paths and references, not on their order.
func referencesFirst(paths []string, refs map[string][]string) ([]string, error) {
	const visiting, done = 1, 2
	state := make(map[string]int, len(paths))
	for _, p := range paths {
		state[p] = 0
	}
	ordered := make([]string, 0, len(paths))
	var visit func(p string) error
	visit = func(p string) error {
		switch state[p] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("store paths reference each other in a cycle through %s", p)
		}
		state[p] = visiting
		for _, ref := range slices.Sorted(slices.Values(refs[p])) {
			if _, among := state[ref]; among && ref != p {
				if err := visit(ref); err != nil {
					return err
				}
			}
		}
		state[p] = done
		ordered = append(ordered, p)
		return nil
	}
	for _, p := range slices.Sorted(slices.Values(paths)) {
		if err := visit(p); err != nil {
			return nil, err
		}
	}
	return ordered, nil
}

// stream runs receive on the host with export's output as its stdin,
// through a pipe, and returns how many bytes went through; a nil export
// sends nothing. An export that fails closes the pipe with its error, so
// the host's import fails too; the error says which side failed first.
func stream(ctx context.Context, r Streamer, export *exec.Cmd, receive remote.Cmd) (int64, *CopyError) {
	if export == nil {
		return 0, receiveError(r.Run(ctx, receive))
	}
	pr, pw := io.Pipe()
	sent := &remote.CountingWriter{W: pw}
	log := &tailWriter{}
	export.Stdout, export.Stderr = sent, log
	var hostDone atomic.Bool // set before the host's end of the pipe closes
	exported := make(chan *CopyError, 1)
	go func() {
		var failed *CopyError
		// Once the host stopped reading, the export fails for want of a
		// reader: the host's error says why.
		if err := export.Run(); err != nil && !hostDone.Load() {
			failed = &CopyError{Step: "exporting", Err: localFailure(ctx, export, err, log)}
			pw.CloseWithError(failed)
		} else {
			pw.Close()
		}
		exported <- failed
	}()
	receive.Stdin = pr
	hostErr := r.Run(ctx, receive)
	hostDone.Store(true)
	pr.CloseWithError(errors.New("the host stopped reading"))
	if failed := <-exported; failed != nil {
		return sent.N(), failed
	}
	return sent.N(), receiveError(hostErr)
}

// receiveError tells a failed import from a failed GC root registration.
func receiveError(err error) *CopyError {
	if err == nil {
		return nil
	}
	var cmdErr *remote.CommandError
	if errors.As(err, &cmdErr) && strconv.Itoa(cmdErr.ExitStatus) == rootFailedStatus {
		return &CopyError{OnHost: true, Step: "registering the GC root", Err: err}
	}
	return &CopyError{OnHost: true, Step: "importing", Err: err}
}

// localCommand is a command on this machine that ctx kills; a child left
// holding its output open (a builder) does not keep Wait from returning.
func localCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = time.Second
	return cmd
}

// localOutput runs a command on this machine and returns its output; a
// failure carries the last lines of its standard error.
func localOutput(ctx context.Context, name string, args ...string) (string, error) {
	var out bytes.Buffer
	log := &tailWriter{}
	cmd := localCommand(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, log
	if err := cmd.Run(); err != nil {
		return "", localFailure(ctx, cmd, err, log)
	}
	return out.String(), nil
}

func localFailure(ctx context.Context, cmd *exec.Cmd, err error, log *tailWriter) error {
	command := strings.Join(cmd.Args[:min(len(cmd.Args), 2)], " ")
	err = interrupted(ctx, err)
	if tail := log.lastLines(logTailLines); tail != "" {
		return fmt.Errorf("%s: %w\nlast lines of its output:\n%s", command, err, tail)
	}
	return fmt.Errorf("%s: %w", command, err)
}

// interrupted adds why ctx ended to the error of a command it killed, which
// exec reports as a mere "signal: killed".
func interrupted(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return fmt.Errorf("%w (%w)", err, cause)
	}
	return err
}

// logTailLines is how much of a failed command's output an error carries,
// as much as of a failed activation's.
const logTailLines = 40

// tailWriter keeps about the last 16 KiB written to it.
type tailWriter struct{ buf []byte }

const tailKeep = 16 << 10

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailKeep {
		t.buf = slices.Clone(t.buf[len(t.buf)-tailKeep:])
	}
	return len(p), nil
}

// lastLines returns up to n final lines, as valid UTF-8.
func (t *tailWriter) lastLines(n int) string {
	text := strings.ToValidUTF8(strings.TrimRight(string(t.buf), "\n"), "\uFFFD")
	start := len(text)
	for ; n > 0 && start >= 0; n-- {
		start = strings.LastIndexByte(text[:start], '\n')
	}
	return text[start+1:]
}

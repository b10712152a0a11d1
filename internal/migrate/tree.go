package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// CopyStats says what a tree copy moved.
type CopyStats struct {
	Bytes int64 // size of the tar stream that went through this process
	// SourceMissing: CopyOptionalTree found no source dir and copied nothing.
	SourceMissing bool
}

// Side is one end of a copy.
type Side string

const (
	Source Side = "source"
	Target Side = "target"
)

// CopyError reports a failed tree copy and which side failed; a failed
// remote command carries the tail of its standard error.
type CopyError struct {
	From, To string // the dirs in their runtimes
	Side     Side
	Step     string // what that side was doing
	Err      error
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("copying %s to %s: the %s failed while %s: %v", e.From, e.To, e.Side, e.Step, e.Err)
}

func (e *CopyError) Unwrap() error { return e.Err }

// NoDirError reports that a tree's directory does not exist.
type NoDirError struct {
	Host     string // host:port, as the remote command's error names it
	Dir      string // in the runtime
	HostPath string // where Dir lies on the host
}

func (e *NoDirError) Error() string {
	msg := fmt.Sprintf("no directory %s on %s", e.Dir, e.Host)
	if e.HostPath != e.Dir {
		msg += " (at " + e.HostPath + ")"
	}
	return msg
}

// CopyTree copies the tree at srcDir in src's runtime to dstDir in dst's,
// with modes, mtimes and owners by user and group name (the runtime's
// names: uids differ between machines). The files go straight from one
// host's tar to the other's through a pipe in this process, in constant
// memory; nothing is staged on this machine or in a container.
//
// The copy lands in a staging dir beside dstDir, emptied first, and only a
// complete one replaces dstDir. So a copy cut short never passes for a
// whole one, a resumed migration copies again from scratch and ends
// identical to the source (tar over an existing tree would keep files the
// source no longer has, which the manifests would then report), and a
// non-directory at dstDir is refused rather than replaced. The price: no
// delta on a resume, and room for two copies while an old dstDir is
// replaced.
//
// The source must be at rest: tar fails on a file that changes while it
// is read. Sockets are left out; extended attributes and ACLs are not
// copied.
func CopyTree(ctx context.Context, src Endpoint, srcDir string, dst Endpoint, dstDir string) (CopyStats, error) {
	return copyTree(ctx, tree{src, srcDir}, tree{dst, dstDir}, false)
}

// CopyOptionalTree is CopyTree for a dir the source may lack (an
// application that never wrote uploads): then it copies nothing, leaves
// dstDir as it is and says so in the stats.
func CopyOptionalTree(ctx context.Context, src Endpoint, srcDir string, dst Endpoint, dstDir string) (CopyStats, error) {
	return copyTree(ctx, tree{src, srcDir}, tree{dst, dstDir}, true)
}

// tree is a dir in a runtime.
type tree struct {
	e   Endpoint
	dir string
}

func (t tree) hostPath() string { return t.e.HostPath(t.dir) }

func copyTree(ctx context.Context, src, dst tree, optional bool) (CopyStats, error) {
	fail := func(side Side, step string, err error) (CopyStats, error) {
		return CopyStats{}, &CopyError{From: src.dir, To: dst.dir, Side: side, Step: step, Err: err}
	}
	if err := checkDir(src.dir); err != nil {
		return fail(Source, "checking its dir", err)
	}
	if err := checkDir(dst.dir); err != nil {
		return fail(Target, "checking its dir", err)
	}
	started := time.Now()
	final := dst.hostPath()
	staging, replaced := besideDir(final, "incoming"), besideDir(final, "replaced")
	archive := src.command(archiveScript, src.hostPath())
	extract := dst.command(extractScript, staging, final)
	sent, srcErr, dstErr := stream(ctx, src.e.Host, archive, dst.e.Host, extract)
	if srcErr != nil || dstErr != nil {
		discard(ctx, dst, staging)
	}
	switch missing := noDir(srcErr, src); {
	case missing != nil && optional:
		return CopyStats{SourceMissing: true}, nil
	case missing != nil:
		return fail(Source, "archiving", missing)
	case srcErr != nil:
		return fail(Source, "archiving", srcErr)
	case dstErr != nil:
		return fail(Target, "extracting", dstErr)
	}
	if err := dst.e.Host.Run(ctx, remote.Cmd{Args: hostScript(commitScript, staging, final, replaced), Timeout: streamTimeout(ctx)}); err != nil {
		return fail(Target, "putting the copy in place", err)
	}
	tflog.Info(ctx, "copied a tree", map[string]any{"from": src.dir, "to": dst.dir, "bytes": sent, "duration": time.Since(started).String()})
	return CopyStats{Bytes: sent}, nil
}

// checkDir refuses what cannot be a tree of a runtime: / itself has no
// dir beside it to stage in.
func checkDir(dir string) error {
	if !path.IsAbs(dir) || path.Clean(dir) != dir || dir == "/" {
		return fmt.Errorf("%q is not an absolute, clean path below /", dir)
	}
	return nil
}

// besideDir names a dir of the copy's own next to dir, on the same file
// system so that a rename moves it into place.
func besideDir(dir, role string) string {
	return path.Join(path.Dir(dir), "."+path.Base(dir)+".fediversity-"+role)
}

// errTargetFailed is why the source is killed when the target fails.
var errTargetFailed = errors.New("the target stopped reading")

// stream runs archive on one host into extract on the other through a pipe
// in this process, and says how many bytes went through. A source that
// fails closes the pipe, so the target sees the archive end early; a
// target that fails has the source killed, since it would otherwise block
// on a full SSH window, and the source's error, a mere consequence, is
// dropped.
func stream(ctx context.Context, src Runner, archive []string, dst Runner, extract []string) (sent int64, srcErr, dstErr error) {
	pr, pw := io.Pipe()
	counted := &remote.CountingWriter{W: pw}
	srcCtx, killSource := context.WithCancelCause(ctx)
	defer killSource(nil)
	archived := make(chan error, 1)
	go func() {
		err := src.Run(srcCtx, remote.Cmd{Args: archive, Stdout: counted, Timeout: streamTimeout(ctx)})
		pw.CloseWithError(err) // nil: a plain end of the archive
		archived <- err
	}()
	dstErr = dst.Run(ctx, remote.Cmd{Args: extract, Stdin: pr, Timeout: streamTimeout(ctx)})
	if dstErr != nil {
		killSource(errTargetFailed)
		pr.CloseWithError(errTargetFailed)
	} else {
		_, _ = io.Copy(io.Discard, pr) // tar's padding after the end of the archive
	}
	if srcErr = <-archived; errors.Is(srcErr, errTargetFailed) {
		srcErr = nil
	}
	return counted.N(), srcErr, dstErr
}

// discard removes a staging dir a failed copy left, if the target still
// answers; the next copy would remove it anyway.
func discard(ctx context.Context, dst tree, staging string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_ = dst.e.Host.Run(ctx, remote.Cmd{Args: []string{"rm", "-rf", "--", staging}})
}

// noDir turns the exit of a script that found no dir into a *NoDirError.
func noDir(err error, t tree) error {
	var cmdErr *remote.CommandError
	if errors.As(err, &cmdErr) && strconv.Itoa(cmdErr.ExitStatus) == noDirStatus {
		return &NoDirError{Host: cmdErr.HostPort, Dir: t.dir, HostPath: t.hostPath()}
	}
	return nil
}

// noDirStatus is how the scripts say that the tree's dir does not exist.
const noDirStatus = "3"

// archiveScript writes the tree at $1 to stdout as a tar archive.
const archiveScript = `[ -d "$1" ] || { printf '%s: no such directory\n' "$1" >&2; exit ` + noDirStatus + `; }
exec tar -C "$1" -cf - .
`

// extractScript extracts the archive on stdin into $1, emptied first, the
// staging dir of $2. Until tar gives it the source dir's mode at the end,
// the staging dir is root's alone, and so are the dirs tar makes inside
// (umask): a dir meant to be private is never open on the way. tar as
// root keeps owners (by name) and modes anyway; the flags say so for the
// reader.
const extractScript = `set -eu
if [ -L "$2" ] || { [ -e "$2" ] && [ ! -d "$2" ]; }; then
  printf '%s exists and is not a directory: not replacing it\n' "$2" >&2; exit 1
fi
rm -rf -- "$1"
mkdir -p -- "$1"
chmod 0700 -- "$1"
umask 077
exec tar -C "$1" --same-owner --same-permissions -xf -
`

// commitScript puts the complete copy $1 in place of $2, moving an
// existing $2 to $3 first and removing it last. Arguments: staging final
// replaced.
const commitScript = `set -eu
rm -rf -- "$3"
if [ -e "$2" ]; then mv -T -- "$2" "$3"; fi
mv -T -- "$1" "$2"
rm -rf -- "$3"
`

// command runs script with args on t's host so that owners are the
// runtime's users and groups. The host's own system uses the host's. A
// container shares the host's uids but not its names: its script runs in a
// private mount namespace where the container's /etc/passwd and /etc/group
// stand in for the host's, and nscd, which would answer for the host, is
// out of reach.
func (t tree) command(script string, args ...string) []string {
	if t.e.Root == "" || path.Clean(t.e.Root) == "/" {
		return hostScript(script, args...)
	}
	return append([]string{"unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", runtimeUsersScript + script, "sh", t.e.Root}, args...)
}

func hostScript(script string, args ...string) []string {
	return append([]string{"sh", "-c", script, "sh"}, args...)
}

// runtimeUsersScript binds the user database of the runtime at $1 over the
// host's, then shifts $1 away for the script that follows it. mount -n: a
// private mount has no business in the host's /run/mount/utab.
const runtimeUsersScript = `set -eu
for db in passwd group; do
  [ -f "$1/etc/$db" ] && [ ! -L "$1/etc/$db" ] || { printf 'the runtime at %s has no /etc/%s to map owners by name\n' "$1" "$db" >&2; exit 1; }
  mount -n --bind "$1/etc/$db" "/etc/$db"
done
if [ -d /run/nscd ]; then mount -n -t tmpfs none /run/nscd; fi
shift
`

// streamTimeout bounds a command that moves or reads a whole tree when ctx
// has no deadline: state of years takes long.
func streamTimeout(ctx context.Context) time.Duration {
	return remote.TimeoutUntilDeadline(ctx, 8*time.Hour)
}

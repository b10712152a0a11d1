package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// File is a file to write on the host.
type File struct {
	Path  string // absolute; its directory must exist
	Owner string // user name; empty: the SSH user (no chown)
	Group string // group name; empty: the owner's default
	Mode  fs.FileMode
	// Content is streamed over the session's stdin, never argv. Readers with a
	// Len method (bytes.Reader, bytes.Buffer, strings.Reader) are streamed as
	// they are; others are read into memory first to learn the length.
	Content io.Reader
}

// defaultUploadMode applies when File.Mode has no permission bits: a zero
// FileMode is far more likely unset than meant, and 0600 never leaks.
const defaultUploadMode fs.FileMode = 0o600

// uploadScript writes $1 atomically. Owner and mode are set on the empty
// temporary file before a byte of content is written, so the content is
// never readable by anyone it is not meant for; a transfer cut short (the
// connection dropped, stdin ended early) is caught by the byte count and
// never renamed into place. Arguments: path owner group mode size.
const uploadScript = `set -eu
path=$1 owner=$2 group=$3 mode=$4 size=$5
fail() { printf '%s\n' "$*" >&2; exit 1; }
if [ -n "$owner" ] && ! id -u "$owner" >/dev/null 2>&1; then fail "unknown owner $owner"; fi
if [ -n "$group" ] && ! getent group "$group" >/dev/null 2>&1; then fail "unknown group $group"; fi
[ ! -d "$path" ] || fail "$path is a directory"
dir=$(dirname "$path")
[ -d "$dir" ] || fail "directory $dir does not exist"
tmp=
trap '[ -z "$tmp" ] || rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE
umask 077
tmp=$(mktemp "$dir/.upload.XXXXXXXXXX")
if [ -n "$owner" ]; then chown "$owner${group:+:$group}" "$tmp"
elif [ -n "$group" ]; then chgrp "$group" "$tmp"; fi
exec 3>"$tmp"
chmod "$mode" "$tmp"
cat >&3
exec 3>&-
written=$(wc -c <"$tmp")
[ "$((written))" -eq "$size" ] || fail "received $((written)) of $size bytes: the transfer was cut short"
sync "$tmp" 2>/dev/null || :
mv -f "$tmp" "$path"
tmp=
sync "$dir" 2>/dev/null || :
`

// Upload writes f on the host with one remote command: the owner and group
// must exist (an unknown owner is an error, never a fallback to root), the
// file gets its owner and mode before its first byte, and it replaces any
// previous file atomically by rename.
func (c *Client) Upload(ctx context.Context, f File) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("uploading to %s: %w", c.hostPort, err)
	}
	content, size, err := sizedContent(f.Content)
	if err != nil {
		return fmt.Errorf("uploading %s to %s: reading content: %w", f.Path, c.hostPort, err)
	}
	mode := fmt.Sprintf("%04o", f.perm())
	start := time.Now()
	err = c.Run(ctx, Cmd{
		Args:  []string{"sh", "-c", uploadScript, "sh", f.Path, f.Owner, f.Group, mode, strconv.FormatInt(size, 10)},
		Stdin: content,
	})
	var cmdErr *CommandError
	if errors.As(err, &cmdErr) {
		cmdErr.Command = fmt.Sprintf("upload %s (owner %q, group %q, mode %s)", f.Path, f.Owner, f.Group, mode)
	}
	if err != nil {
		return fmt.Errorf("uploading %s to %s: %w", f.Path, c.hostPort, err)
	}
	tflog.Debug(ctx, "SSH upload done", map[string]any{"host": c.hostPort, "path": f.Path, "owner": f.Owner,
		"group": f.Group, "mode": mode, "bytes": size, "duration": time.Since(start).String()})
	return nil
}

func (f File) perm() fs.FileMode {
	if f.Mode.Perm() == 0 {
		return defaultUploadMode
	}
	return f.Mode.Perm()
}

// accountName is what the script passes to id, getent and chown: a name
// that cannot be mistaken for an option or an owner:group pair.
var accountName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$`)

func (f File) validate() error {
	switch {
	case !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path || f.Path == "/":
		return fmt.Errorf("file path %q must be absolute and clean (no trailing slash, no . or ..)", f.Path)
	case strings.IndexByte(f.Path, 0) >= 0:
		return errors.New("file path contains a NUL byte")
	case f.Owner != "" && !accountName.MatchString(f.Owner):
		return fmt.Errorf("owner %q is not a valid user name", f.Owner)
	case f.Group != "" && !accountName.MatchString(f.Group):
		return fmt.Errorf("group %q is not a valid group name", f.Group)
	}
	return nil
}

// sizedContent returns the content and its length, which the remote script
// checks to tell a complete transfer from one cut short.
func sizedContent(r io.Reader) (io.Reader, int64, error) {
	switch r := r.(type) {
	case nil:
		return strings.NewReader(""), 0, nil
	case interface{ Len() int }:
		return r.(io.Reader), int64(r.Len()), nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	return bytes.NewReader(data), int64(len(data)), nil
}

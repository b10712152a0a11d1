package remote

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// onlyReader hides any Len method, forcing Upload to learn the length itself.
type onlyReader struct{ io.Reader }

// assertOnlyFiles fails unless dir holds exactly the named files: no
// temporary file is left behind.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

func uploadAndRead(t *testing.T, c *Client, f File) []byte {
	t.Helper()
	if err := c.Upload(testContext(t), f); err != nil {
		t.Fatalf("Upload: %v", err)
	}
	got, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestUpload(t *testing.T) {
	t.Parallel()
	_, p, c := connectedClient(t, Config{})

	t.Run("content and mode", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "fragment.json")
		got := uploadAndRead(t, c, File{Path: path, Mode: 0o640, Content: strings.NewReader(`{"a":1}`)})
		if string(got) != `{"a":1}` {
			t.Errorf("content %q", got)
		}
		if mode := statMode(t, path); mode != 0o640 {
			t.Errorf("mode %o, want 640", mode)
		}
		assertOnlyFiles(t, dir, "fragment.json")
	})

	t.Run("zero mode means 0600", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "secret")
		uploadAndRead(t, c, File{Path: path, Content: strings.NewReader("s")})
		if mode := statMode(t, path); mode != 0o600 {
			t.Errorf("mode %o, want 600", mode)
		}
	})

	for _, tc := range []struct{ name, owner, group, want string }{
		{"unknown owner", "no-such-user-fdv", "", "unknown owner no-such-user-fdv"},
		{"unknown group", "", "no-such-group-fdv", "unknown group no-such-group-fdv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "secret")
			err := c.Upload(testContext(t), File{Path: path, Owner: tc.owner, Group: tc.group, Mode: 0o600, Content: strings.NewReader("s3cret")})
			var cmdErr *CommandError
			if !errors.As(err, &cmdErr) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want a *CommandError saying %q for %s", err, tc.want, path)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Error("the error leaks the content")
			}
			assertOnlyFiles(t, dir)
		})
	}

	t.Run("replaces an existing file by rename", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "secret")
		link := filepath.Join(dir, "old-link")
		writeFile(t, path, "old")
		if err := os.Link(path, link); err != nil {
			t.Fatal(err)
		}
		if got := uploadAndRead(t, c, File{Path: path, Mode: 0o600, Content: strings.NewReader("new")}); string(got) != "new" {
			t.Errorf("content %q, want new", got)
		}
		// Written in place, the old inode (and so the link) would read "new".
		if old, _ := os.ReadFile(link); string(old) != "old" {
			t.Errorf("the old inode now reads %q: the file was rewritten in place, not renamed", old)
		}
		assertOnlyFiles(t, dir, "old-link", "secret")
	})

	t.Run("binary content with NUL bytes", func(t *testing.T) {
		t.Parallel()
		content := make([]byte, 0, 512)
		for i := range 512 {
			content = append(content, byte(i))
		}
		path := filepath.Join(t.TempDir(), "blob")
		if got := uploadAndRead(t, c, File{Path: path, Mode: 0o600, Content: bytes.NewReader(content)}); !bytes.Equal(got, content) {
			t.Errorf("binary content changed in transit")
		}
	})

	t.Run("8 MiB from a reader without Len", func(t *testing.T) {
		t.Parallel()
		content := make([]byte, 8<<20)
		rand.Read(content)
		path := filepath.Join(t.TempDir(), "big")
		if got := uploadAndRead(t, c, File{Path: path, Mode: 0o600, Content: onlyReader{bytes.NewReader(content)}}); !bytes.Equal(got, content) {
			t.Errorf("8 MiB content changed in transit (got %d bytes)", len(got))
		}
	})

	t.Run("content cut short is never installed", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		path := filepath.Join(dir, "secret")
		err := c.Upload(testContext(t), File{Path: path, Mode: 0o600, Content: &lyingReader{Reader: strings.NewReader("half"), claimed: 8}})
		if err == nil || !strings.Contains(err.Error(), "cut short") {
			t.Fatalf("err = %v, want a truncated-transfer error", err)
		}
		assertOnlyFiles(t, dir)
	})

	t.Run("owner and group", func(t *testing.T) {
		t.Parallel()
		uid, gid := nobody(t)
		path := filepath.Join(t.TempDir(), "secret")
		uploadAndRead(t, c, File{Path: path, Owner: "nobody", Group: "nogroup", Mode: 0o440, Content: strings.NewReader("s")})
		st := statT(t, path)
		if st.Uid != uid || st.Gid != gid || st.Mode&0o777 != 0o440 {
			t.Errorf("uid %d gid %d mode %o; want %d %d 440", st.Uid, st.Gid, st.Mode&0o777, uid, gid)
		}
	})

	t.Run("owner and mode are set before the first byte", func(t *testing.T) {
		t.Parallel()
		uid, _ := nobody(t)
		dir := t.TempDir()
		path := filepath.Join(dir, "secret")
		seen := &tempFileObserver{dir: dir, wantMode: 0o640}
		content := &observingReader{Reader: strings.NewReader("s3cret"), beforeFirstRead: seen.waitForPreparedTempFile}
		uploadAndRead(t, c, File{Path: path, Owner: "nobody", Mode: 0o640, Content: content})
		if seen.err != nil {
			t.Fatal(seen.err)
		}
		if seen.stat.Uid != uid || seen.stat.Size != 0 {
			t.Errorf("before any content was sent the temp file had uid %d and %d bytes; want uid %d and 0 bytes",
				seen.stat.Uid, seen.stat.Size, uid)
		}
	})

	t.Run("bad input never reaches the host", func(t *testing.T) {
		t.Parallel()
		before := p.Stats().Commands
		for _, f := range []File{
			{Path: "relative/path"},
			{Path: "/a/../b"},
			{Path: "/a/"},
			{Path: "/tmp/x", Owner: "-o"},
			{Path: "/tmp/x", Owner: "root:root"},
			{Path: "/tmp/x", Group: "a b"},
		} {
			if err := c.Upload(testContext(t), f); err == nil {
				t.Errorf("Upload(%+v) accepted bad input", f)
			}
		}
		if p.Stats().Commands != before {
			t.Error("bad input reached the host")
		}
	})
}

// lyingReader claims more bytes than it has, as a stream cut short does.
type lyingReader struct {
	io.Reader
	claimed int
}

func (r *lyingReader) Len() int { return r.claimed }

// observingReader runs a hook before its first Read, while the remote script
// can only have prepared the empty temporary file.
type observingReader struct {
	io.Reader
	once            sync.Once
	beforeFirstRead func()
}

func (r *observingReader) Len() int { return r.Reader.(*strings.Reader).Len() }

func (r *observingReader) Read(p []byte) (int, error) {
	r.once.Do(r.beforeFirstRead)
	return r.Reader.Read(p)
}

// tempFileObserver waits for a temporary file in dir that already has the
// final mode, and records its state. It runs on the session's stdin
// goroutine, so it records errors instead of failing the test.
type tempFileObserver struct {
	dir      string
	wantMode fs.FileMode
	stat     syscall.Stat_t
	err      error
}

func (o *tempFileObserver) waitForPreparedTempFile() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(o.dir, ".upload.*"))
		for _, m := range matches {
			var st syscall.Stat_t
			if syscall.Stat(m, &st) == nil && fs.FileMode(st.Mode&0o777) == o.wantMode {
				o.stat = st
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	o.err = errors.New("no temporary file reached its final mode before the content was sent")
}

// nobody returns the ids of nobody:nogroup, skipping unless the test runs as
// root (only root may chown) and both exist.
func nobody(t *testing.T) (uid, gid uint32) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	g, err := user.LookupGroup("nogroup")
	if err != nil {
		t.Skip("no group nogroup")
	}
	return parseID(t, u.Uid), parseID(t, g.Gid)
}

func parseID(t *testing.T, s string) uint32 {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}

func statT(t *testing.T, path string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func statMode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/migrate"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// canned is a host that answers every command with the same output and
// error, and keeps the commands it was given.
type canned struct {
	out  string
	err  error
	cmds *[][]string
}

func (c canned) Run(_ context.Context, cmd remote.Cmd) error {
	if c.cmds != nil {
		*c.cmds = append(*c.cmds, cmd.Args)
	}
	if cmd.Stdout != nil {
		// In small writes, so that fields span them.
		for out := c.out; out != ""; out = out[min(len(out), 7):] {
			if _, err := io.WriteString(cmd.Stdout, out[:min(len(out), 7)]); err != nil {
				return err
			}
		}
	}
	return c.err
}

// listing is the manifest script's output: listing records, the end of the
// listing, then sha256sum -z lines.
func listing(records [][8]string, sums ...string) string {
	var b strings.Builder
	for _, r := range records {
		for _, f := range r {
			b.WriteString(f + "\x00")
		}
	}
	b.WriteString("\x00")
	for _, s := range sums {
		b.WriteString(s + "\x00")
	}
	return b.String()
}

const (
	sumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	sumB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

var awkwardListing = listing([][8]string{
	{"d", "", "4096", "750", "app", "app", "1700000000.5", ""},
	{"f", "z\nline", "3", "600", "nobody", "nogroup", "1700000001.0000000000", ""},
	{"l", "link", "6", "777", "root", "root", "1700000002.25", "z\nline"},
	{"f", "caf\xe9  x", "0", "4755", "1234", "root", "1700000003.0", ""},
	{"d", "empty", "4096", "1777", "root", "root", "1700000004.0", ""},
}, sumA+"  ./z\nline", sumB+"  ./caf\xe9  x")

func TestTreeManifestParsesAwkwardNames(t *testing.T) {
	m, err := migrate.TreeManifest(t.Context(), migrate.Endpoint{Host: canned{out: awkwardListing}, Root: "/"}, "/var/lib/app")
	if err != nil {
		t.Fatal(err)
	}
	want := []migrate.Entry{
		{Path: ".", Type: "dir", Mode: "0750", Owner: "app", Group: "app", MTime: 1700000000},
		{Path: "caf\xe9  x", Type: "file", SHA256: sumB, Mode: "4755", Owner: "1234", Group: "root", MTime: 1700000003},
		{Path: "empty", Type: "dir", Mode: "1777", Owner: "root", Group: "root", MTime: 1700000004},
		{Path: "link", Type: "symlink", Target: "z\nline", Mode: "0777", Owner: "root", Group: "root", MTime: 1700000002},
		{Path: "z\nline", Type: "file", Size: 3, SHA256: sumA, Mode: "0600", Owner: "nobody", Group: "nogroup", MTime: 1700000001},
	}
	if !reflect.DeepEqual(m.Entries, want) {
		t.Errorf("got  %+v\nwant %+v", m.Entries, want)
	}
	if tot := m.Totals(); tot != (migrate.Totals{Files: 2, Dirs: 2, Symlinks: 1, Bytes: 3}) {
		t.Errorf("totals %+v", tot)
	}
}

func TestTreeManifestRefusesBrokenOutput(t *testing.T) {
	file := [8]string{"f", "a", "1", "644", "root", "root", "1.0", ""}
	cases := map[string]struct {
		out, want string
	}{
		"cut short":           {strings.TrimSuffix(listing([][8]string{file}), "\x00"), "cut short"},
		"no end":              {"f\x00a\x00", "cut short"},
		"listed, not hashed":  {listing([][8]string{file}), `"a" was listed but not hashed`},
		"hashed, not listed":  {listing([][8]string{file}, sumA+"  ./a", sumB+"  ./b"), `"b" was hashed but not listed`},
		"unknown type":        {listing([][8]string{{"s", "sock", "0", "755", "root", "root", "1.0", ""}}), "unknown file type"},
		"bad mode":            {listing([][8]string{{"f", "a", "1", "9z", "root", "root", "1.0", ""}}, sumA+"  ./a"), `listing of "a"`},
		"unreadable checksum": {listing([][8]string{file}, "abc ./a"), "unreadable sha256sum output"},
	}
	for name, c := range cases {
		_, err := migrate.TreeManifest(t.Context(), migrate.Endpoint{Host: canned{out: c.out}, Root: "/"}, "/var/lib/app")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "manifest of /var/lib/app") {
			t.Errorf("%s: want an error about %q, got %v", name, c.want, err)
		}
	}
}

func TestTreeManifestOfAMissingDir(t *testing.T) {
	host := canned{err: &remote.CommandError{HostPort: "192.0.2.1:22", ExitStatus: 3}}
	_, err := migrate.TreeManifest(t.Context(), migrate.Endpoint{Host: host, Root: "/var/lib/nixos-containers/op01"}, "/var/lib/app")
	var noDir *migrate.NoDirError
	if !errors.As(err, &noDir) {
		t.Fatalf("want a *NoDirError, got %v", err)
	}
	if want := "no directory /var/lib/app on 192.0.2.1:22 (at /var/lib/nixos-containers/op01/var/lib/app)"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

// TestTreeCommandsTakeValuesAsArguments checks that no path is spliced into
// a script, for the host's own system and for a container.
func TestTreeCommandsTakeValuesAsArguments(t *testing.T) {
	for _, root := range []string{"/", "/var/lib/nixos-containers/op01"} {
		var cmds [][]string
		e := migrate.Endpoint{Host: canned{out: awkwardListing, cmds: &cmds}, Root: root}
		_, _ = migrate.TreeManifest(t.Context(), e, "/var/lib/it's")
		_, _ = migrate.CopyTree(t.Context(), e, "/var/lib/it's", e, "/var/lib/it's new")
		if len(cmds) < 4 {
			t.Fatalf("root %s: want a manifest, an archive, an extraction and a commit, got %q", root, cmds)
		}
		for _, args := range cmds {
			script := slices.Index(args, "-c") + 1
			if script == 0 {
				continue // a plain command, as rm -rf
			}
			if strings.Contains(args[script], "it's") || strings.Contains(args[script], root+"/") {
				t.Errorf("a value in the script: %q", args)
			}
			// What reads or writes owners runs with the runtime's users.
			names := strings.Contains(args[script], "tar ") || strings.Contains(args[script], "find ")
			if slices.Contains(args[:script], "unshare") != (names && root != "/") {
				t.Errorf("root %s: %q", root, args)
			}
		}
	}
}

func TestCopyTreeRefusesUnusableDirs(t *testing.T) {
	var cmds [][]string
	e := migrate.Endpoint{Host: canned{cmds: &cmds}, Root: "/"}
	for _, dirs := range [][2]string{{"relative", "/var/lib/a"}, {"/var/lib/a", "/"}, {"/var/lib/a/../b", "/var/lib/b"}} {
		_, err := migrate.CopyTree(t.Context(), e, dirs[0], e, dirs[1])
		var copyErr *migrate.CopyError
		if !errors.As(err, &copyErr) || !strings.Contains(err.Error(), "is not an absolute, clean path") {
			t.Errorf("%q: %v", dirs, err)
		}
	}
	if len(cmds) > 0 {
		t.Errorf("commands ran: %q", cmds)
	}
}

func entry(path migrate.Name, change func(*migrate.Entry)) migrate.Entry {
	e := migrate.Entry{Path: path, Type: "file", Size: 3, SHA256: sumA, Mode: "0640", Owner: "app", Group: "app", MTime: 1700000000}
	if change != nil {
		change(&e)
	}
	return e
}

func TestCompare(t *testing.T) {
	want := migrate.Manifest{Entries: []migrate.Entry{
		entry("a", nil), entry("b", nil), entry("c", nil), entry("d", nil), entry("e", nil), entry("f", nil),
	}}
	got := migrate.Manifest{Entries: []migrate.Entry{
		entry("a", nil),
		entry("b", func(e *migrate.Entry) { e.SHA256 = sumB; e.MTime++ }),
		entry("c", func(e *migrate.Entry) { e.Size = 4; e.SHA256 = sumB }),
		entry("d", func(e *migrate.Entry) { e.Type = "dir"; e.Size = 0 }),
		entry("e", func(e *migrate.Entry) { e.Owner, e.Group, e.Mode = "1234", "root", "0644" }),
		entry("g\n", nil),
	}}
	var lines []string
	for _, d := range migrate.Compare(want, got) {
		lines = append(lines, d.String())
	}
	wantLines := []string{
		`"b" differs: sha256 ` + sumB + `, want ` + sumA + `; mtime 2023-11-14T22:13:21Z, want 2023-11-14T22:13:20Z`,
		`"c" differs: size 4, want 3`,
		`"d" differs: type dir, want file`,
		`"e" differs: owner 1234, want app; group root, want app; mode 0644, want 0640`,
		`"f" is missing`,
		`"g\n" is not in the manifest`,
	}
	if !slices.Equal(lines, wantLines) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"))
	}
	if diffs := migrate.Compare(want, want); len(diffs) > 0 {
		t.Errorf("a manifest differs from itself: %v", diffs)
	}
}

func TestMismatchErrorShowsTheFirstDifferences(t *testing.T) {
	var want migrate.Manifest
	for _, c := range "abcdefghijkl" {
		want.Entries = append(want.Entries, entry(migrate.Name(c), nil))
	}
	_, err := migrate.VerifyTree(t.Context(), migrate.Endpoint{Host: canned{out: listing(nil)}, Root: "/"}, "/var/lib/app", want)
	msg := err.Error()
	if !strings.HasPrefix(msg, "/var/lib/app differs from its manifest in 12 entries:\n\"a\" is missing\n") ||
		!strings.Contains(msg, `"j" is missing`) || strings.Contains(msg, `"k"`) || !strings.HasSuffix(msg, "and 2 more") {
		t.Errorf("got %s", msg)
	}
}

func TestManifestJSONKeepsAnyName(t *testing.T) {
	m := migrate.Manifest{Entries: []migrate.Entry{
		entry("caf\xe9", nil),
		{Path: "l", Type: "symlink", Target: "\xff/é", Mode: "0777", Owner: "root", Group: "root"},
		entry("é 🐘", nil),
	}}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"path":{"base64":"Y2Fm6Q=="}`, `"target":{"base64":"/y/DqQ=="}`, `"path":"é 🐘"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
	var back migrate.Manifest
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("got %+v\nwant %+v", back, m)
	}
	if err := json.Unmarshal([]byte(`{"entries":[{"path":{"hex":"00"}}]}`), &back); err == nil {
		t.Error("a name of neither form was accepted")
	}
}

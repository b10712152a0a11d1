package migrate

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Manifest is what a tree holds, entry by entry, sorted by path: what a
// migration will move, and what the copy must hold once it is done. It is
// a value that JSON-encodes, for the migration's journal.
type Manifest struct {
	Entries []Entry `json:"entries"`
}

// Entry is one file, dir, symlink or special file of a tree (sockets are
// left out: they are no data, and tar does not copy them).
type Entry struct {
	Path   Name   `json:"path"` // relative to the tree; "." is the tree's dir itself
	Type   string `json:"type"` // file, dir, symlink, fifo, char or block
	Size   int64  `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"` // of a file's content, hex
	Target Name   `json:"target,omitempty"` // of a symlink
	Mode   string `json:"mode"`             // permission bits in octal, as 0640
	Owner  string `json:"owner"`            // user name, or uid when it has none
	Group  string `json:"group"`
	MTime  int64  `json:"mtime"` // seconds since the epoch: tar keeps no more
}

// Name is a file name as the file system has it, any bytes but NUL. It is
// a JSON string when it is valid UTF-8, else {"base64": ...}, so that no
// name is mangled on its way through the journal.
type Name string

func (n Name) MarshalJSON() ([]byte, error) {
	if utf8.ValidString(string(n)) {
		return json.Marshal(string(n))
	}
	return json.Marshal(map[string][]byte{"base64": []byte(n)})
}

func (n *Name) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		*n = Name(s)
		return nil
	}
	var raw struct {
		Base64 *[]byte `json:"base64"`
	}
	if err := json.Unmarshal(data, &raw); err != nil || raw.Base64 == nil {
		return fmt.Errorf("a file name is a string or {\"base64\": ...}, not %s", data)
	}
	*n = Name(*raw.Base64)
	return nil
}

// Totals is what a manifest adds up to.
type Totals struct {
	Files, Dirs, Symlinks int
	Bytes                 int64 // of the files' contents
}

func (m Manifest) Totals() Totals {
	var t Totals
	for _, e := range m.Entries {
		switch e.Type {
		case "file":
			t.Files++
			t.Bytes += e.Size
		case "dir":
			t.Dirs++
		case "symlink":
			t.Symlinks++
		}
	}
	return t
}

// TreeManifest lists the tree at dir in e's runtime, hashing every file,
// in one command on the host: the content never leaves it. A missing dir
// is a *NoDirError.
func TreeManifest(ctx context.Context, e Endpoint, dir string) (Manifest, error) {
	t := tree{e, dir}
	if err := checkDir(dir); err != nil {
		return Manifest{}, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	p := newManifestParser()
	err := e.Host.Run(ctx, remote.Cmd{Args: t.command(manifestScript, t.hostPath()), Stdout: p, Timeout: streamTimeout(ctx)})
	if missing := noDir(err, t); missing != nil {
		return Manifest{}, missing
	}
	if err == nil {
		err = p.finish()
	}
	if err != nil {
		return Manifest{}, fmt.Errorf("manifest of %s: %w", dir, err)
	}
	return p.m, nil
}

// manifestScript prints, for the tree at $1, a listing record of
// listingFields NUL-terminated fields per entry, an empty field to end the
// listing, then `sha256sum -z` lines ("HEX  ./PATH", NUL-terminated, names
// unescaped) of every file. NULs end to end: a name may hold anything
// else, newlines included.
const manifestScript = `set -eu
[ -d "$1" ] || { printf '%s: no such directory\n' "$1" >&2; exit ` + noDirStatus + `; }
cd -- "$1"
find . ! -type s -printf '%y\0%P\0%s\0%m\0%u\0%g\0%T@\0%l\0'
printf '\0'
find . -type f -print0 | xargs -0r sha256sum -z --
`

const listingFields = 8

var entryTypes = map[string]string{"f": "file", "d": "dir", "l": "symlink", "p": "fifo", "c": "char", "b": "block"}

// manifestParser reads the script's output as it streams. After the first
// error it swallows the rest: a refused write would stall the command.
type manifestParser struct {
	m       Manifest
	files   map[Name]int // index of each file's entry, for its hash
	partial []byte
	record  []string
	hashing bool
	err     error
}

func newManifestParser() *manifestParser {
	return &manifestParser{files: map[Name]int{}}
}

func (p *manifestParser) Write(b []byte) (int, error) {
	n := len(b)
	for p.err == nil {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			p.partial = append(p.partial, b...)
			break
		}
		p.field(string(append(p.partial, b[:i]...)))
		p.partial, b = p.partial[:0], b[i+1:]
	}
	return n, nil
}

func (p *manifestParser) field(f string) {
	switch {
	case p.hashing:
		p.err = p.hash(f)
	case len(p.record) == 0 && f == "":
		p.hashing = true
	default:
		p.record = append(p.record, f)
		if len(p.record) == listingFields {
			p.err = p.entry(p.record)
			p.record = p.record[:0]
		}
	}
}

func (p *manifestParser) entry(r []string) error {
	typ, ok := entryTypes[r[0]]
	if !ok {
		return fmt.Errorf("%q has an unknown file type %q", r[1], r[0])
	}
	size, err1 := strconv.ParseInt(r[2], 10, 64)
	mode, err2 := strconv.ParseUint(r[3], 8, 32)
	seconds, _, _ := strings.Cut(r[6], ".")
	mtime, err3 := strconv.ParseInt(seconds, 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return fmt.Errorf("listing of %q: %w", r[1], err)
	}
	e := Entry{Path: Name(cmp.Or(r[1], ".")), Type: typ, Mode: fmt.Sprintf("%04o", mode), Owner: r[4], Group: r[5], MTime: mtime}
	switch typ {
	case "file":
		e.Size = size
		p.files[e.Path] = len(p.m.Entries)
	case "symlink":
		e.Target = Name(r[7])
	}
	p.m.Entries = append(p.m.Entries, e)
	return nil
}

func (p *manifestParser) hash(line string) error {
	sum, name, ok := strings.Cut(line, "  ")
	name = strings.TrimPrefix(name, "./")
	i, listed := p.files[Name(name)]
	switch {
	case !ok || len(sum) != 64:
		return fmt.Errorf("unreadable sha256sum output %q", line)
	case !listed:
		return fmt.Errorf("%q was hashed but not listed: the tree changed while it was read", name)
	}
	p.m.Entries[i].SHA256 = sum
	return nil
}

// finish checks that the output was whole and sorts the entries.
func (p *manifestParser) finish() error {
	if p.err != nil {
		return p.err
	}
	if !p.hashing || len(p.partial) > 0 {
		return errors.New("the listing was cut short")
	}
	for _, i := range p.files {
		if p.m.Entries[i].SHA256 == "" {
			return fmt.Errorf("%q was listed but not hashed: the tree changed while it was read", p.m.Entries[i].Path)
		}
	}
	slices.SortFunc(p.m.Entries, func(a, b Entry) int { return cmp.Compare(a.Path, b.Path) })
	return nil
}

// Difference is how one entry of a tree differs from a manifest.
type Difference struct {
	Path    Name
	Missing bool     // in the manifest, not in the tree
	Extra   bool     // in the tree, not in the manifest
	Changes []Change // of an entry in both
}

// Change is one attribute of an entry that differs.
type Change struct {
	What      string // type, size, sha256, target, owner, group, mode or mtime
	Want, Got string
}

func (d Difference) String() string {
	name := strconv.Quote(string(d.Path))
	switch {
	case d.Missing:
		return name + " is missing"
	case d.Extra:
		return name + " is not in the manifest"
	}
	changes := make([]string, len(d.Changes))
	for i, c := range d.Changes {
		changes[i] = fmt.Sprintf("%s %s, want %s", c.What, c.Got, c.Want)
	}
	return name + " differs: " + strings.Join(changes, "; ")
}

// Compare says how got differs from want, entry by entry, sorted by path.
func Compare(want, got Manifest) []Difference {
	wanted := make(map[Name]Entry, len(want.Entries))
	for _, w := range want.Entries {
		wanted[w.Path] = w
	}
	var diffs []Difference
	for _, g := range got.Entries {
		w, ok := wanted[g.Path]
		delete(wanted, g.Path)
		if !ok {
			diffs = append(diffs, Difference{Path: g.Path, Extra: true})
		} else if changes := changesOf(w, g); len(changes) > 0 {
			diffs = append(diffs, Difference{Path: g.Path, Changes: changes})
		}
	}
	for _, w := range wanted {
		diffs = append(diffs, Difference{Path: w.Path, Missing: true})
	}
	slices.SortFunc(diffs, func(a, b Difference) int { return cmp.Compare(a.Path, b.Path) })
	return diffs
}

func changesOf(w, g Entry) []Change {
	if w.Type != g.Type {
		return []Change{{"type", w.Type, g.Type}}
	}
	var changes []Change
	add := func(what, want, got string) {
		if want != got {
			changes = append(changes, Change{what, want, got})
		}
	}
	add("size", strconv.FormatInt(w.Size, 10), strconv.FormatInt(g.Size, 10))
	if w.Size == g.Size {
		add("sha256", w.SHA256, g.SHA256) // another size says enough
	}
	add("target", strconv.Quote(string(w.Target)), strconv.Quote(string(g.Target)))
	add("owner", w.Owner, g.Owner)
	add("group", w.Group, g.Group)
	add("mode", w.Mode, g.Mode)
	add("mtime", mtime(w.MTime), mtime(g.MTime))
	return changes
}

func mtime(seconds int64) string {
	return time.Unix(seconds, 0).UTC().Format(time.RFC3339)
}

// MismatchError reports a tree that differs from its manifest.
type MismatchError struct {
	Dir         string
	Differences []Difference
}

// shownDifferences is how many differences an error lists.
const shownDifferences = 10

func (e *MismatchError) Error() string {
	shown := e.Differences[:min(len(e.Differences), shownDifferences)]
	lines := make([]string, len(shown))
	for i, d := range shown {
		lines[i] = d.String()
	}
	msg := fmt.Sprintf("%s differs from its manifest in %d entries:\n%s", e.Dir, len(e.Differences), strings.Join(lines, "\n"))
	if more := len(e.Differences) - len(shown); more > 0 {
		msg += fmt.Sprintf("\nand %d more", more)
	}
	return msg
}

// VerifyTree checks the tree at dir in e's runtime against want, a
// manifest of the source, and returns the tree's own manifest; a tree that
// differs is a *MismatchError.
func VerifyTree(ctx context.Context, e Endpoint, dir string, want Manifest) (Manifest, error) {
	got, err := TreeManifest(ctx, e, dir)
	if err != nil {
		return Manifest{}, err
	}
	if diffs := Compare(want, got); len(diffs) > 0 {
		return got, &MismatchError{Dir: dir, Differences: diffs}
	}
	return got, nil
}

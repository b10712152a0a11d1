package remote

import (
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{""}, "''"},
		{[]string{"nix-store", "--export", "/nix/store/abc-x"}, "'nix-store' '--export' '/nix/store/abc-x'"},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{"$(rm -rf /)", "`id`", "${HOME}"}, "'$(rm -rf /)' '`id`' '${HOME}'"},
		{[]string{"a\nb"}, "'a\nb'"},
	}
	for _, c := range cases {
		got, err := Quote(c.args)
		if err != nil || got != c.want {
			t.Errorf("Quote(%q) = %q, %v; want %q", c.args, got, err, c.want)
		}
	}
}

func TestQuoteRejectsNUL(t *testing.T) {
	t.Parallel()
	if _, err := Quote([]string{"ok", "a\x00b"}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("Quote with a NUL byte: err = %v, want an error naming NUL", err)
	}
}

// FuzzQuote runs quoted arguments through the real /bin/sh, exactly as the
// remote side does with an exec request, and checks that every argument
// arrives byte for byte.
func FuzzQuote(f *testing.F) {
	seeds := [][3]string{
		{"it's", `"double"`, `'\''`},
		{"$(id)", "`id`", "${HOME}"},
		{"a\nb", "\r\n", "\t"},
		{"*", "?[a-z]", "~root"},
		{"  spaced  ", " ", ""},
		{"", "", ""},
		{"\xff\xfe", "\x80", "é"},
		{"-n", "--", "-e"},
		{"if", "!", "a=b"},
		{";", "&&", "|"},
		{`\`, `\n`, "%s%d"},
		{"a\x00b", "x", "y"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		args := []string{"printf", `%s\0`, a, b, c}
		quoted, err := Quote(args)
		if strings.ContainsRune(a+b+c, 0) {
			if err == nil {
				t.Fatalf("Quote(%q) accepted a NUL byte", args)
			}
			return
		}
		if err != nil {
			t.Fatalf("Quote(%q): %v", args, err)
		}
		out, err := exec.Command("/bin/sh", "-c", quoted).Output()
		if err != nil {
			t.Fatalf("sh -c %q: %v", quoted, err)
		}
		if want := a + "\x00" + b + "\x00" + c + "\x00"; string(out) != want {
			t.Fatalf("arguments %q came back as %q (command %q)", args[2:], out, quoted)
		}
	})
}

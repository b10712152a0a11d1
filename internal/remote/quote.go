package remote

import (
	"fmt"
	"strings"
)

// Quote turns an argument list into a POSIX sh command line that the remote
// shell splits back into exactly these arguments. Every argument is
// single-quoted (inside single quotes sh interprets nothing, so `$()`,
// backticks, globs, newlines and non-UTF-8 bytes pass through untouched). A
// single quote inside an argument closes the quoting, adds an escaped quote
// and reopens it. Quoting every word, even plain ones, also keeps a first
// word like `if` from being read as a reserved word.
//
// This is the only place where remote command lines are built. A NUL byte
// cannot be carried in argv, so it is an error rather than a silent cut.
func Quote(args []string) (string, error) {
	var b strings.Builder
	for i, arg := range args {
		if strings.IndexByte(arg, 0) >= 0 {
			return "", fmt.Errorf("argument %d contains a NUL byte, which cannot be passed to a remote command", i)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(arg, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String(), nil
}

// shorten keeps error messages readable when a command line is long (an
// upload script, a list of store paths).
func shorten(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

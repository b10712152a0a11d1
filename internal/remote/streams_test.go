package remote

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestTailBufferKeepsTheEnd(t *testing.T) {
	t.Parallel()
	tail := &tailBuffer{max: 64}
	for i := range 100 {
		fmt.Fprintf(tail, "line %d\n", i)
	}
	if len(tail.buf) > 64 {
		t.Fatalf("buffer grew to %d bytes, limit 64", len(tail.buf))
	}
	if got := tail.lastLines(2); got != "line 98\nline 99" {
		t.Errorf("lastLines(2) = %q", got)
	}
	_, _ = tail.Write([]byte(strings.Repeat("x", 1000) + "\nend\n"))
	if got := tail.lastLines(1); got != "end" || len(tail.buf) != 64 {
		t.Errorf("after a huge write: lastLines(1) = %q, %d bytes kept", got, len(tail.buf))
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	cases := map[error]bool{
		&UnreachableError{HostPort: "h:22", Err: cause}:                true,
		&ConnectionLostError{HostPort: "h:22", Err: cause}:             true,
		fmt.Errorf("wrapped: %w", &UnreachableError{HostPort: "h:22"}): true,
		&HostKeyMismatchError{HostPort: "h:22"}:                        false,
		&NoHostKeyError{HostPort: "h:22"}:                              false,
		&AuthError{HostPort: "h:22", User: "root", Err: cause}:         false,
		&CommandError{HostPort: "h:22", Command: "'x'", ExitStatus: 1}: false,
		&TimeoutError{HostPort: "h:22", Command: "'x'", Timeout: 1}:    false,
		cause: false,
	}
	for err, want := range cases {
		if got := IsTransient(err); got != want {
			t.Errorf("IsTransient(%v) = %v, want %v", err, got, want)
		}
		if want && !errors.Is(err, cause) && !strings.Contains(err.Error(), "h:22") {
			t.Errorf("%v lost its cause or host", err)
		}
	}
}

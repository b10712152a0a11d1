package apps

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestDataReader(t *testing.T) {
	cases := []struct{ wire, message, rest string }{
		{".\r\n", "", ""},
		{"a\r\n.\r\nNOOP\r\n", "a\r\n", "NOOP\r\n"},
		{"..\r\n.\r\n", ".\r\n", ""},
		{"...x\r\n.\r\n", "..x\r\n", ""},
		{"x.\r\n.\r\n", "x.\r\n", ""},
		{"a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", ""},     // bare LF ends no line
		{"a\r\n.x\r\n.\r\n", "a\r\n" + "x\r\n", ""}, // a stray dot is removed as RFC 5321 says
		{"Grüße 🐘\r\n.\r\nQUIT\r\n", "Grüße 🐘\r\n", "QUIT\r\n"},
		{strings.Repeat("y", 40) + "\r\n..z\r\n.\r\n", strings.Repeat("y", 40) + "\r\n.z\r\n", ""},
		{strings.Repeat("w", 15) + "\r\n.\r\n", strings.Repeat("w", 15) + "\r\n", ""}, // CRLF split across chunks
	}
	for _, c := range cases {
		for _, size := range []int{16, 4096} { // 16: lines longer than the buffer
			r := bufio.NewReaderSize(strings.NewReader(c.wire), size)
			got, err := io.ReadAll(newDataReader(r))
			rest, _ := io.ReadAll(r)
			if err != nil || string(got) != c.message || string(rest) != c.rest {
				t.Errorf("buffer %d, wire %q: message %q rest %q (%v), want %q rest %q", size, c.wire, got, rest, err, c.message, c.rest)
			}
		}
	}
}

func TestDataReaderWithoutTerminator(t *testing.T) {
	r := bufio.NewReaderSize(strings.NewReader("cut\r\nshort\r\n"), 16)
	if _, err := io.ReadAll(newDataReader(r)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want unexpected EOF", err)
	}
}

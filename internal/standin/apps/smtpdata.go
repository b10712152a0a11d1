package apps

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// dataReader reads the DATA section of an SMTP transaction as a stream:
// the message exactly as sent, CRLFs kept, with the transparency dots of
// RFC 5321 section 4.5.2 removed, ending before the <CRLF>.<CRLF> that
// terminates it. Only a CRLF ends a line here, so that a bare LF can never
// end a message early (the ambiguity behind "SMTP smuggling").
type dataReader struct {
	r         *bufio.Reader
	lineStart bool   // the next byte begins a line
	prevCR    bool   // the last chunk ended in CR (a CRLF may span chunks)
	pending   []byte // the part of the current chunk not yet returned
	done      bool   // the terminating line was read
	err       error  // the connection failed: the session cannot go on
}

func newDataReader(r *bufio.Reader) *dataReader {
	return &dataReader{r: r, lineStart: true}
}

func (d *dataReader) Read(p []byte) (int, error) {
	for len(d.pending) == 0 {
		switch {
		case d.done:
			return 0, io.EOF
		case d.err != nil:
			return 0, d.err
		}
		d.next()
	}
	n := copy(p, d.pending)
	d.pending = d.pending[n:]
	return n, nil
}

// next reads up to the next LF, or a buffer full of a longer line.
func (d *dataReader) next() {
	chunk, err := d.r.ReadSlice('\n')
	if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		d.err = err
		return
	}
	if d.lineStart && len(chunk) > 0 && chunk[0] == '.' {
		if bytes.Equal(chunk, []byte(".\r\n")) {
			d.done = true
			return
		}
		chunk = chunk[1:]
	}
	d.pending = chunk
	if len(chunk) > 0 {
		d.lineStart = endsWithCRLF(chunk, d.prevCR)
		d.prevCR = chunk[len(chunk)-1] == '\r'
	}
}

func endsWithCRLF(chunk []byte, prevCR bool) bool {
	n := len(chunk)
	if chunk[n-1] != '\n' {
		return false
	}
	if n >= 2 {
		return chunk[n-2] == '\r'
	}
	return prevCR
}

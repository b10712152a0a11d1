package remote

import (
	"bytes"
	"io"
	"strconv"
	"sync/atomic"
)

// pidMarker starts the first line of every remote command's standard error.
// sshd runs the command's shell as a session and process-group leader and
// `exec` keeps its pid for the command, so that pid names the process group
// to kill when the command outlives its timeout. The line is removed before
// the caller sees standard error.
const pidMarker = "fediversity-remote-pid:"

// announcePID prefixes a quoted command so it reports its pid first.
// Nothing user-supplied is added: command is already quoted.
func announcePID(command string) string {
	return `printf '` + pidMarker + `%s\n' "$$" >&2; exec ` + command
}

// pidCapture takes the pid line off the head of standard error and passes
// the rest through.
type pidCapture struct {
	next   io.Writer
	head   []byte
	done   bool
	leader atomic.Int64
}

// maxPIDLine bounds what is held back if the first line never comes.
const maxPIDLine = 64

func (p *pidCapture) Write(b []byte) (int, error) {
	n := len(b)
	if p.done {
		return p.next.Write(b)
	}
	p.head = append(p.head, b...)
	line, rest, found := bytes.Cut(p.head, []byte("\n"))
	if !found && len(p.head) < maxPIDLine {
		return n, nil
	}
	p.done = true
	if pid, ok := bytes.CutPrefix(line, []byte(pidMarker)); found && ok {
		if v, err := strconv.Atoi(string(pid)); err == nil {
			p.leader.Store(int64(v))
		}
	} else {
		rest = p.head // not our line: pass everything through
	}
	p.head = nil
	if len(rest) == 0 {
		return n, nil
	}
	if _, err := p.next.Write(rest); err != nil {
		return 0, err
	}
	return n, nil
}

// pid is the remote process-group leader, or 0 while unknown.
func (p *pidCapture) pid() int {
	return int(p.leader.Load())
}

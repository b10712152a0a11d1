package apps

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	maxRecipients = 100
	// maxCommandLine is generous against RFC 5321's 512 octets, for
	// parameters of extensions.
	maxCommandLine = 2048
	// smtpIdleTimeout is RFC 5321's minimum server timeout (section 4.5.3.2.7).
	smtpIdleTimeout = 5 * time.Minute
)

// smtpServer accepts mail for its local domains into a Maildir: the subset
// of RFC 5321 that a sending MTA needs (no relaying, no AUTH, no STARTTLS).
type smtpServer struct {
	hostname string          // in greetings
	domains  map[string]bool // lower case
	box      *maildir
	log      *log.Logger

	mu       sync.Mutex
	sessions map[net.Conn]struct{}
	active   sync.WaitGroup
}

// serve accepts sessions until ctx is done, then closes them all: a
// message not yet acknowledged with 250 stays the sender's to retry, and
// one being written is either wholly in new/ or not at all.
func (s *smtpServer) serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.closeSessions()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.track(conn)
		go s.runSession(conn)
	}
}

func (s *smtpServer) track(conn net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		s.sessions = make(map[net.Conn]struct{})
	}
	s.sessions[conn] = struct{}{}
	s.active.Add(1)
}

func (s *smtpServer) closeSessions() {
	s.mu.Lock()
	for conn := range s.sessions {
		conn.Close()
	}
	s.mu.Unlock()
	s.active.Wait()
}

func (s *smtpServer) runSession(conn net.Conn) {
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.sessions, conn)
		s.mu.Unlock()
		s.active.Done()
	}()
	timed := idleTimeoutConn{Conn: conn}
	session := &smtpSession{
		server: s,
		r:      bufio.NewReaderSize(timed, 64<<10),
		w:      bufio.NewWriter(timed),
	}
	if err := session.run(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.log.Printf("smtp %s: %v", conn.RemoteAddr(), err)
	}
}

// idleTimeoutConn drops a client that stays silent (or does not read)
// for smtpIdleTimeout.
type idleTimeoutConn struct{ net.Conn }

func (c idleTimeoutConn) Read(p []byte) (int, error) {
	if err := c.SetReadDeadline(time.Now().Add(smtpIdleTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c idleTimeoutConn) Write(p []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(smtpIdleTimeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// smtpSession is one client connection. A transaction is MAIL, one or
// more RCPT, then DATA.
type smtpSession struct {
	server    *smtpServer
	r         *bufio.Reader
	w         *bufio.Writer
	sender    *string  // nil until MAIL
	mailboxes []string // of the accepted recipients: <domain>/<localpart>
}

var (
	errSessionOver = errors.New("session over") // after QUIT
	errLineTooLong = errors.New("command line longer than the read buffer")
)

func (s *smtpSession) run() error {
	if err := s.reply(220, s.server.hostname+" ESMTP fediversity-standin"); err != nil {
		return err
	}
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			_ = s.reply(500, "line too long") // the session ends either way
			return errLineTooLong
		}
		if err != nil {
			return ignoreEOF(err)
		}
		if len(line) > maxCommandLine {
			err = s.reply(500, "line too long")
		} else {
			err = s.command(strings.TrimRight(string(line), "\r\n"))
		}
		if errors.Is(err, errSessionOver) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (s *smtpSession) command(line string) error {
	verb, arg, _ := strings.Cut(line, " ")
	switch strings.ToUpper(verb) {
	case "EHLO":
		return s.hello(arg, true)
	case "HELO":
		return s.hello(arg, false)
	case "MAIL":
		return s.mail(arg)
	case "RCPT":
		return s.rcpt(arg)
	case "DATA":
		return s.data()
	case "RSET":
		s.reset()
		return s.reply(250, "OK")
	case "NOOP":
		return s.reply(250, "OK")
	case "QUIT":
		_ = s.reply(221, s.server.hostname+" closing connection") // the session ends either way
		return errSessionOver
	}
	return s.reply(502, "command not implemented")
}

func (s *smtpSession) hello(client string, extended bool) error {
	if strings.TrimSpace(client) == "" {
		return s.reply(501, "syntax: EHLO hostname")
	}
	s.reset()
	if !extended {
		return s.reply(250, s.server.hostname)
	}
	return s.reply(250, s.server.hostname, "SIZE "+strconv.Itoa(maxMessageSize), "8BITMIME", "SMTPUTF8")
}

func (s *smtpSession) mail(arg string) error {
	if s.sender != nil {
		return s.reply(503, "sender already given")
	}
	sender, params, err := parsePath(arg, "FROM:")
	if err != nil {
		return s.reply(501, "syntax: MAIL FROM:<address>")
	}
	if size, err := strconv.ParseInt(params["SIZE"], 10, 64); err == nil && size > maxMessageSize {
		return s.reply(552, "message size exceeds fixed maximum message size")
	}
	s.sender = &sender
	return s.reply(250, "OK")
}

func (s *smtpSession) rcpt(arg string) error {
	if s.sender == nil {
		return s.reply(503, "need MAIL before RCPT")
	}
	recipient, _, err := parsePath(arg, "TO:")
	if err != nil {
		return s.reply(501, "syntax: RCPT TO:<address>")
	}
	localpart, domain, found := cutLast(recipient, "@")
	domain = strings.ToLower(domain)
	if !found || !s.server.domains[domain] {
		return s.reply(550, fmt.Sprintf("<%s>: recipient not accepted here, its domain is not local", recipient))
	}
	name, err := mailboxName(localpart)
	if err != nil {
		return s.reply(550, fmt.Sprintf("<%s>: no such mailbox", recipient))
	}
	mailbox := mailboxOf(domain, name)
	if len(s.mailboxes) >= maxRecipients {
		return s.reply(452, "too many recipients")
	}
	if !slices.Contains(s.mailboxes, mailbox) {
		s.mailboxes = append(s.mailboxes, mailbox)
	}
	return s.reply(250, "OK")
}

func (s *smtpSession) data() error {
	if len(s.mailboxes) == 0 {
		return s.reply(503, "need RCPT before DATA")
	}
	if err := s.reply(354, "end data with <CR><LF>.<CR><LF>"); err != nil {
		return err
	}
	message := newDataReader(s.r)
	id, err := s.server.box.deliver(s.mailboxes, message)
	if err != nil {
		// Read to the end of the message to stay in step with the client.
		_, _ = io.Copy(io.Discard, message) // a read error shows in message.err
	}
	if message.err != nil {
		return fmt.Errorf("connection lost during DATA: %w", message.err)
	}
	defer s.reset()
	switch {
	case errors.Is(err, errTooLarge):
		return s.reply(552, "message exceeds fixed maximum message size")
	case err != nil:
		s.server.log.Printf("smtp: delivery to %v failed: %v", s.mailboxes, err)
		return s.reply(451, "local error in processing")
	}
	s.server.log.Printf("smtp: delivered %s to %s", id, strings.Join(s.mailboxes, ", "))
	return s.reply(250, "OK: queued as "+id)
}

func (s *smtpSession) reset() {
	s.sender, s.mailboxes = nil, nil
}

// reply writes a reply, one line per text, continued lines marked with "-".
func (s *smtpSession) reply(code int, texts ...string) error {
	for i, text := range texts {
		separator := " "
		if i < len(texts)-1 {
			separator = "-"
		}
		fmt.Fprintf(s.w, "%d%s%s\r\n", code, separator, text)
	}
	return s.w.Flush()
}

// cutLast cuts s around the last sep, as an address at its last "@".
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// parsePath parses "FROM:<path> PARAM=value ..." (the keyword given as
// prefix, case-insensitive) into the path and the upper-cased parameters.
func parsePath(arg, prefix string) (string, map[string]string, error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, errors.New("missing " + prefix)
	}
	rest := strings.TrimSpace(arg[len(prefix):])
	end := strings.IndexByte(rest, '>')
	if !strings.HasPrefix(rest, "<") || end < 0 {
		return "", nil, errors.New("path not in <>")
	}
	params := map[string]string{}
	for _, param := range strings.Fields(rest[end+1:]) {
		key, value, _ := strings.Cut(param, "=")
		params[strings.ToUpper(key)] = value
	}
	return rest[1:end], params, nil
}

package apps_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
)

type runningMail struct {
	cfg      apps.MailConfig
	smtpAddr string
	httpBase string
	logs     *syncBuffer
	stop     func() error
}

// mailConfig serves example.org and any further domains, each with a key.
func mailConfig(t *testing.T, more ...string) apps.MailConfig {
	t.Helper()
	cfg := apps.MailConfig{SMTPListen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", Maildir: t.TempDir()}
	for _, domain := range append([]string{"example.org"}, more...) {
		key := filepath.Join(t.TempDir(), domain+"_default.key")
		writeFile(t, key, "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n")
		cfg.Domains = append(cfg.Domains, apps.MailDomain{Domain: domain, DKIMPrivateKeyFile: key})
	}
	return cfg
}

func startMail(t *testing.T, cfg apps.MailConfig) *runningMail {
	t.Helper()
	logs := &syncBuffer{}
	mail, err := apps.OpenMail(cfg, logs)
	if err != nil {
		t.Fatalf("mail refused to start: %v", err)
	}
	m := &runningMail{cfg: cfg, smtpAddr: mail.SMTPAddr().String(), httpBase: "http://" + mail.HTTPAddr().String(), logs: logs}
	m.stop = serveInBackground(mail.Serve)
	t.Cleanup(func() {
		if err := m.stop(); err != nil {
			t.Errorf("mail shutdown: %v", err)
		}
	})
	return m
}

func (m *runningMail) get(t *testing.T, path string, wantStatus int, out any) {
	t.Helper()
	m.getFor(t, "example.org", path, wantStatus, out)
}

// getFor asks for path with host (a mail domain or mail.<domain>) as Host.
func (m *runningMail) getFor(t *testing.T, host, path string, wantStatus int, out any) {
	t.Helper()
	expectJSON(t, requestHost(t, "GET", m.httpBase+path, host, nil), wantStatus, out)
}

type storedMessage struct {
	ID     string `json:"id"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// messages fetches a mailbox's listing and each message's raw bytes.
func (m *runningMail) messages(t *testing.T, localpart string) ([]storedMessage, []string) {
	t.Helper()
	return m.messagesIn(t, "example.org", localpart)
}

func (m *runningMail) messagesIn(t *testing.T, domain, localpart string) ([]storedMessage, []string) {
	t.Helper()
	var listing []storedMessage
	m.getFor(t, domain, "/api/mailboxes/"+localpart, 200, &listing)
	raws := make([]string, len(listing))
	for i, msg := range listing {
		resp := requestHost(t, "GET", m.httpBase+"/api/mailboxes/"+localpart+"/"+msg.ID, domain, nil)
		raws[i] = readAll(t, resp)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "message/rfc822" {
			t.Fatalf("GET message %s: %d %s", msg.ID, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	return listing, raws
}

// A message with lines that need dot-stuffing, a lone dot, non-ASCII text
// and a long line, sent by Go's SMTP client, is stored exactly as written.
func TestSMTPDeliversByteExact(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	message := "From: Zoë <zoe@sender.example>\r\n" +
		"To: Alice <alice@example.org>\r\n" +
		"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"\r\n" +
		"Grüße 🐘 こんにちは\r\n" +
		".a line that starts with a dot\r\n" +
		"..two dots\r\n" +
		".\r\n" +
		"the line above was a lone dot; the message goes on\r\n" +
		strings.Repeat("long line ", 2000) + "\r\n" +
		"trailing spaces   \r\n"

	client, err := smtp.Dial(mail.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	mustSMTP(t, client.Hello("sender.example"))
	mustSMTP(t, client.Mail("zoe@sender.example"))
	mustSMTP(t, client.Rcpt("alice@example.org"))
	mustSMTP(t, client.Rcpt("Bob@Example.ORG"))
	data, err := client.Data()
	mustSMTP(t, err)
	_, err = io.WriteString(data, message)
	mustSMTP(t, err)
	mustSMTP(t, data.Close())
	mustSMTP(t, client.Quit())

	for _, mailbox := range []string{"alice", "bob"} {
		listing, raws := mail.messages(t, mailbox)
		if len(listing) != 1 || raws[0] != message {
			t.Fatalf("%s's mailbox holds %d messages; first differs from the one sent: %v", mailbox, len(listing), len(raws) > 0 && raws[0] != message)
		}
		if listing[0].Size != int64(len(message)) || listing[0].SHA256 != sha256Hex(message) {
			t.Fatalf("listing %+v does not describe the message", listing[0])
		}
		newDir := filepath.Join(mail.cfg.Maildir, "example.org", mailbox, "new")
		assertFileContent(t, filepath.Join(newDir, listing[0].ID), message)
		if tmp := allFiles(t, filepath.Join(mail.cfg.Maildir, "example.org", mailbox, "tmp")); len(tmp) != 0 {
			t.Fatalf("tmp/ not emptied: %v", tmp)
		}
	}
}

// The wire format handled directly: dot-stuffing undone, CRLF kept, a
// bare LF stored as it came and never taken for the end of the message.
func TestSMTPDataOnTheWire(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	s := dialSMTP(t, mail.smtpAddr)
	s.expect(t, "", 220)
	s.expect(t, "HELO sender.example", 250)
	s.expect(t, "MAIL FROM:<>", 250)
	s.expect(t, "RCPT TO:<carol@example.org>", 250)
	s.expect(t, "DATA", 354)
	s.send(t, "Subject: wire\r\n\r\n..stuffed\r\nbare\n.\nstill inside\r\n...\r\n.\r\n")
	s.expect(t, "", 250)
	s.expect(t, "QUIT", 221)

	_, raws := mail.messages(t, "carol")
	want := "Subject: wire\r\n\r\n.stuffed\r\nbare\n.\nstill inside\r\n..\r\n"
	if len(raws) != 1 || raws[0] != want {
		t.Fatalf("stored %q, want %q", raws, want)
	}
}

func TestSMTPRefusesOtherDomains(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	client, err := smtp.Dial(mail.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	mustSMTP(t, client.Mail("zoe@sender.example"))
	for _, rcpt := range []string{"alice@elsewhere.org", "alice@sub.example.org", "alice@example.org.evil", "no-domain"} {
		var protocolErr *textproto.Error
		if err := client.Rcpt(rcpt); !errors.As(err, &protocolErr) || protocolErr.Code != 550 {
			t.Errorf("RCPT %s: %v, want 550", rcpt, err)
		}
	}
	mustSMTP(t, client.Rcpt("alice@example.org")) // the session goes on
}

func TestSMTPCommandSequence(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	s := dialSMTP(t, mail.smtpAddr)
	s.expect(t, "", 220)
	if reply := s.expect(t, "EHLO sender.example", 250); !strings.Contains(reply, "SIZE 52428800") || !strings.Contains(reply, "8BITMIME") {
		t.Errorf("EHLO reply lacks SIZE or 8BITMIME: %q", reply)
	}
	s.expect(t, "RCPT TO:<alice@example.org>", 503)
	s.expect(t, "DATA", 503)
	s.expect(t, "MAIL FROM:<zoe@sender.example> SIZE=60000000", 552)
	s.expect(t, "MAIL FROM:<zoe@sender.example> BODY=8BITMIME SMTPUTF8", 250)
	s.expect(t, "MAIL FROM:<again@sender.example>", 503)
	s.expect(t, "RCPT TO:<alice@example.org>", 250)
	s.expect(t, "RSET", 250)
	s.expect(t, "DATA", 503) // RSET dropped the recipient
	s.expect(t, "NOOP", 250)
	s.expect(t, "VRFY alice", 502)
	s.expect(t, "MAIL FROM:zoe", 501)
	s.expect(t, "EHLO", 501)
	s.expect(t, "QUIT", 221)
}

func TestSMTPRefusesOversizedMessage(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	s := dialSMTP(t, mail.smtpAddr)
	s.expect(t, "", 220)
	s.expect(t, "EHLO sender.example", 250)
	s.expect(t, "MAIL FROM:<zoe@sender.example>", 250)
	s.expect(t, "RCPT TO:<dave@example.org>", 250)
	s.expect(t, "DATA", 354)
	line := strings.Repeat("x", 998) + "\r\n"
	for written := 0; written <= 50<<20; written += len(line) {
		_, _ = s.w.WriteString(line) // an error shows at the flush
	}
	s.send(t, ".\r\n")
	s.expect(t, "", 552)
	s.expect(t, "NOOP", 250) // still in step with the client
	if files := allFiles(t, mail.cfg.Maildir); len(files) != 0 {
		t.Fatalf("an oversized message left files: %v", files)
	}
}

func TestMailRefusesWithoutDKIMKey(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, path string){
		"missing": func(_ *testing.T, path string) { os.Remove(path) },
		"empty":   func(t *testing.T, path string) { writeFile(t, path, "") },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := mailConfig(t, "example.net")
			key := cfg.Domains[1].DKIMPrivateKeyFile
			spoil(t, key)
			_, err := apps.OpenMail(cfg, io.Discard)
			if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "example.net") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("want one line naming example.net and %s, got %v", key, err)
			}
		})
	}
}

func TestMailHTTP(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	for i := range 3 {
		message := fmt.Sprintf("Subject: %d\r\n\r\nbody %d\r\n", i, i)
		mustSMTP(t, smtp.SendMail(mail.smtpAddr, nil, "zoe@sender.example", []string{"erin@example.org"}, []byte(message)))
	}
	listing, raws := mail.messages(t, "erin")
	if len(listing) != 3 {
		t.Fatalf("erin has %d messages, want 3", len(listing))
	}
	for i := range listing {
		if i > 0 && listing[i-1].ID >= listing[i].ID {
			t.Errorf("listing not sorted: %q before %q", listing[i-1].ID, listing[i].ID)
		}
		if listing[i].SHA256 != sha256Hex(raws[i]) {
			t.Errorf("listing's sha256 of %s does not match its content", listing[i].ID)
		}
	}
	var empty []storedMessage
	mail.get(t, "/api/mailboxes/nobody", 200, &empty)
	if empty == nil || len(empty) != 0 {
		t.Errorf("an empty mailbox lists as %v, want []", empty)
	}
	mail.get(t, "/api/mailboxes/erin/no-such-id", 404, nil)
	mail.get(t, "/api/mailboxes/erin/%2E%2E", 400, nil)
	mail.get(t, "/api/mailboxes/%2E%2E/x", 400, nil)

	var h struct {
		Kind, Domain, Status string
		Mailboxes, Messages  int
	}
	mail.get(t, healthPath, 200, &h)
	if h.Kind != "mail" || h.Domain != "example.org" || h.Status != "ok" || h.Mailboxes != 1 || h.Messages != 3 {
		t.Fatalf("health = %+v", h)
	}
	resp := requestHost(t, "GET", mail.httpBase+healthPath, "social.example.org", nil)
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("health for another Host: %d, want 421", resp.StatusCode)
	}
}

// One server, several operators' domains: each keeps its own Maildir
// folder, and each is read through its own Host (the domain or
// mail.<domain>), never another's.
func TestMailServesSeveralDomains(t *testing.T) {
	mail := startMail(t, mailConfig(t, "club.example", "School.Example"))
	message := "Subject: to three domains\r\n\r\nhello\r\n"
	mustSMTP(t, smtp.SendMail(mail.smtpAddr, nil, "zoe@sender.example",
		[]string{"alice@example.org", "bob@club.example", "carol@school.example"}, []byte(message)))

	for domain, mailbox := range map[string]string{"example.org": "alice", "club.example": "bob", "school.example": "carol"} {
		listing, raws := mail.messagesIn(t, "mail."+domain, mailbox)
		if len(listing) != 1 || raws[0] != message {
			t.Fatalf("%s@%s holds %d messages", mailbox, domain, len(listing))
		}
		assertFileContent(t, filepath.Join(mail.cfg.Maildir, domain, mailbox, "new", listing[0].ID), message)
		var h struct {
			Domain              string
			Mailboxes, Messages int
		}
		mail.getFor(t, domain, healthPath, 200, &h)
		if h.Domain != domain || h.Mailboxes != 1 || h.Messages != 1 {
			t.Errorf("health of %s: %+v", domain, h)
		}
	}
	var other []storedMessage
	mail.getFor(t, "club.example", "/api/mailboxes/alice", 200, &other)
	if len(other) != 0 {
		t.Errorf("club.example shows example.org's mailbox alice: %v", other)
	}
	mail.getFor(t, "mail.elsewhere.example", healthPath, 421, nil)
}

func TestMailShutsDownWithIdleSessionOpen(t *testing.T) {
	mail := startMail(t, mailConfig(t))
	s := dialSMTP(t, mail.smtpAddr)
	s.expect(t, "", 220)
	start := time.Now()
	if err := mail.stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
	if _, err := net.Dial("tcp", mail.smtpAddr); err == nil {
		t.Fatal("SMTP still accepting after shutdown")
	}
}

func mustSMTP(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// smtpWire speaks SMTP by hand, to test what a client library hides.
type smtpWire struct {
	r *textproto.Reader
	w *bufio.Writer
}

func dialSMTP(t *testing.T, addr string) *smtpWire {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.SetDeadline(time.Now().Add(60 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return &smtpWire{r: textproto.NewReader(bufio.NewReader(conn)), w: bufio.NewWriter(conn)}
}

func (s *smtpWire) send(t *testing.T, data string) {
	t.Helper()
	_, _ = s.w.WriteString(data) // an error shows at the flush
	if err := s.w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// expect sends a command line (unless empty) and checks the reply's code.
func (s *smtpWire) expect(t *testing.T, command string, code int) string {
	t.Helper()
	if command != "" {
		s.send(t, command+"\r\n")
	}
	got, message, err := s.r.ReadResponse(0)
	if got != code {
		t.Fatalf("%q: reply %d %q (%v), want %d", command, got, message, err, code)
	}
	return message
}

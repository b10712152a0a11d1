package apps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"path/filepath"
	"strings"
)

// defaultSMTPListen is port 25 on every address of this machine.
const defaultSMTPListen = ":25"

// Mail is the mail server of a system's operators: SMTP in, a Maildir per
// domain on disk, and HTTP to read them back (what tests and migrations
// compare).
type Mail struct {
	cfg     MailConfig
	domains map[string]bool // lower case
	box     *maildir
	smtp    *smtpServer
	smtpLn  net.Listener
	httpLn  net.Listener
	httpSrv *http.Server
	log     *log.Logger
}

// RunMail starts the mail role and serves until ctx is done.
func RunMail(ctx context.Context, cfg MailConfig, logw io.Writer) error {
	mail, err := OpenMail(cfg, logw)
	if err != nil {
		return err
	}
	return mail.Serve(ctx)
}

// OpenMail checks the configuration and every domain's DKIM key (a mail
// server set up to sign refuses to start without it), prepares the Maildir
// and binds both listeners. Nothing is served yet.
func OpenMail(cfg MailConfig, logw io.Writer) (*Mail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Mail{cfg: cfg, domains: map[string]bool{}, log: newLogger("mail", logw)}
	for _, d := range cfg.Domains {
		if _, err := readSecret("DKIM key of "+d.Domain, d.DKIMPrivateKeyFile); err != nil {
			return nil, err
		}
		m.domains[strings.ToLower(d.Domain)] = true
	}
	var err error
	if m.box, err = openMaildir(cfg.Maildir); err != nil {
		return nil, err
	}
	m.smtp = &smtpServer{hostname: m.hostname(), domains: m.domains, box: m.box, log: m.log}
	if m.smtpLn, err = listen(m.smtpListen()); err != nil {
		return nil, err
	}
	if m.httpLn, err = listen(cfg.HTTPListen); err != nil {
		m.smtpLn.Close()
		return nil, err
	}
	m.httpSrv = newHTTPServer(m.routes(), m.log)
	return m, nil
}

func (m *Mail) hostname() string {
	if m.cfg.Hostname != "" {
		return m.cfg.Hostname
	}
	return m.cfg.Domains[0].Domain
}

func (m *Mail) smtpListen() string {
	if m.cfg.SMTPListen != "" {
		return m.cfg.SMTPListen
	}
	return defaultSMTPListen
}

func (m *Mail) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+healthPath, m.forDomain(m.health))
	mux.HandleFunc("GET /api/mailboxes/{localpart}", m.forDomain(m.listMessages))
	mux.HandleFunc("GET /api/mailboxes/{localpart}/{id}", m.forDomain(m.getMessage))
	return logRequests(m.log, mux)
}

// forDomain serves a request for the mail domain its Host names: the
// domain itself or mail.<domain>. Any other Host is misdirected (421), as
// for the apps.
func (m *Mail) forDomain(serve func(w http.ResponseWriter, r *http.Request, domain string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(hostWithoutPort(r.Host))
		for _, domain := range []string{host, strings.TrimPrefix(host, "mail.")} {
			if m.domains[domain] {
				serve(w, r, domain)
				return
			}
		}
		writeError(w, http.StatusMisdirectedRequest, fmt.Sprintf("this server has no mail domain for %q", r.Host))
	}
}

// SMTPAddr is where SMTP listens (useful with port 0).
func (m *Mail) SMTPAddr() net.Addr { return m.smtpLn.Addr() }

// HTTPAddr is where the HTTP side listens.
func (m *Mail) HTTPAddr() net.Addr { return m.httpLn.Addr() }

// Serve serves SMTP and HTTP until ctx is done or either fails.
func (m *Mail) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.log.Printf("mail for %s: SMTP on %s, HTTP on %s", strings.Join(sortedKeys(m.domains), ", "), m.SMTPAddr(), m.HTTPAddr())
	done := make(chan error, 2)
	go func() { done <- m.smtp.serve(ctx, m.smtpLn) }()
	go func() { done <- serveHTTP(ctx, m.httpSrv, m.httpLn) }()
	first := <-done
	cancel()
	return errors.Join(first, <-done)
}

type mailHealth struct {
	Kind      string `json:"kind"`
	Version   string `json:"version,omitempty"`
	Domain    string `json:"domain"`
	Status    string `json:"status"`
	Reason    string `json:"reason,omitempty"`
	Mailboxes int    `json:"mailboxes"`
	Messages  int    `json:"messages"`
}

func (m *Mail) health(w http.ResponseWriter, _ *http.Request, domain string) {
	report := mailHealth{Kind: "mail", Version: m.cfg.Version, Domain: domain, Status: "ok"}
	var err error
	report.Mailboxes, report.Messages, err = m.box.counts(domain)
	if err != nil {
		report.Status, report.Reason = "unhealthy", "maildir: "+err.Error()
		writeJSON(w, http.StatusServiceUnavailable, report)
		return
	}
	writeJSON(w, http.StatusOK, report)
}

// storedMessage is a listing entry; the id is the Maildir file name.
type storedMessage struct {
	ID     string `json:"id"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

func (m *Mail) listMessages(w http.ResponseWriter, r *http.Request, domain string) {
	mailbox, ok := mailboxParam(w, r, domain)
	if !ok {
		return
	}
	files, err := m.box.messages(mailbox)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	messages := make([]storedMessage, len(files))
	for i, f := range files {
		messages[i] = storedMessage{ID: f.Name, Size: f.Size, SHA256: f.SHA256}
	}
	writeJSON(w, http.StatusOK, messages)
}

func (m *Mail) getMessage(w http.ResponseWriter, r *http.Request, domain string) {
	mailbox, ok := mailboxParam(w, r, domain)
	if !ok {
		return
	}
	if id, ok := fileNameParam(w, r, "id"); ok {
		serveFile(w, r, m.box.messagePath(mailbox, id), "message/rfc822")
	}
}

// mailboxParam is the Maildir folder of the request's local part in domain.
func mailboxParam(w http.ResponseWriter, r *http.Request, domain string) (string, bool) {
	name, err := mailboxName(r.PathValue("localpart"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return mailboxOf(domain, name), true
}

// mailboxOf is the Maildir folder, relative to the Maildir's root, of a
// (checked) local part in a (lower-case) local domain.
func mailboxOf(domain, localpart string) string {
	return filepath.Join(domain, localpart)
}

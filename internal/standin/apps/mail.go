package apps

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
)

// Mail is an operator's mail domain: SMTP in, a Maildir on disk, and HTTP
// to read the Maildir back (what tests and migrations compare).
type Mail struct {
	cfg     MailConfig
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

// OpenMail checks the configuration and the DKIM key (a mail server set up
// to sign refuses to start without it), prepares the Maildir and binds
// both listeners. Nothing is served yet.
func OpenMail(cfg MailConfig, logw io.Writer) (*Mail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := readSecret("dkim_private_key_file", cfg.DKIMPrivateKeyFile); err != nil {
		return nil, err
	}
	box, err := openMaildir(cfg.Maildir)
	if err != nil {
		return nil, err
	}
	m := &Mail{cfg: cfg, box: box, log: newLogger("mail", logw)}
	m.smtp = &smtpServer{domain: cfg.Domain, box: box, log: m.log}
	if m.smtpLn, err = listen(cfg.SMTPListen); err != nil {
		return nil, err
	}
	if m.httpLn, err = listen(cfg.HTTPListen); err != nil {
		m.smtpLn.Close()
		return nil, err
	}
	m.httpSrv = newHTTPServer(m.routes(), m.log)
	return m, nil
}

func (m *Mail) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+healthPath, m.health)
	mux.HandleFunc("GET /api/mailboxes/{localpart}", m.listMessages)
	mux.HandleFunc("GET /api/mailboxes/{localpart}/{id}", m.getMessage)
	return logRequests(m.log, requireHost(m.cfg.Domain, mux))
}

// SMTPAddr and HTTPAddr are where the role listens (useful with port 0).
func (m *Mail) SMTPAddr() net.Addr { return m.smtpLn.Addr() }

// HTTPAddr is where the HTTP side listens.
func (m *Mail) HTTPAddr() net.Addr { return m.httpLn.Addr() }

// Serve serves SMTP and HTTP until ctx is done or either fails.
func (m *Mail) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m.log.Printf("mail for %s: SMTP on %s, HTTP on %s", m.cfg.Domain, m.SMTPAddr(), m.HTTPAddr())
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

func (m *Mail) health(w http.ResponseWriter, _ *http.Request) {
	report := mailHealth{Kind: "mail", Version: m.cfg.Version, Domain: m.cfg.Domain, Status: "ok"}
	var err error
	report.Mailboxes, report.Messages, err = m.box.counts()
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

func (m *Mail) listMessages(w http.ResponseWriter, r *http.Request) {
	mailbox, ok := mailboxParam(w, r)
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

func (m *Mail) getMessage(w http.ResponseWriter, r *http.Request) {
	mailbox, ok := mailboxParam(w, r)
	if !ok {
		return
	}
	if id, ok := fileNameParam(w, r, "id"); ok {
		serveFile(w, r, m.box.messagePath(mailbox, id), "message/rfc822")
	}
}

func mailboxParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	mailbox, err := mailboxName(r.PathValue("localpart"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return mailbox, true
}

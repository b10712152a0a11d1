package apps

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// maxMessageSize is the largest message the mail role accepts (and
// advertises with the SIZE extension).
const maxMessageSize = 50 << 20

// maildir delivers into Maildir folders, one per local part, each with
// tmp/, new/ and cur/: a message is written under tmp/ and renamed into
// new/, so that a reader never sees part of one.
type maildir struct {
	root string
	host string // the last part of unique names
	seq  atomic.Uint64
}

func openMaildir(root string) (*maildir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return &maildir{root: root, host: urlSafe(host)}, nil
}

// urlSafe keeps message ids plain in URLs.
func urlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

// mailboxName maps a local part to its folder: folded to lower case (as
// mailboxes are in practice), refused when it could not be a plain dir name
// or an unquoted local part.
func mailboxName(localpart string) (string, error) {
	name := strings.ToLower(localpart)
	if err := checkFileName(name); err != nil {
		return "", err
	}
	if len(name) > 64 || strings.HasPrefix(name, ".") || strings.ContainsFunc(name, func(r rune) bool {
		return r <= ' ' || r == 0x7f || strings.ContainsRune(`"\<>@,;:()[]`, r)
	}) {
		return "", fmt.Errorf("%q is not a mailbox name", localpart)
	}
	return name, nil
}

// uniqueName follows the Maildir convention time.MmicrosPpidQseq.host.
func (m *maildir) uniqueName() string {
	now := time.Now()
	return fmt.Sprintf("%d.M%dP%dQ%d.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), m.seq.Add(1), m.host)
}

// deliver stores one message, as it streams in, into every mailbox (a
// folder under the root, <domain>/<localpart>) and returns its id. Further
// mailboxes get hard links to the first copy: Maildir messages are never
// changed in place.
func (m *maildir) deliver(mailboxes []string, message io.Reader) (string, error) {
	for _, mailbox := range mailboxes {
		if err := m.ensureMailbox(mailbox); err != nil {
			return "", err
		}
	}
	id := m.uniqueName()
	first := filepath.Join(m.root, mailboxes[0])
	firstPath := filepath.Join(first, "new", id)
	if _, err := writeFileAtomic(firstPath, filepath.Join(first, "tmp"), message, maxMessageSize); err != nil {
		return "", err
	}
	for _, mailbox := range mailboxes[1:] {
		newDir := filepath.Join(m.root, mailbox, "new")
		if err := os.Link(firstPath, filepath.Join(newDir, id)); err != nil {
			return "", err
		}
		if err := syncDir(newDir); err != nil {
			return "", err
		}
	}
	return id, nil
}

func (m *maildir) ensureMailbox(mailbox string) error {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(m.root, mailbox, sub), 0o700); err != nil {
			return err
		}
	}
	return nil
}

// messages lists a mailbox's delivered (new/) and seen (cur/) messages.
func (m *maildir) messages(mailbox string) ([]storedFile, error) {
	return listFiles(filepath.Join(m.root, mailbox, "new"), filepath.Join(m.root, mailbox, "cur"))
}

// messagePath finds a message in new/ or, once a reader moved it, cur/.
func (m *maildir) messagePath(mailbox, id string) string {
	for _, sub := range []string{"new", "cur"} {
		path := filepath.Join(m.root, mailbox, sub, id)
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	return filepath.Join(m.root, mailbox, "new", id)
}

// counts reports how many mailboxes and messages one domain's folder of
// the Maildir holds; a domain that got no mail yet has none.
func (m *maildir) counts(domain string) (mailboxes, messages int, err error) {
	entries, err := os.ReadDir(filepath.Join(m.root, domain))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	for _, entry := range entries {
		if !entry.IsDir() {
			continue
		}
		mailboxes++
		for _, sub := range []string{"new", "cur"} {
			n, err := countFiles(filepath.Join(m.root, domain, entry.Name(), sub))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, 0, err
			}
			messages += n
		}
	}
	return mailboxes, messages, nil
}

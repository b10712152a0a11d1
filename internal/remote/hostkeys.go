package remote

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// ParseAuthorizedKey parses one public key in authorized_keys form
// ("ssh-ed25519 AAAA... comment"), as printed by ssh-keyscan or found in
// /etc/ssh/ssh_host_*_key.pub.
func ParseAuthorizedKey(s string) (ssh.PublicKey, error) {
	line := strings.TrimSpace(s)
	if line == "" {
		return nil, errors.New(`empty host key: want "TYPE BASE64 [COMMENT]", e.g. "ssh-ed25519 AAAAC3Nz..."`)
	}
	if strings.ContainsAny(line, "\r\n") {
		return nil, errors.New("holds more than one line: pin a single key per host (a known_hosts_file can list several)")
	}
	key, _, options, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, fmt.Errorf(`%q is not an SSH public key (%w): give it as "ssh-ed25519 AAAA...", as in /etc/ssh/ssh_host_ed25519_key.pub on the host`,
			shorten(line, 60), err)
	}
	if len(options) > 0 {
		return nil, fmt.Errorf(`%q starts with %q rather than the key type (a known_hosts host name or authorized_keys options?): give only "TYPE BASE64 [COMMENT]"`,
			shorten(line, 60), strings.Join(options, ","))
	}
	return key, nil
}

// Fingerprint names a key the way people compare them: its type and its
// SHA256 fingerprint, e.g. "ssh-ed25519 SHA256:abc...".
func Fingerprint(k ssh.PublicKey) string {
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}

func fingerprints(keys []ssh.PublicKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = Fingerprint(k)
	}
	return out
}

// HostKeyAlgorithms lists the host key algorithms to offer so that the server
// can only pick one of the pinned keys. Without it, a host with both an
// ed25519 and an RSA key negotiates ed25519 even when only RSA is pinned, and
// verification fails (golang/go#49631).
func HostKeyAlgorithms(keys []ssh.PublicKey) []string {
	var algos []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(algos, n) {
				algos = append(algos, n)
			}
		}
	}
	for _, k := range keys {
		if k.Type() == ssh.KeyAlgoRSA {
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		} else {
			add(k.Type())
		}
	}
	return algos
}

// pinnedHostKeyCallback accepts exactly the given keys and reports any
// other as a *HostKeyMismatchError, which aborts the handshake before
// authentication.
func pinnedHostKeyCallback(hostPort string, pinned []ssh.PublicKey) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, presented ssh.PublicKey) error {
		blob := presented.Marshal()
		for _, k := range pinned {
			if bytes.Equal(k.Marshal(), blob) {
				return nil
			}
		}
		return &HostKeyMismatchError{HostPort: hostPort, Presented: Fingerprint(presented), Pinned: fingerprints(pinned)}
	}
}

// KnownHostKeys returns the keys that known_hosts files list for hostPort
// ("host:port"), or an empty slice. Files that do not exist are skipped.
func KnownHostKeys(files []string, hostPort string) ([]ssh.PublicKey, error) {
	existing, err := existingFiles(files)
	if err != nil || len(existing) == 0 {
		return []ssh.PublicKey{}, err
	}
	callback, err := knownhosts.New(existing...)
	if err != nil {
		return nil, fmt.Errorf("reading known_hosts: %w", err)
	}
	// knownhosts only answers "is this key known?". Asking about a key that
	// cannot be listed makes it return every key it has for the host.
	err = callback(hostPort, hostPortAddr(hostPort), throwawayKey)
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	switch {
	case errors.As(err, &keyErr):
		keys := make([]ssh.PublicKey, 0, len(keyErr.Want))
		for _, known := range keyErr.Want {
			keys = append(keys, known.Key)
		}
		return keys, nil
	case errors.As(err, &revoked):
		return []ssh.PublicKey{}, nil
	case err != nil:
		return nil, fmt.Errorf("looking up %s in known_hosts: %w", hostPort, err)
	default:
		return nil, errors.New("known_hosts lists the throwaway probe key; refusing to use it")
	}
}

func existingFiles(files []string) ([]string, error) {
	var existing []string
	for _, f := range files {
		_, err := os.Stat(f)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return nil, fmt.Errorf("reading known_hosts: %w", err)
		}
		existing = append(existing, f)
	}
	return existing, nil
}

// throwawayKey is a fixed key that no known_hosts file lists.
var throwawayKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		panic(err)
	}
	return k
}()

// hostPortAddr is a net.Addr for a "host:port" that may be a DNS name, as
// the known_hosts callback wants a remote address.
type hostPortAddr string

func (a hostPortAddr) Network() string { return "tcp" }
func (a hostPortAddr) String() string  { return string(a) }

package sandbox

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// rsaHostKeyBits matches what current OpenSSH generates by default.
const rsaHostKeyBits = 3072

// Host key files inside a host's state dir, in the order they are presented
// (ed25519 first, then RSA), which is also the order of Host.HostKeys.
var hostKeyFiles = []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"}

func newEd25519Key() (crypto.Signer, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	return key, err
}

func newRSAKey() (crypto.Signer, error) {
	return rsa.GenerateKey(rand.Reader, rsaHostKeyBits)
}

// writeNewKey generates a key, writes it in OpenSSH format (0600, as sshd and
// ssh insist) plus a .pub next to it, and returns the public key in
// authorized_keys format.
func writeNewKey(path, comment string, generate func() (crypto.Signer, error)) (string, error) {
	key, err := generate()
	if err != nil {
		return "", fmt.Errorf("generate %s: %w", path, err)
	}
	block, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return "", fmt.Errorf("encode %s: %w", path, err)
	}
	if err := writeFileExclusive(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", err
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return "", err
	}
	line := authorizedKey(pub)
	return line, os.WriteFile(path+".pub", []byte(line+" "+comment+"\n"), 0o644)
}

// writeHostKeys creates a host's ed25519 and RSA host keys.
func writeHostKeys(stateDir, name string) ([]string, error) {
	generators := []func() (crypto.Signer, error){newEd25519Key, newRSAKey}
	var keys []string
	for i, file := range hostKeyFiles {
		line, err := writeNewKey(stateDir+"/"+file, "root@"+name, generators[i])
		if err != nil {
			return nil, err
		}
		keys = append(keys, line)
	}
	return keys, nil
}

// readHostKeys returns the public halves of a host's existing host keys.
func readHostKeys(stateDir string) ([]string, error) {
	var keys []string
	for _, file := range hostKeyFiles {
		pub, err := readPrivateKeyPublic(stateDir + "/" + file)
		if err != nil {
			return nil, err
		}
		keys = append(keys, pub)
	}
	return keys, nil
}

// readPrivateKeyPublic derives the authorized_keys line from a private key
// file; an encrypted key cannot be used unattended and is an error.
func readPrivateKeyPublic(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return authorizedKey(signer.PublicKey()), nil
}

// authorizedKey formats a public key as "type base64", without comment.
func authorizedKey(pub ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

// writeFileExclusive writes a new file with its final mode from the first
// byte, so a private key is never readable by others, not even briefly.
func writeFileExclusive(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

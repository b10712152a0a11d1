package apps

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
)

// readSecrets reads every secret file, refusing (as the real apps do) when
// one is missing or empty. The error names the secret and its path, never
// a content.
func readSecrets(files map[string]string) (map[string][]byte, error) {
	secrets := make(map[string][]byte, len(files))
	for _, name := range sortedKeys(files) {
		content, err := readSecret(name, files[name])
		if err != nil {
			return nil, err
		}
		secrets[name] = content
	}
	return secrets, nil
}

func readSecret(name, path string) ([]byte, error) {
	content, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("secret %s is missing: no file at %s", name, path)
	case err != nil:
		return nil, fmt.Errorf("secret %s is unreadable: %w", name, err)
	case len(bytes.TrimSpace(content)) == 0:
		return nil, fmt.Errorf("secret %s is empty: %s", name, path)
	}
	return content, nil
}

// fingerprintSecrets is a SHA-256 over the secrets' names and exact
// contents in name order, each length-prefixed so that no two different
// sets hash alike. Stored in the database, it lets a later start (or the
// target of a migration) prove it has the very same secrets without the
// contents ever leaving their files.
func fingerprintSecrets(secrets map[string][]byte) string {
	h := sha256.New()
	for _, name := range sortedKeys(secrets) {
		writeLengthPrefixed(h, []byte(name))
		writeLengthPrefixed(h, secrets[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeLengthPrefixed(h hash.Hash, data []byte) {
	var length [8]byte
	binary.BigEndian.PutUint64(length[:], uint64(len(data)))
	h.Write(length[:])
	h.Write(data)
}

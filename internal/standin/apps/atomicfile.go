package apps

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// errTooLarge is returned by writeFileAtomic when the content exceeds its limit.
var errTooLarge = errors.New("content exceeds the size limit")

// writtenFile describes a file writeFileAtomic put in place.
type writtenFile struct {
	Size   int64
	SHA256 string
}

// writeFileAtomic streams r into a new file in scratchDir and, only once all
// of it is written and synced, renames it to target: readers see the whole
// file or none, and an interrupted write leaves nothing behind but nothing
// at target either. scratchDir must be on target's filesystem. The content
// is hashed on the way, never held in memory. maxSize <= 0 means no limit.
func writeFileAtomic(target, scratchDir string, r io.Reader, maxSize int64) (writtenFile, error) {
	tmp, err := os.CreateTemp(scratchDir, "incoming-")
	if err != nil {
		return writtenFile{}, err
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	written, err := copyHashed(tmp, r, maxSize)
	if err != nil {
		return writtenFile{}, err
	}
	if err := tmp.Sync(); err != nil {
		return writtenFile{}, err
	}
	if err := tmp.Close(); err != nil {
		return writtenFile{}, err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return writtenFile{}, err
	}
	committed = true
	return written, syncDir(filepath.Dir(target))
}

func copyHashed(dst io.Writer, src io.Reader, maxSize int64) (writtenFile, error) {
	if maxSize > 0 {
		src = io.LimitReader(src, maxSize+1)
	}
	hash := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, hash), src)
	if err != nil {
		return writtenFile{}, err
	}
	if maxSize > 0 && n > maxSize {
		return writtenFile{}, fmt.Errorf("%w of %d bytes", errTooLarge, maxSize)
	}
	return writtenFile{Size: n, SHA256: hex.EncodeToString(hash.Sum(nil))}, nil
}

// syncDir makes a rename durable: "never a byte of data lost" includes a
// power cut right after the upload was acknowledged.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// hashFile returns the size and SHA-256 of a file, read in a stream.
func hashFile(path string) (writtenFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return writtenFile{}, err
	}
	defer f.Close()
	return copyHashed(io.Discard, f, 0)
}

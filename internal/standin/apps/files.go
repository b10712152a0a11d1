package apps

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"
)

// maxNameBytes is the longest file name common filesystems accept.
const maxNameBytes = 255

// checkFileName accepts any name that is one plain entry of a directory:
// spaces and non-ASCII are fine, anything that could reach outside it is not.
func checkFileName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("name %q is not a file name", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("name %q must not contain / or NUL", name)
	case len(name) > maxNameBytes:
		return fmt.Errorf("name is longer than %d bytes", maxNameBytes)
	case !utf8.ValidString(name):
		return errors.New("name is not valid UTF-8")
	}
	return nil
}

// storedFile is one entry of a listing, as the stand-ins report files.
type storedFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// listFiles hashes every regular file of the dirs, sorted by name; missing
// dirs count as empty.
func listFiles(dirs ...string) ([]storedFile, error) {
	files := []storedFile{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, entry := range entries {
			if !entry.Type().IsRegular() {
				continue
			}
			sum, err := hashFile(filepath.Join(dir, entry.Name()))
			if err != nil {
				return nil, err
			}
			files = append(files, storedFile{Name: entry.Name(), Size: sum.Size, SHA256: sum.SHA256})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

// countFiles counts the regular files of a dir without reading them.
func countFiles(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, entry := range entries {
		if entry.Type().IsRegular() {
			n++
		}
	}
	return n, nil
}

// serveFile streams a stored file back byte for byte (ranges included).
func serveFile(w http.ResponseWriter, r *http.Request, path, contentType string) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		writeError(w, http.StatusNotFound, "no such file")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, "no such file")
		return
	}
	// Set explicitly, or ServeContent would guess from the name and bytes.
	w.Header().Set("Content-Type", contentType)
	http.ServeContent(w, r, "", info.ModTime(), f)
}

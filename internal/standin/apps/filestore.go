package apps

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
)

// fileStore is a directory of named files behind PUT and GET routes: an
// app's uploads, and Synapse's local_content media.
type fileStore struct {
	dir     string
	scratch string // holds writes in flight; on dir's filesystem
}

// openFileStores creates the stores' dirs under stateDir, plus the scratch
// dir they share, emptied of writes that a crash cut short.
func openFileStores(stateDir string, names ...string) ([]fileStore, error) {
	scratch := filepath.Join(stateDir, ".incoming")
	if err := os.RemoveAll(scratch); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(scratch, 0o750); err != nil {
		return nil, err
	}
	stores := make([]fileStore, len(names))
	for i, name := range names {
		stores[i] = fileStore{dir: filepath.Join(stateDir, name), scratch: scratch}
		if err := os.MkdirAll(stores[i].dir, 0o750); err != nil {
			return nil, err
		}
	}
	return stores, nil
}

func (s fileStore) register(mux *http.ServeMux, route string) {
	mux.HandleFunc("GET "+route, s.list)
	mux.HandleFunc("PUT "+route+"/{name}", s.put)
	mux.HandleFunc("GET "+route+"/{name}", s.get)
}

func (s fileStore) count() (int, error) { return countFiles(s.dir) }

// put stores the body as it streams in; 201 for a new file, 200 for a replaced one.
func (s fileStore) put(w http.ResponseWriter, r *http.Request) {
	name, ok := fileNameParam(w, r, "name")
	if !ok {
		return
	}
	target := filepath.Join(s.dir, name)
	_, statErr := os.Lstat(target)
	written, err := writeFileAtomic(target, s.scratch, r.Body, 0)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "store "+name+": "+err.Error())
		return
	}
	status := http.StatusCreated
	if !errors.Is(statErr, fs.ErrNotExist) {
		status = http.StatusOK
	}
	writeJSON(w, status, storedFile{Name: name, Size: written.Size, SHA256: written.SHA256})
}

func (s fileStore) get(w http.ResponseWriter, r *http.Request) {
	if name, ok := fileNameParam(w, r, "name"); ok {
		serveFile(w, r, filepath.Join(s.dir, name), "application/octet-stream")
	}
}

func (s fileStore) list(w http.ResponseWriter, _ *http.Request) {
	files, err := listFiles(s.dir)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, files)
}

// fileNameParam is a file name from the route's {param}, already
// percent-decoded by the mux; it answers 400 itself when the name is unsafe.
func fileNameParam(w http.ResponseWriter, r *http.Request, param string) (string, bool) {
	name := r.PathValue(param)
	if err := checkFileName(name); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return "", false
	}
	return name, true
}

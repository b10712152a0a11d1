package apps_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
)

func TestUploadsRoundTrip(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "nextcloud"))
	files := map[string]string{ // URL path segment -> name on disk
		"empty":                          "empty",
		"with%20spaces%20.txt":           "with spaces .txt",
		"Gr%C3%BC%C3%9Fe%20%F0%9F%90%98": "Grüße 🐘",
		".hidden":                        ".hidden",
		"100%25":                         "100%",
	}
	contents := map[string]string{}
	for segment, name := range files {
		content := strings.Repeat(name+"\n", len(name)%5)
		if name == "empty" {
			content = ""
		}
		contents[name] = content
		var stored storedFile
		app.call("PUT", "/api/uploads/"+segment, strings.NewReader(content), 201, &stored)
		if stored.Name != name || stored.Size != int64(len(content)) || stored.SHA256 != sha256Hex(content) {
			t.Errorf("PUT %s answered %+v", segment, stored)
		}
		resp := app.request("GET", "/api/uploads/"+segment, nil)
		if got := readAll(t, resp); resp.StatusCode != http.StatusOK || got != content {
			t.Errorf("GET %s: %d %q, want %q", segment, resp.StatusCode, got, content)
		}
		assertFileContent(t, filepath.Join(app.cfg.StateDir, "uploads", name), content)
	}

	var listing []storedFile
	app.call("GET", "/api/uploads", nil, 200, &listing)
	if len(listing) != len(files) {
		t.Fatalf("listing has %d entries, want %d: %+v", len(listing), len(files), listing)
	}
	for i, entry := range listing {
		if i > 0 && listing[i-1].Name >= entry.Name {
			t.Errorf("listing not sorted by name: %q before %q", listing[i-1].Name, entry.Name)
		}
		if entry.SHA256 != sha256Hex(contents[entry.Name]) {
			t.Errorf("listing of %q: %+v", entry.Name, entry)
		}
	}

	app.call("PUT", "/api/uploads/empty", strings.NewReader("now with content"), 200, nil)
	app.call("GET", "/api/uploads/never-uploaded", nil, 404, nil)
}

func TestUploadNamesCannotEscape(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "mastodon"))
	for _, segment := range []string{"%2E", "%2E%2E", "..%2F..%2Fescaped", "sub%2Fdir", "nul%00byte", "%2Fabsolute", strings.Repeat("n", 256)} {
		app.call("PUT", "/api/uploads/"+segment, strings.NewReader("payload"), 400, nil)
		app.call("GET", "/api/uploads/"+segment, nil, 400, nil)
	}
	// Literal dot segments never reach the handler: the mux cleans the path.
	resp := app.request("PUT", "/api/uploads/../escaped", strings.NewReader("payload"))
	if resp.StatusCode < 300 {
		t.Errorf("PUT with a literal .. answered %d", resp.StatusCode)
	}
	if files := allFiles(t, app.cfg.StateDir); len(files) != 0 {
		t.Fatalf("refused uploads left files: %v", files)
	}
	// The test's temp dirs (state dir, secrets) share this parent.
	for _, file := range allFiles(t, filepath.Dir(app.cfg.StateDir)) {
		if filepath.Base(file) == "escaped" {
			t.Fatalf("an upload escaped to %s", file)
		}
	}
}

// A 70 MiB upload streams through: byte-identical both ways, and the
// process allocates far less than the file's size on the way.
func TestLargeUploadIsStreamed(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "peertube"))
	const size = 70 << 20
	sent := sha256.New()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)

	var stored storedFile
	app.call("PUT", "/api/uploads/video.mp4", io.TeeReader(generated(size), sent), 201, &stored)
	resp := app.request("GET", "/api/uploads/video.mp4", nil)
	received := sha256.New()
	n, err := io.Copy(received, resp.Body)

	runtime.ReadMemStats(&after)
	if err != nil || n != size || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: status %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	want := hex.EncodeToString(sent.Sum(nil))
	if stored.SHA256 != want || stored.Size != size || hex.EncodeToString(received.Sum(nil)) != want {
		t.Fatalf("sha256 sent %s, stored %+v, received %x", want, stored, received.Sum(nil))
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB for a %d MiB round trip", allocated>>10, size>>20)
	if allocated > size/4 {
		t.Fatalf("allocated %d MiB for a %d MiB round trip: the body is being buffered", allocated>>20, size>>20)
	}
}

func TestInterruptedUploadLeavesNothing(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "pixelfed"))
	body := io.MultiReader(generated(1<<20), failingReader{})
	req, _ := http.NewRequest(http.MethodPut, app.base+"/api/uploads/cut-short", body)
	req.Host = app.cfg.Domain
	req.ContentLength = 2 << 20
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("a failing body was answered %d", resp.StatusCode)
	}
	waitFor(t, "the server to drop the partial upload", func() bool {
		return len(allFiles(t, app.cfg.StateDir)) == 0
	})
	app.call("GET", "/api/uploads/cut-short", nil, 404, nil)
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("client gave up") }

// generated is a reproducible stream of n pseudo-random bytes.
func generated(n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8([32]byte{1, 2, 3}), n)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func assertFileContent(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || string(data) != want {
		t.Errorf("%s holds %q (%v), want %q", path, data, err, want)
	}
}

// allFiles lists the regular files under dir.
func allFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error { // best effort: a missing dir has no files
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	return files
}

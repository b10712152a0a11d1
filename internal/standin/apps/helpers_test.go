package apps_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
)

// testSecrets are the contents tests give every app; the request log must
// never show them.
var testSecrets = map[string]string{
	"SECRET_KEY_BASE": "skb-6f1c0e5a9d2b4c7e8f3a1b0c9d8e7f6a",
	"OTP_SECRET":      "otp-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
}

var databaseCounter atomic.Int64

const healthPath = "/.well-known/fediversity/health"

// appConfig makes a config for kind with its own database on pg, its own
// state dir and secret files, listening on a free loopback port.
func appConfig(t *testing.T, pg *pgtest.Server, kind string) apps.Config {
	t.Helper()
	name := fmt.Sprintf("%s_%d", kind, databaseCounter.Add(1))
	pg.CreateDatabase(t, name, name)
	return apps.Config{
		Kind:     kind,
		Version:  "4.3.2",
		Domain:   kind + ".example.org",
		Listen:   "127.0.0.1:0",
		Database: apps.DatabaseConfig{Host: pg.SocketDir, Port: pg.Port, Name: name, User: name},
		StateDir: t.TempDir(),
		Secrets:  writeSecrets(t, testSecrets),
		Settings: apps.Settings{RegistrationsOpen: true},
	}
}

func writeSecrets(t *testing.T, contents map[string]string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for name, content := range contents {
		files[name] = filepath.Join(dir, strings.ToLower(name))
		writeFile(t, files[name], content)
	}
	return files
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// runningApp is an app serving in this test process.
type runningApp struct {
	t    *testing.T
	cfg  apps.Config
	base string
	logs *syncBuffer
	// stop shuts the app down as SIGTERM would and returns what Serve returned.
	stop func() error
}

func startApp(t *testing.T, cfg apps.Config) *runningApp {
	t.Helper()
	logs := &syncBuffer{}
	app, err := apps.OpenApp(context.Background(), cfg, logs)
	if err != nil {
		t.Fatalf("app refused to start: %v", err)
	}
	a := &runningApp{t: t, cfg: cfg, base: "http://" + app.Addr().String(), logs: logs}
	a.stop = serveInBackground(app.Serve)
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Errorf("app shutdown: %v", err)
		}
	})
	return a
}

// serveInBackground runs serve and returns a function that cancels it and
// returns its result (the same result on every call).
func serveInBackground(serve func(context.Context) error) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx) }()
	return sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-served:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("Serve did not return 15s after shutdown began")
		}
	})
}

// request sends a request with the app's domain as Host.
func (a *runningApp) request(method, path string, body io.Reader) *http.Response {
	a.t.Helper()
	return requestHost(a.t, method, a.base+path, a.cfg.Domain, body)
}

func requestHost(t *testing.T, method, url, host string, body io.Reader) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// call sends in (a reader as is, anything else as JSON, nil as no body),
// checks the status and decodes the answer into out (unless nil).
func (a *runningApp) call(method, path string, in any, wantStatus int, out any) {
	a.t.Helper()
	body, isReader := in.(io.Reader)
	if in != nil && !isReader {
		data, err := json.Marshal(in)
		if err != nil {
			a.t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	resp := a.request(method, path, body)
	expectJSON(a.t, resp, wantStatus, out)
}

func expectJSON(t *testing.T, resp *http.Response, wantStatus int, out any) {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s: status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, wantStatus, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", resp.Request.Method, resp.Request.URL.Path, err, data)
		}
	}
}

// syncBuffer collects log output written from the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type storedFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

type health struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
	Domain  string `json:"domain"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Posts   int64  `json:"posts"`
	Uploads int    `json:"uploads"`
}

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// fileSizesIn sums the sizes of the files in dir.
func fileSizesIn(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	var total int64
	for _, entry := range entries {
		if info, err := entry.Info(); err == nil {
			total += info.Size()
		}
	}
	return total
}

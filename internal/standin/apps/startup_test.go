package apps_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
)

// Secrets are checked before the database: these need no PostgreSQL.
func TestRefusesMissingOrEmptySecret(t *testing.T) {
	files := writeSecrets(t, testSecrets)
	cases := map[string]func(t *testing.T, path string){
		"missing": func(_ *testing.T, path string) { os.Remove(path) },
		"empty":   func(t *testing.T, path string) { writeFile(t, path, "") },
		"blank":   func(t *testing.T, path string) { writeFile(t, path, "\n") },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			secrets := map[string]string{}
			for k, v := range files {
				secrets[k] = v
			}
			secrets["OTP_SECRET"] = filepath.Join(t.TempDir(), "otp_secret")
			writeFile(t, secrets["OTP_SECRET"], "x")
			spoil(t, secrets["OTP_SECRET"])
			cfg := apps.Config{
				Kind: "mastodon", Version: "4.3.2", Domain: "social.example.org", Listen: "127.0.0.1:0",
				Database: apps.DatabaseConfig{Host: "/nonexistent", Name: "db", User: "db"},
				StateDir: t.TempDir(), Secrets: secrets,
			}
			_, err := apps.OpenApp(context.Background(), cfg, io.Discard)
			if err == nil {
				t.Fatal("started without its OTP secret")
			}
			msg := err.Error()
			if !strings.Contains(msg, "OTP_SECRET") || !strings.Contains(msg, secrets["OTP_SECRET"]) || strings.Contains(msg, "\n") {
				t.Fatalf("want one line naming OTP_SECRET and %s, got %q", secrets["OTP_SECRET"], msg)
			}
		})
	}
}

func TestRefusesChangedSecrets(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "mastodon")
	first := startApp(t, cfg)
	if err := first.stop(); err != nil {
		t.Fatal(err)
	}

	original, _ := os.ReadFile(cfg.Secrets["SECRET_KEY_BASE"])
	writeFile(t, cfg.Secrets["SECRET_KEY_BASE"], "a freshly generated key")
	_, err := apps.OpenApp(context.Background(), cfg, io.Discard)
	if !errors.Is(err, apps.ErrSecretsChanged) || !strings.Contains(err.Error(), "secrets changed since this database was initialised: restore the original secrets") {
		t.Fatalf("want the secrets-changed refusal, got %v", err)
	}

	writeFile(t, cfg.Secrets["SECRET_KEY_BASE"], string(original))
	startApp(t, cfg) // the original secrets are accepted again
}

func TestDatabaseHoldsFingerprintNotSecrets(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "pixelfed")
	startApp(t, cfg)
	rows, err := pg.Connect(t, cfg.Database.Name, cfg.Database.User).Query(context.Background(), "SELECT key, value FROM standin_meta")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	keys := map[string]string{}
	for rows.Next() {
		var key, value string
		if err := rows.Scan(&key, &value); err != nil {
			t.Fatal(err)
		}
		keys[key] = value
		for _, secret := range testSecrets {
			if strings.Contains(value, secret) {
				t.Errorf("standin_meta %s holds a secret's content", key)
			}
		}
	}
	if len(keys["secrets_fingerprint"]) != 64 || keys["kind"] != "pixelfed" {
		t.Fatalf("standin_meta = %v, want a SHA-256 fingerprint and kind pixelfed", keys)
	}
}

func TestRefusesDatabaseOfAnotherKind(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "mastodon")
	if err := startApp(t, cfg).stop(); err != nil {
		t.Fatal(err)
	}
	cfg.Kind = "pixelfed"
	_, err := apps.OpenApp(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "belongs to a mastodon") {
		t.Fatalf("a pixelfed started on a mastodon's database: %v", err)
	}
}

func TestRefusesUnreachableDatabase(t *testing.T) {
	t.Parallel() // it waits out the connect retries
	cfg := apps.Config{
		Kind: "immich", Version: "1.0", Domain: "photos.example.org", Listen: "127.0.0.1:0",
		Database: apps.DatabaseConfig{Host: t.TempDir(), Port: 5432, Name: "immich", User: "immich"},
		StateDir: t.TempDir(), Secrets: writeSecrets(t, testSecrets),
	}
	_, err := apps.OpenApp(context.Background(), cfg, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "database immich") {
		t.Fatalf("want a database error naming it, got %v", err)
	}
}

func TestGracefulShutdownFinishesRequestInFlight(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "nextcloud"))
	body, feed := io.Pipe()
	answered := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, app.base+"/api/uploads/slow.bin", body)
		req.Host = app.cfg.Domain
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				err = fmt.Errorf("status %d, want 201", resp.StatusCode)
			}
		}
		answered <- err
	}()
	mustWrite(t, feed, "first half, ")
	waitFor(t, "the upload to reach the server", func() bool {
		return fileSizesIn(filepath.Join(app.cfg.StateDir, ".incoming")) > 0
	})

	stopped := make(chan error, 1)
	go func() { stopped <- app.stop() }()
	time.Sleep(100 * time.Millisecond) // let shutdown begin while the upload is half done
	mustWrite(t, feed, "second half")
	feed.Close()

	if err := <-answered; err != nil {
		t.Fatalf("upload in flight during shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Serve after shutdown: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(app.cfg.StateDir, "uploads", "slow.bin"))
	if string(data) != "first half, second half" {
		t.Fatalf("stored %q, %v", data, err)
	}
	if _, err := http.Get(app.base + healthPath); err == nil {
		t.Fatal("still accepting connections after shutdown")
	}
}

func mustWrite(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
}

func TestListensOnUnixSocket(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "peertube")
	socket := filepath.Join(t.TempDir(), "peertube.sock")
	cfg.Listen = "unix:" + socket
	app := startApp(t, cfg)
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	// A socket left behind by a crash must not keep the app from starting.
	leftover, err := net.ListenUnix("unix", &net.UnixAddr{Name: socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	leftover.SetUnlinkOnClose(false)
	leftover.Close()
	startApp(t, cfg)

	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
	}}
	resp, err := client.Get("http://" + cfg.Domain + healthPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got health
	expectJSON(t, resp, 200, &got)
	if got.Kind != "peertube" {
		t.Fatalf("health over the socket: %+v", got)
	}
}

package apps_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
)

type post struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

func TestAnswersOnlyForItsDomain(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "mastodon"))
	for host, want := range map[string]int{
		"mastodon.example.org":      200,
		"mastodon.example.org:8443": 200,
		"Mastodon.Example.ORG":      200,
		"mastodon.example.org.":     200,
		"pixelfed.example.org":      421,
		"example.org":               421,
		"evil.mastodon.example.org": 421,
		"127.0.0.1":                 421,
	} {
		resp := requestHost(t, "GET", app.base+healthPath, host, nil)
		if resp.StatusCode != want {
			t.Errorf("Host %q: status %d, want %d", host, resp.StatusCode, want)
		}
	}
	resp := requestHost(t, "POST", app.base+"/api/posts", "other.example.org", strings.NewReader(`{"author":"a","body":"b"}`))
	expectJSON(t, resp, 421, nil)
	var got []post
	app.call("GET", "/api/posts", nil, 200, &got)
	if len(got) != 0 {
		t.Fatalf("a misdirected request created posts: %v", got)
	}
}

func TestPostsRoundTrip(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "pixelfed"))
	texts := []string{"Grüße 🐘 こんにちは", "line one\nline two\ttab", `quotes " ' \ and <html>&amp;`, "\u202eright-to-left"}
	var ids []int64
	for i, text := range texts {
		var created struct{ ID int64 }
		app.call("POST", "/api/posts", map[string]string{"author": fmt.Sprintf("zoë%d", i), "body": text}, 201, &created)
		ids = append(ids, created.ID)
	}
	for i, id := range ids {
		var got post
		app.call("GET", fmt.Sprintf("/api/posts/%d", id), nil, 200, &got)
		if got.Body != texts[i] || got.Author != fmt.Sprintf("zoë%d", i) || got.CreatedAt.IsZero() {
			t.Errorf("post %d came back as %+v, want body %q", id, got, texts[i])
		}
	}
	app.call("GET", "/api/posts/999999", nil, 404, nil)
	app.call("GET", "/api/posts/abc", nil, 400, nil)
	app.call("POST", "/api/posts", map[string]string{"author": "a"}, 400, nil)
	app.call("POST", "/api/posts", map[string]string{"author": "a", "body": "nul\x00inside"}, 400, nil)
	resp := app.request("POST", "/api/posts", strings.NewReader("{not json"))
	expectJSON(t, resp, 400, nil)
}

func TestManyPostsComeBackInOrder(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "mastodon"))
	const n = 400
	for i := range n {
		app.call("POST", "/api/posts", map[string]string{"author": "bulk", "body": fmt.Sprintf("post number %d", i)}, 201, nil)
	}
	var got []post
	app.call("GET", "/api/posts", nil, 200, &got)
	if len(got) != n {
		t.Fatalf("got %d posts, want %d", len(got), n)
	}
	for i, p := range got {
		if p.Body != fmt.Sprintf("post number %d", i) || (i > 0 && p.ID <= got[i-1].ID) {
			t.Fatalf("post %d out of order: %+v", i, p)
		}
	}
	var h health
	app.call("GET", healthPath, nil, 200, &h)
	if h.Posts != n {
		t.Fatalf("health counts %d posts, want %d", h.Posts, n)
	}
}

func TestRegistrationsFollowSettings(t *testing.T) {
	pg := pgtest.Start(t)

	closed := appConfig(t, pg, "mastodon")
	closed.Settings.RegistrationsOpen = false
	startApp(t, closed).call("POST", "/api/accounts", map[string]string{"name": "alice"}, 403, nil)

	limited := appConfig(t, pg, "pixelfed")
	limited.Settings.UserLimit = 2
	app := startApp(t, limited)
	app.call("POST", "/api/accounts", map[string]string{"name": "alice"}, 201, nil)
	app.call("POST", "/api/accounts", map[string]string{"name": "alice"}, 409, nil) // taken
	app.call("POST", "/api/accounts", map[string]string{"name": "bob"}, 201, nil)
	app.call("POST", "/api/accounts", map[string]string{"name": "carol"}, 409, nil) // limit
	var accounts []struct{ Name string }
	app.call("GET", "/api/accounts", nil, 200, &accounts)
	if len(accounts) != 2 || accounts[0].Name != "alice" || accounts[1].Name != "bob" {
		t.Fatalf("accounts = %+v", accounts)
	}
}

func TestHealthReportsCountsThenDatabaseLoss(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "immich"))
	app.call("POST", "/api/posts", map[string]string{"author": "a", "body": "b"}, 201, nil)
	app.call("PUT", "/api/uploads/photo.jpg", strings.NewReader("jpeg"), 201, nil)
	var h health
	app.call("GET", healthPath, nil, 200, &h)
	want := health{Kind: "immich", Version: "4.3.2", Domain: "immich.example.org", Status: "ok", Posts: 1, Uploads: 1}
	if h != want {
		t.Fatalf("health = %+v, want %+v", h, want)
	}

	pg.Stop(t)
	start := time.Now()
	app.call("GET", healthPath, nil, 503, &h)
	if h.Status != "unhealthy" || !strings.Contains(h.Reason, "database") {
		t.Fatalf("health without a database = %+v", h)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("health took %v to notice the database is gone", time.Since(start))
	}
	app.call("GET", "/api/posts", nil, 503, nil)
}

// Every kind answers where the real app does (the catalogue's health
// path), as well as at the stand-in's own health endpoint.
func TestEveryKindAnswersItsCatalogueHealthPath(t *testing.T) {
	pg := pgtest.Start(t)
	for _, kind := range catalogue.All() {
		app := startApp(t, appConfig(t, pg, kind.Kind))
		for _, path := range []string{kind.HealthPath, healthPath} {
			var h health
			app.call("GET", path, nil, 200, &h)
			if h.Kind != kind.Kind || h.Version != app.cfg.Version || h.Status != "ok" {
				t.Errorf("%s %s: %+v", kind.Kind, path, h)
			}
		}
	}
	if !reflect.DeepEqual(apps.Kinds(), sortedKinds()) {
		t.Errorf("the stand-in serves %v, the catalogue lists %v", apps.Kinds(), sortedKinds())
	}
}

func sortedKinds() []string {
	kinds := catalogue.Kinds()
	sort.Strings(kinds)
	return kinds
}

func TestMatrixHasItsTablesAndMediaStore(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "matrix")
	app := startApp(t, cfg)
	conn := pg.Connect(t, cfg.Database.Name, cfg.Database.User)
	if _, err := conn.Exec(context.Background(),
		"INSERT INTO e2e_one_time_keys_json (user_id, key_id, key_json) VALUES ('@a:x', 'k', '{}')"); err != nil {
		t.Fatalf("e2e_one_time_keys_json: %v", err)
	}
	var stored storedFile
	app.call("PUT", "/_matrix/media/avatar%20ü.png", strings.NewReader("png bytes"), 201, &stored)
	if stored.Name != "avatar ü.png" || stored.Size != 9 {
		t.Fatalf("stored %+v", stored)
	}
	assertFileContent(t, cfg.StateDir+"/local_content/avatar ü.png", "png bytes")
	app.call("PUT", "/_matrix/media/..%2Fescape", strings.NewReader("x"), 400, nil)
	var listing []storedFile
	app.call("GET", "/_matrix/media", nil, 200, &listing)
	if len(listing) != 1 || listing[0] != stored {
		t.Fatalf("media listing %+v", listing)
	}
	resp := app.request("GET", "/_matrix/media/avatar%20%C3%BC.png", nil)
	if body := readAll(t, resp); resp.StatusCode != http.StatusOK || body != "png bytes" {
		t.Fatalf("GET media: %d %q", resp.StatusCode, body)
	}

	// Other kinds have no media store and no Synapse tables.
	other := appConfig(t, pg, "mastodon")
	startApp(t, other).call("PUT", "/_matrix/media/x", strings.NewReader("x"), 404, nil)
	if _, err := pg.Connect(t, other.Database.Name, other.Database.User).Exec(context.Background(),
		"SELECT 1 FROM e2e_one_time_keys_json"); err == nil {
		t.Fatal("a mastodon has Synapse's tables")
	}
}

func TestPeerTubeHasVideoFiles(t *testing.T) {
	pg := pgtest.Start(t)
	cfg := appConfig(t, pg, "peertube")
	startApp(t, cfg)
	var id int64
	err := pg.Connect(t, cfg.Database.Name, cfg.Database.User).QueryRow(context.Background(),
		"INSERT INTO video_files (url) VALUES ('https://s3.example.org/videos/a.mp4') RETURNING id").Scan(&id)
	if err != nil || id != 1 {
		t.Fatalf("video_files: id %d, %v", id, err)
	}
}

func TestRequestLogNamesRequestsNotSecrets(t *testing.T) {
	pg := pgtest.Start(t)
	app := startApp(t, appConfig(t, pg, "mastodon"))
	app.call("GET", "/api/posts", nil, 200, nil)
	app.call("PUT", "/api/uploads/a%0Aforged%20line", strings.NewReader("x"), 201, nil)
	requestHost(t, "GET", app.base+"/api/posts", "wrong.example.org", nil)
	if err := app.stop(); err != nil {
		t.Fatal(err)
	}
	logs := app.logs.String()
	for _, want := range []string{"GET /api/posts 200", "PUT /api/uploads/a%0Aforged%20line 201", "GET /api/posts 421"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	for name, secret := range testSecrets {
		if strings.Contains(logs, secret) {
			t.Errorf("log shows %s", name)
		}
	}
	if strings.Contains(logs, "\nforged") {
		t.Error("a file name forged a log line")
	}
}

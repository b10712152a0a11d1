package apps_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/apps"
)

func writeConfig(t *testing.T, json string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	writeFile(t, path, json)
	return path
}

func TestLoadConfig(t *testing.T) {
	path := writeConfig(t, `{
		"kind": "mastodon", "version": "4.3.2", "domain": "social.example.org",
		"listen": "127.0.0.2:8101",
		"database": {"name": "mastodon_op1", "user": "mastodon_op1"},
		"state_dir": "/var/lib/fediversity/op1/mastodon",
		"secrets": {"SECRET_KEY_BASE": "/var/lib/fediversity-secrets/op1/mastodon/secret_key_base"},
		"settings": {"registrations_open": true, "user_limit": 100, "theme": "a setting the stand-in ignores"}
	}`)
	cfg, err := apps.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.Host != "/run/postgresql" || cfg.Database.Port != 5432 {
		t.Errorf("database defaults: %+v", cfg.Database)
	}
	if !cfg.Settings.RegistrationsOpen || cfg.Settings.UserLimit != 100 {
		t.Errorf("settings: %+v", cfg.Settings)
	}
}

func TestLoadConfigRefusals(t *testing.T) {
	valid := `"version": "1", "domain": "a.example.org", "state_dir": "/s", "database": {"name": "d", "user": "u"}`
	for json, want := range map[string]string{
		`{"kind": "mastodon", "listen": ":80", "statedir": "/s", ` + valid + `}`:              `unknown field "statedir"`,
		`{"kind": "friendica", "listen": ":80", ` + valid + `}`:                               "friendica",
		`{"kind": "mastodon", "listen": "unix:relative.sock", ` + valid + `}`:                 "listen must be an absolute path",
		`{"kind": "mastodon", "listen": "localhost", ` + valid + `}`:                          "neither host:port nor unix:/path",
		`{"kind": "mastodon", "listen": ":80", "secrets": {"K": ""}, ` + valid + `}`:          "secrets.K must be set",
		`{"kind": "mastodon", "listen": ":80", "domain": "a/b", "version": "1"}`:              "is not a host name",
		`{"kind": "mastodon", "listen": ":80", ` + strings.Replace(valid, "/s", "s", 1) + `}`: "state_dir must be an absolute path",
	} {
		_, err := apps.LoadConfig(writeConfig(t, json))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("config %s: got %v, want one line with %q", json, err, want)
		}
	}
}

func TestLoadMailConfig(t *testing.T) {
	cfg, err := apps.LoadMailConfig(writeConfig(t, `{"hostname": "mail.example.org", "http_listen": "unix:/run/maddy/http.sock",
		"maildir": "/var/lib/maddy/maildir", "domains": [
			{"domain": "example.org", "dkim_private_key_file": "/var/lib/maddy/dkim_keys/example.org_default.key"},
			{"domain": "club.example", "dkim_private_key_file": "/var/lib/maddy/dkim_keys/club.example_default.key"}]}`))
	if err != nil || cfg.SMTPListen != "" || len(cfg.Domains) != 2 {
		t.Fatalf("%+v, %v", cfg, err)
	}
	for json, want := range map[string]string{
		`{"domains": [{"domain": "example.org"}]}`:                                                              "http_listen",
		`{"http_listen": ":80", "maildir": "/m", "domains": []}`:                                                "at least one mail domain",
		`{"http_listen": ":80", "maildir": "/m", "domains": [{"domain": "a.example"}]}`:                         "dkim_private_key_file of a.example must be set",
		`{"http_listen": ":80", "maildir": "/m", "domains": [{"domain": "..", "dkim_private_key_file": "/k"}]}`: "is not a host name",
		`{"http_listen": ":80", "maildir": "/m", "domains": [{"domain": "a.example", "dkim_private_key_file": "/k"},
			{"domain": "A.example", "dkim_private_key_file": "/k"}]}`: "listed twice",
		`{"http_listen": ":80", "maildir": "/m", "domain": "a.example"}`: `unknown field "domain"`,
	} {
		if _, err := apps.LoadMailConfig(writeConfig(t, json)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", json, err, want)
		}
	}
}

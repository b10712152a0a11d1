package apps

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Config is the app role's configuration file.
type Config struct {
	Kind     string         `json:"kind"`
	Version  string         `json:"version"`
	Domain   string         `json:"domain"`
	Listen   string         `json:"listen"` // host:port or unix:/path
	Database DatabaseConfig `json:"database"`
	StateDir string         `json:"state_dir"`
	// Secrets maps each secret's name to the file holding it.
	Secrets  map[string]string `json:"secrets"`
	Settings Settings          `json:"settings"`
}

// DatabaseConfig says where the app's PostgreSQL database is. Without a
// password file it authenticates as the server allows (peer or trust over
// the unix socket on NixOS).
type DatabaseConfig struct {
	Host         string `json:"host"` // a socket dir (/run/postgresql) or a TCP host
	Port         int    `json:"port"`
	Name         string `json:"name"`
	User         string `json:"user"`
	PasswordFile string `json:"password_file,omitempty"`
}

// Settings are the operator-facing knobs the stand-in honours.
// RegistrationsOpen false (the default) refuses sign-ups; UserLimit 0 means
// no limit.
type Settings struct {
	RegistrationsOpen bool `json:"registrations_open"`
	UserLimit         int  `json:"user_limit"`
}

// UnmarshalJSON accepts settings the stand-in does not know: a real app has
// many more, and the provider passes them through unchanged.
func (s *Settings) UnmarshalJSON(data []byte) error {
	type lenient Settings
	return json.Unmarshal(data, (*lenient)(s))
}

// MailConfig is the mail role's configuration file: one server for the
// mail domains of every operator on a system, as one maddy serves all of
// its localDomains.
type MailConfig struct {
	Hostname string `json:"hostname,omitempty"` // in SMTP greetings; default: the first domain
	Version  string `json:"version,omitempty"`  // reported by health when set
	// SMTPListen defaults to port 25 on every address of this machine (on
	// a sandbox host, its own address: see package hostaddr).
	SMTPListen string       `json:"smtp_listen,omitempty"`
	HTTPListen string       `json:"http_listen"`
	Maildir    string       `json:"maildir"` // <maildir>/<domain>/<localpart>/{tmp,new,cur}
	Domains    []MailDomain `json:"domains"`
}

// MailDomain is one mail domain and the key its mail is signed with.
type MailDomain struct {
	Domain             string `json:"domain"`
	DKIMPrivateKeyFile string `json:"dkim_private_key_file"`
}

const (
	defaultDatabaseHost = "/run/postgresql"
	defaultDatabasePort = 5432
)

// LoadConfig reads and checks an app role configuration file.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	if err := loadJSON(path, &cfg); err != nil {
		return cfg, err
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// LoadMailConfig reads and checks a mail role configuration file.
func LoadMailConfig(path string) (MailConfig, error) {
	var cfg MailConfig
	if err := loadJSON(path, &cfg); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// loadJSON refuses unknown fields so that a misspelt key in what the
// provider writes fails loudly instead of being silently ignored.
func loadJSON(path string, into any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Database.Host == "" {
		c.Database.Host = defaultDatabaseHost
	}
	if c.Database.Port == 0 {
		c.Database.Port = defaultDatabasePort
	}
	return c
}

// Validate reports every field that cannot work, in one line.
func (c Config) Validate() error {
	if _, ok := kinds[c.Kind]; !ok {
		return fmt.Errorf("kind %q is not one of %s", c.Kind, strings.Join(Kinds(), ", "))
	}
	checks := []error{
		nonEmpty("version", c.Version),
		validDomain(c.Domain),
		validListen("listen", c.Listen),
		absolutePath("state_dir", c.StateDir),
		nonEmpty("database.name", c.Database.Name),
		nonEmpty("database.user", c.Database.User),
	}
	if c.Database.Port < 1 || c.Database.Port > 65535 {
		checks = append(checks, fmt.Errorf("database.port must be within 1-65535, got %d", c.Database.Port))
	}
	if c.Settings.UserLimit < 0 {
		checks = append(checks, fmt.Errorf("settings.user_limit must not be negative, got %d", c.Settings.UserLimit))
	}
	for _, name := range sortedKeys(c.Secrets) {
		checks = append(checks, nonEmpty("secret name", name), nonEmpty("secrets."+name, c.Secrets[name]))
	}
	return joinOneLine(checks...)
}

// Validate reports every field that cannot work, in one line.
func (c MailConfig) Validate() error {
	checks := []error{
		validListen("http_listen", c.HTTPListen),
		absolutePath("maildir", c.Maildir),
	}
	if c.SMTPListen != "" {
		checks = append(checks, validListen("smtp_listen", c.SMTPListen))
	}
	if len(c.Domains) == 0 {
		checks = append(checks, errors.New("domains must name at least one mail domain"))
	}
	seen := map[string]bool{}
	for _, d := range c.Domains {
		checks = append(checks, validMailDomain(d.Domain), nonEmpty("dkim_private_key_file of "+d.Domain, d.DKIMPrivateKeyFile))
		if seen[strings.ToLower(d.Domain)] {
			checks = append(checks, fmt.Errorf("domain %s is listed twice", d.Domain))
		}
		seen[strings.ToLower(d.Domain)] = true
	}
	return joinOneLine(checks...)
}

// validMailDomain is a host name that can also name its Maildir folder.
func validMailDomain(domain string) error {
	if err := validDomain(domain); err != nil {
		return err
	}
	if strings.HasPrefix(domain, ".") {
		return fmt.Errorf("domain %q is not a host name", domain)
	}
	return nil
}

// joinOneLine joins the non-nil errors with "; ": the roles report a
// refusal to start as one line on stderr, as service logs read best.
func joinOneLine(errs ...error) error {
	var messages []string
	for _, err := range errs {
		if err != nil {
			messages = append(messages, err.Error())
		}
	}
	if len(messages) == 0 {
		return nil
	}
	return errors.New(strings.Join(messages, "; "))
}

func nonEmpty(field, value string) error {
	if value == "" {
		return fmt.Errorf("%s must be set", field)
	}
	return nil
}

func validDomain(domain string) error {
	if domain == "" || strings.ContainsAny(domain, "/:@ \t\r\n") {
		return fmt.Errorf("domain %q is not a host name", domain)
	}
	return nil
}

func validListen(field, listen string) error {
	if path, ok := strings.CutPrefix(listen, "unix:"); ok {
		return absolutePath(field, path)
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return fmt.Errorf("%s %q is neither host:port nor unix:/path", field, listen)
	}
	return nil
}

func absolutePath(field, path string) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("%s must be an absolute path, got %q", field, path)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Package proxy is the stand-in for nginx on sandbox hosts: the `proxy`
// role of fediversity-standin, which services.nginx of the stand-in nixpkgs
// runs. It serves the virtual hosts NixOS modules declare, choosing one by
// the request's Host (its serverName or a serverAlias; no match is 404) and
// passing each request to the proxyPass of its longest matching location,
// as nginx does. Upstreams are written as nginx reads them: http://HOST:PORT
// or http://unix:/path/to.sock, each optionally followed by a URI that
// replaces the matched location prefix.
//
// The Host header goes upstream unchanged, with X-Forwarded-For, -Host and
// -Proto added: what services.nginx.recommendedProxySettings (or a module's
// own proxy headers) makes nginx do, and what every app module needs.
package proxy

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

// Config is the proxy role's configuration file.
type Config struct {
	// Listen holds host:port addresses; empty means port 80 on every address
	// of this machine (see package hostaddr).
	Listen       []string               `json:"listen"`
	VirtualHosts map[string]VirtualHost `json:"virtualHosts"`
}

// VirtualHost is one of services.nginx.virtualHosts.
type VirtualHost struct {
	ServerName    string              `json:"serverName,omitempty"` // default: its name in VirtualHosts
	ServerAliases []string            `json:"serverAliases,omitempty"`
	Locations     map[string]Location `json:"locations"`
}

// Location is one location block: "/prefix" or "= /exact".
type Location struct {
	ProxyPass string `json:"proxyPass"`
}

// upstream is a parsed proxyPass.
type upstream struct {
	network string // "tcp" or "unix"
	address string // host:port or the socket's path
	uri     string // replaces the location's prefix when set
}

// LoadConfig reads and checks a proxy configuration file; unknown fields
// are errors, so that a misspelt key fails loudly.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports every problem, in one line.
func (c Config) Validate() error {
	var problems []string
	for _, addr := range c.Listen {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			problems = append(problems, fmt.Sprintf("listen %q is not host:port", addr))
		}
	}
	for _, name := range sortedKeys(c.VirtualHosts) {
		for _, path := range sortedKeys(c.VirtualHosts[name].Locations) {
			if err := checkLocation(path, c.VirtualHosts[name].Locations[path]); err != nil {
				problems = append(problems, fmt.Sprintf("virtualHosts.%s.locations.%q: %v", name, path, err))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func checkLocation(path string, loc Location) error {
	if _, _, err := parseLocation(path); err != nil {
		return err
	}
	_, err := parseUpstream(loc.ProxyPass)
	return err
}

// parseLocation accepts the two location forms the stand-in serves:
// "/prefix" and "= /exact". Regular expressions and named locations are
// refused rather than silently never matched.
func parseLocation(path string) (match string, exact bool, err error) {
	if rest, ok := strings.CutPrefix(path, "="); ok {
		path, exact = strings.TrimSpace(rest), true
	}
	if !strings.HasPrefix(path, "/") {
		return "", false, errors.New("the stand-in serves only prefix (/path) and exact (= /path) locations")
	}
	return path, exact, nil
}

// parseUpstream reads a proxyPass as nginx writes it:
// http://unix:/run/app.sock, http://unix:/run/app.sock:/uri,
// http://127.0.0.1:9000 or http://localhost:2283/uri.
func parseUpstream(proxyPass string) (upstream, error) {
	rest, ok := strings.CutPrefix(proxyPass, "http://")
	if !ok {
		return upstream{}, fmt.Errorf("proxyPass %q: the stand-in proxies to http:// upstreams only", proxyPass)
	}
	if socket, ok := strings.CutPrefix(rest, "unix:"); ok {
		path, uri, _ := strings.Cut(socket, ":")
		if !filepath.IsAbs(path) {
			return upstream{}, fmt.Errorf("proxyPass %q: the socket must be an absolute path", proxyPass)
		}
		return upstream{network: "unix", address: path, uri: uri}, nil
	}
	hostport, uri := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, uri = rest[:i], rest[i:]
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		return upstream{}, fmt.Errorf("proxyPass %q: want host:port (upstream blocks are not supported)", proxyPass)
	}
	return upstream{network: "tcp", address: hostport, uri: uri}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/proxy"
)

// seen is what an upstream reports about a request it got.
type seen struct {
	Upstream, Host, Path, ForwardedFor, ForwardedHost, ForwardedProto string
}

// upstreamOn serves, on ln, an echo of each request tagged with name.
func upstreamOn(t *testing.T, ln net.Listener, name string) {
	t.Helper()
	server := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(seen{name, r.Host, r.URL.Path, r.Header.Get("X-Forwarded-For"),
			r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-Proto")})
	})}
	go func() { _ = server.Serve(ln) }()
	t.Cleanup(func() { server.Close() })
}

func listenUnix(t *testing.T) (net.Listener, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "proxy") // short: a socket path must fit 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "app.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	return ln, path
}

func listenTCP(t *testing.T, host string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func port(ln net.Listener) string {
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

// start opens cfg with host's rules and serves it until the test ends.
func start(t *testing.T, cfg proxy.Config, host hostaddr.Host) *proxy.Proxy {
	t.Helper()
	p, err := proxy.Open(cfg, host, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return p
}

func get(t *testing.T, p *proxy.Proxy, host, path string) (int, seen) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.Addrs()[0].String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s seen
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, s
}

func TestRoutesByHostAndLocation(t *testing.T) {
	unixLn, socket := listenUnix(t)
	upstreamOn(t, unixLn, "web")
	tcpLn := listenTCP(t, "127.0.0.1")
	upstreamOn(t, tcpLn, "api")
	p := start(t, proxy.Config{
		Listen: []string{"127.0.0.1:0"},
		VirtualHosts: map[string]proxy.VirtualHost{
			"social.example.org": {
				ServerAliases: []string{"www.example.org"},
				Locations: map[string]proxy.Location{
					"/":        {ProxyPass: "http://unix:" + socket},
					"/api/":    {ProxyPass: "http://127.0.0.1:" + port(tcpLn)},
					"/api/v2/": {ProxyPass: "http://127.0.0.1:" + port(tcpLn) + "/v3/"},
					"= /exact": {ProxyPass: "http://unix:" + socket + ":/elsewhere"},
				},
			},
			"video": {ServerName: "video.example.org", Locations: map[string]proxy.Location{"/api/": {ProxyPass: "http://127.0.0.1:" + port(tcpLn)}}},
		},
	}, hostaddr.Host{})

	for _, c := range []struct{ host, path, upstream, upstreamPath string }{
		{"social.example.org", "/health", "web", "/health"},
		{"Social.Example.Org.:80", "/", "web", "/"},
		{"www.example.org", "/about", "web", "/about"},
		{"social.example.org", "/api/v1/x", "api", "/api/v1/x"},
		{"social.example.org", "/api/v2/statuses", "api", "/v3/statuses"},
		{"social.example.org", "/exact", "web", "/elsewhere"},
		{"social.example.org", "/exact/not", "web", "/exact/not"},
		{"video.example.org", "/api/v1/config", "api", "/api/v1/config"},
	} {
		status, s := get(t, p, c.host, c.path)
		if status != 200 || s.Upstream != c.upstream || s.Path != c.upstreamPath {
			t.Errorf("%s%s: %d from %q at %q, want %s at %s", c.host, c.path, status, s.Upstream, s.Path, c.upstream, c.upstreamPath)
		}
		if s.Host != c.host || s.ForwardedFor != "127.0.0.1" || s.ForwardedProto != "http" || s.ForwardedHost != c.host {
			t.Errorf("%s%s: upstream saw Host %q, X-Forwarded-For %q, -Proto %q, -Host %q", c.host, c.path, s.Host, s.ForwardedFor, s.ForwardedProto, s.ForwardedHost)
		}
	}
	for _, c := range []struct{ host, path string }{
		{"unknown.example.org", "/"},
		{"video", "/api/"}, // the name of the attribute is not its server name
		{"video.example.org", "/elsewhere"},
	} {
		if status, _ := get(t, p, c.host, c.path); status != http.StatusNotFound {
			t.Errorf("%s%s: %d, want 404", c.host, c.path, status)
		}
	}
}

func TestUnreachableUpstreamIsBadGateway(t *testing.T) {
	ln, socket := listenUnix(t)
	ln.Close() // and its socket file is gone
	p := start(t, proxy.Config{Listen: []string{"127.0.0.1:0"}, VirtualHosts: map[string]proxy.VirtualHost{
		"a.example.org": {Locations: map[string]proxy.Location{"/": {ProxyPass: "http://unix:" + socket}}},
	}}, hostaddr.Host{})
	if status, _ := get(t, p, "a.example.org", "/"); status != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", status)
	}
}

// On a sandbox host the proxy listens on the host's address, port 80, and
// "localhost" upstreams are on that address too.
func TestOnASandboxHostListensOnItsAddress(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("binding port 80 needs root")
	}
	address := fmt.Sprintf("127.%d.%d.%d", 100+rand.IntN(100), rand.IntN(250), 1+rand.IntN(250))
	appLn := listenTCP(t, address)
	upstreamOn(t, appLn, "immich")
	p := start(t, proxy.Config{VirtualHosts: map[string]proxy.VirtualHost{
		"photos.example.org": {Locations: map[string]proxy.Location{"/": {ProxyPass: "http://localhost:" + port(appLn)}}},
	}}, hostaddr.Host{Address: address})
	if got := p.Addrs()[0].String(); got != address+":80" {
		t.Fatalf("listening on %s, want %s:80", got, address)
	}
	if status, s := get(t, p, "photos.example.org", "/api/server/ping"); status != 200 || s.Upstream != "immich" {
		t.Fatalf("%d from %q", status, s.Upstream)
	}
}

func TestConfigRefusals(t *testing.T) {
	vhost := func(loc string, pass string) proxy.Config {
		return proxy.Config{VirtualHosts: map[string]proxy.VirtualHost{"a.example.org": {Locations: map[string]proxy.Location{loc: {ProxyPass: pass}}}}}
	}
	for want, cfg := range map[string]proxy.Config{
		"not host:port":            {Listen: []string{"80"}},
		"only prefix":              vhost("~ \\.php$", "http://127.0.0.1:9000"),
		"http:// upstreams only":   vhost("/", "https://127.0.0.1:9000"),
		"absolute path":            vhost("/", "http://unix:run/app.sock"),
		"upstream blocks":          vhost("/", "http://mastodon-streaming"),
		`locations."/named"`:       vhost("/named", "fastcgi://x"),
		"a.example.org.locations.": vhost("@named", "http://127.0.0.1:1"),
	} {
		if _, err := proxy.Open(cfg, hostaddr.Host{}, io.Discard); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", cfg, err, want)
		}
	}
	taken := proxy.Config{Listen: []string{"127.0.0.1:0"}, VirtualHosts: map[string]proxy.VirtualHost{
		"a.example.org": {Locations: map[string]proxy.Location{}},
		"b":             {ServerAliases: []string{"A.example.org"}, Locations: map[string]proxy.Location{}},
	}}
	if _, err := proxy.Open(taken, hostaddr.Host{}, io.Discard); err == nil || !strings.Contains(err.Error(), "claimed by virtual hosts a.example.org and b") {
		t.Errorf("a server name claimed twice: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "proxy.json")
	write := func(content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"listen": ["127.0.0.2:80"], "virtualHosts": {"social.example.org": {"serverAliases": [],
		"locations": {"/": {"proxyPass": "http://unix:/run/mastodon-web/web.socket"}}}}}`)
	cfg, err := proxy.LoadConfig(path)
	if err != nil || cfg.VirtualHosts["social.example.org"].Locations["/"].ProxyPass != "http://unix:/run/mastodon-web/web.socket" {
		t.Fatalf("%+v, %v", cfg, err)
	}
	write(`{"listen": [], "virtualHost": {}}`)
	if _, err := proxy.LoadConfig(path); err == nil || !strings.Contains(err.Error(), `unknown field "virtualHost"`) {
		t.Fatalf("a misspelt field: %v", err)
	}
}

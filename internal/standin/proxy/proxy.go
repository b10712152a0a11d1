package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"sort"
	"strings"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

// shutdownGrace is how long requests in flight may finish after SIGTERM.
const shutdownGrace = 5 * time.Second

// Proxy holds its bound listeners, ready to serve.
type Proxy struct {
	listeners []net.Listener
	server    *http.Server
	log       *log.Logger
}

// Run starts the proxy cfg describes on this machine and serves until ctx
// is done.
func Run(ctx context.Context, cfg Config, logw io.Writer) error {
	host, err := hostaddr.Local()
	if err != nil {
		return err
	}
	p, err := Open(cfg, host, logw)
	if err != nil {
		return err
	}
	return p.Serve(ctx)
}

// Open checks cfg, builds its routes and binds every listen address, each
// resolved by host's rules (see package hostaddr).
func Open(cfg Config, host hostaddr.Host, logw io.Writer) (*Proxy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	logger := log.New(logw, "proxy: ", log.LstdFlags)
	sites, err := buildSites(cfg, host, logger)
	if err != nil {
		return nil, err
	}
	p := &Proxy{log: logger, server: &http.Server{
		Handler:           sites,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}}
	for _, addr := range listenAddresses(cfg, host) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			p.closeListeners()
			return nil, err
		}
		p.listeners = append(p.listeners, ln)
	}
	return p, nil
}

// listenAddresses are cfg's, or port 80 on every address of this machine.
func listenAddresses(cfg Config, host hostaddr.Host) []string {
	if len(cfg.Listen) == 0 {
		return []string{net.JoinHostPort(host.AllAddresses(), "80")}
	}
	addrs := make([]string, len(cfg.Listen))
	for i, addr := range cfg.Listen {
		addrs[i] = host.Resolve(addr)
	}
	return addrs
}

// Addrs are where the proxy listens (useful with port 0).
func (p *Proxy) Addrs() []net.Addr {
	addrs := make([]net.Addr, len(p.listeners))
	for i, ln := range p.listeners {
		addrs[i] = ln.Addr()
	}
	return addrs
}

// Serve serves on every listener until ctx is done, then lets requests in
// flight finish for shutdownGrace.
func (p *Proxy) Serve(ctx context.Context) error {
	p.log.Printf("serving on %v", p.Addrs())
	served := make(chan error, len(p.listeners))
	for _, ln := range p.listeners {
		go func() { served <- p.server.Serve(ln) }()
	}
	select {
	case err := <-served:
		p.server.Close()
		return err
	case <-ctx.Done():
	}
	graceCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := p.server.Shutdown(graceCtx); err != nil {
		p.server.Close()
	}
	for range p.listeners {
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	return nil
}

func (p *Proxy) closeListeners() {
	for _, ln := range p.listeners {
		ln.Close()
	}
}

// sites maps every server name (lower case) to its virtual host.
type sites map[string]*site

// site is one virtual host's locations.
type site struct {
	exact    map[string]http.Handler
	prefixes []prefixRoute // longest first, as nginx prefers them
}

type prefixRoute struct {
	prefix  string
	handler http.Handler
}

func buildSites(cfg Config, host hostaddr.Host, logger *log.Logger) (sites, error) {
	all := sites{}
	claimedBy := map[string]string{}
	for _, name := range sortedKeys(cfg.VirtualHosts) {
		vh := cfg.VirtualHosts[name]
		s := newSite(vh, host, logger)
		for _, serverName := range append([]string{serverNameOf(name, vh)}, vh.ServerAliases...) {
			key := strings.ToLower(serverName)
			if other, taken := claimedBy[key]; taken {
				return nil, fmt.Errorf("server name %s is claimed by virtual hosts %s and %s", serverName, other, name)
			}
			claimedBy[key], all[key] = name, s
		}
	}
	return all, nil
}

func serverNameOf(name string, vh VirtualHost) string {
	if vh.ServerName != "" {
		return vh.ServerName
	}
	return name
}

// newSite builds a virtual host from validated locations.
func newSite(vh VirtualHost, host hostaddr.Host, logger *log.Logger) *site {
	s := &site{exact: map[string]http.Handler{}}
	for path, loc := range vh.Locations {
		match, exact, _ := parseLocation(path)
		up, _ := parseUpstream(loc.ProxyPass)
		handler := newReverseProxy(match, up, host, logger)
		if exact {
			s.exact[match] = handler
		} else {
			s.prefixes = append(s.prefixes, prefixRoute{match, handler})
		}
	}
	sort.Slice(s.prefixes, func(i, j int) bool { return len(s.prefixes[i].prefix) > len(s.prefixes[j].prefix) })
	return s
}

func (s *site) route(path string) http.Handler {
	if h, ok := s.exact[path]; ok {
		return h
	}
	for _, r := range s.prefixes {
		if strings.HasPrefix(path, r.prefix) {
			return r.handler
		}
	}
	return nil
}

func (all sites) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, ok := all[hostname(r.Host)]
	if !ok {
		http.Error(w, fmt.Sprintf("no virtual host for %q here", r.Host), http.StatusNotFound)
		return
	}
	handler := s.route(r.URL.Path)
	if handler == nil {
		http.NotFound(w, r)
		return
	}
	handler.ServeHTTP(w, r)
}

// hostname is a Host header without port and trailing dot, in lower case.
func hostname(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	return strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
}

// newReverseProxy passes requests matching prefix to up, keeping the Host
// header (see the package comment).
func newReverseProxy(prefix string, up upstream, host hostaddr.Host, logger *log.Logger) *httputil.ReverseProxy {
	address := up.address
	if up.network == "tcp" {
		address = host.Resolve(address)
	}
	var dialer net.Dialer
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetXForwarded()
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", "upstream"
			if up.uri != "" {
				pr.Out.URL.Path = up.uri + strings.TrimPrefix(pr.In.URL.Path, prefix)
				pr.Out.URL.RawPath = ""
			}
			pr.Out.Host = pr.In.Host
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, up.network, address)
			},
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		},
		ErrorLog: logger,
	}
}

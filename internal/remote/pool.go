package remote

import (
	"cmp"
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/requestctx"
)

// Config is shared by every connection of a Pool. Zero fields take defaults.
type Config struct {
	Auth              []ssh.AuthMethod // client authentication (keys, agent)
	KnownHostsFiles   []string         // used for endpoints with no pinned HostKeys
	ConnectTimeout    time.Duration    // TCP dial + SSH handshake (default 30s)
	CommandTimeout    time.Duration    // default per command when Cmd.Timeout is 0 (default 10m)
	KeepaliveInterval time.Duration    // default 15s
	KeepaliveCountMax int              // missed replies before the connection is declared lost (default 3)
	MaxSessions       int              // concurrent sessions per connection (default 8; sshd's MaxSessions is 10)
}

func (c Config) withDefaults() Config {
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, 30*time.Second)
	c.CommandTimeout = cmp.Or(c.CommandTimeout, 10*time.Minute)
	c.KeepaliveInterval = cmp.Or(c.KeepaliveInterval, 15*time.Second)
	c.KeepaliveCountMax = cmp.Or(c.KeepaliveCountMax, 3)
	c.MaxSessions = cmp.Or(c.MaxSessions, 8)
	return c
}

// Endpoint is one SSH server and the user to log in as.
type Endpoint struct {
	Address  string // IP address or DNS name (no brackets)
	Port     int
	User     string
	HostKeys []ssh.PublicKey // pinned keys; when empty, KnownHostsFiles must cover HostPort()
}

// HostPort is the "host:port" form used in errors and known_hosts lookups.
func (e Endpoint) HostPort() string {
	return net.JoinHostPort(e.Address, strconv.Itoa(e.Port))
}

// Stats counts what a Pool did, for tests and benchmarks.
type Stats struct {
	Dials    int64 // TCP connections attempted
	Commands int64 // remote commands started
}

// Pool holds one connection per endpoint for the life of a provider process.
type Pool struct {
	cfg      Config
	dials    atomic.Int64
	commands atomic.Int64

	mu     sync.Mutex
	closed bool
	conns  map[poolKey]*pendingClient
}

// poolKey identifies connections that may be shared: the same server, user
// and trust decision.
type poolKey struct {
	hostPort, user, pinned string
}

func keyOf(e Endpoint) poolKey {
	pinned := fingerprints(e.HostKeys)
	slices.Sort(pinned)
	return poolKey{hostPort: e.HostPort(), user: e.User, pinned: strings.Join(pinned, "\n")}
}

// pendingClient is one dial, shared by every caller that asks for the
// endpoint while it runs (and afterwards, while the connection lives).
type pendingClient struct {
	done   chan struct{} // closed when client or err is set
	client *Client
	err    error
}

func (pc *pendingClient) reusable() bool {
	select {
	case <-pc.done:
		return pc.err == nil && pc.client.alive()
	default:
		return true // still dialling: wait for it
	}
}

var errPoolClosed = errors.New("remote: SSH connection pool is closed")

// NewPool returns an empty pool; connections are opened on first use.
func NewPool(cfg Config) *Pool {
	return &Pool{cfg: cfg.withDefaults(), conns: map[poolKey]*pendingClient{}}
}

// Client returns the live connection for e, dialling it if there is none or
// the previous one died. Concurrent callers share one dial. The dial itself is
// bounded by ConnectTimeout, not by ctx, so that one caller giving up does not
// fail the others; ctx bounds only this caller's wait.
func (p *Pool) Client(ctx context.Context, e Endpoint) (*Client, error) {
	pc, err := p.pending(ctx, e)
	if err != nil {
		return nil, err
	}
	select {
	case <-pc.done:
		return pc.client, pc.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (p *Pool) pending(ctx context.Context, e Endpoint) (*pendingClient, error) {
	key := keyOf(e)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPoolClosed
	}
	if pc := p.conns[key]; pc != nil && pc.reusable() {
		return pc, nil
	} else if pc != nil && pc.client != nil {
		tflog.Debug(ctx, "SSH reconnecting", map[string]any{"host": key.hostPort, "cause": pc.client.cause.Error()})
	}
	pc := &pendingClient{done: make(chan struct{})}
	p.conns[key] = pc
	go p.dialInto(requestctx.Outlive(ctx), e, pc) // the connection logs with it for its lifetime
	return pc, nil
}

func (p *Pool) dialInto(ctx context.Context, e Endpoint, pc *pendingClient) {
	client, err := p.connect(ctx, e)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed && client != nil {
		client.closeWithCause(errPoolClosed)
		client, err = nil, errPoolClosed
	}
	pc.client, pc.err = client, err
	close(pc.done)
}

// Close closes every connection; commands running on them fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, pc := range conns {
		select {
		case <-pc.done:
			if pc.client != nil {
				pc.client.closeWithCause(errPoolClosed)
			}
		default: // dialInto closes it when the dial ends
		}
	}
	return nil
}

// Stats reports the pool's counters.
func (p *Pool) Stats() Stats {
	return Stats{Dials: p.dials.Load(), Commands: p.commands.Load()}
}

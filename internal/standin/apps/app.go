package apps

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
)

// App is one application that has passed every check a real one makes at
// start and holds its listener, ready to serve.
type App struct {
	cfg      Config
	db       *pgxpool.Pool
	uploads  fileStore
	listener net.Listener
	server   *http.Server
	log      *log.Logger
}

// Run starts the application cfg describes and serves until ctx is done,
// then shuts down gracefully. Requests are logged to logw.
func Run(ctx context.Context, cfg Config, logw io.Writer) error {
	app, err := OpenApp(ctx, cfg, logw)
	if err != nil {
		return err
	}
	return app.Serve(ctx)
}

// OpenApp does all that may refuse a start, in the order a real app does:
// configuration, secrets, database (schema and secrets fingerprint), state
// dir, listener. Nothing is served yet.
func OpenApp(ctx context.Context, cfg Config, logw io.Writer) (*App, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if refuse, _ := injectedFault(cfg.Kind, cfg.Version); refuse {
		return nil, fmt.Errorf("%s %s refuses to start: a fault is injected in %s", cfg.Kind, cfg.Version, FaultsFile)
	}
	secrets, err := readSecrets(cfg.Secrets)
	if err != nil {
		return nil, err
	}
	db, err := openDatabase(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	app := &App{cfg: cfg, db: db, log: newLogger(cfg.Kind, logw)}
	if err := app.open(ctx, fingerprintSecrets(secrets)); err != nil {
		db.Close()
		return nil, err
	}
	return app, nil
}

func (a *App) open(ctx context.Context, secretsFingerprint string) error {
	if err := initDatabase(ctx, a.db, a.cfg.Kind, secretsFingerprint); err != nil {
		return err
	}
	spec := kinds[a.cfg.Kind]
	storeNames := []string{"uploads"}
	if spec.mediaDir != "" {
		storeNames = append(storeNames, spec.mediaDir)
	}
	stores, err := openFileStores(a.cfg.StateDir, storeNames...)
	if err != nil {
		return err
	}
	a.uploads = stores[0]
	a.listener, err = listen(a.cfg.Listen)
	if err != nil {
		return err
	}
	a.server = newHTTPServer(a.routes(stores[1:]), a.log)
	return nil
}

func (a *App) routes(media []fileStore) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+healthPath, a.health)
	// The provider's health gate asks where the real app answers.
	if app, ok := catalogue.Lookup(a.cfg.Kind); ok && app.HealthPath != healthPath {
		mux.HandleFunc("GET "+app.HealthPath, a.health)
	}
	mux.HandleFunc("POST /api/posts", a.createPost)
	mux.HandleFunc("GET /api/posts", a.listPosts)
	mux.HandleFunc("GET /api/posts/{id}", a.getPost)
	mux.HandleFunc("POST /api/accounts", a.createAccount)
	mux.HandleFunc("GET /api/accounts", a.listAccounts)
	a.uploads.register(mux, "/api/uploads")
	for _, store := range media {
		store.register(mux, kinds[a.cfg.Kind].mediaRoute)
	}
	return logRequests(a.log, requireHost(a.cfg.Domain, mux))
}

// Addr is where the app listens (useful with port 0).
func (a *App) Addr() net.Addr { return a.listener.Addr() }

// Serve serves until ctx is done, then shuts down gracefully and closes
// the database; a nil error means a clean shutdown.
func (a *App) Serve(ctx context.Context) error {
	defer a.db.Close()
	a.log.Printf("%s %s serving %s on %s", a.cfg.Kind, a.cfg.Version, a.cfg.Domain, a.Addr())
	return serveHTTP(ctx, a.server, a.listener)
}

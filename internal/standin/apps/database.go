package apps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// connectWait bounds how long a starting app waits for PostgreSQL: at boot
// both start together, and the database may need a moment.
const connectWait = 5 * time.Second

// ErrSecretsChanged is the refusal of an app whose secrets differ from those
// its database was initialised with: what a migration target that did not
// get the source's secrets answers.
var ErrSecretsChanged = errors.New("secrets changed since this database was initialised: restore the original secrets")

func openDatabase(ctx context.Context, cfg DatabaseConfig) (*pgxpool.Pool, error) {
	poolConfig, err := pgxpool.ParseConfig("sslmode=disable")
	if err != nil {
		return nil, err
	}
	conn := poolConfig.ConnConfig
	conn.Host, conn.Port, conn.Database, conn.User = cfg.Host, uint16(cfg.Port), cfg.Name, cfg.User
	if cfg.PasswordFile != "" {
		password, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("database password: %w", err)
		}
		conn.Password = strings.TrimRight(string(password), "\r\n")
	}
	conn.ConnectTimeout = 2 * time.Second
	poolConfig.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, poolConfig)
	if err != nil {
		return nil, err
	}
	if err := pingUntil(ctx, pool, time.Now().Add(connectWait)); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database %s as %s on %s: %w", cfg.Name, cfg.User, cfg.Host, err)
	}
	return pool, nil
}

func pingUntil(ctx context.Context, pool *pgxpool.Pool, deadline time.Time) error {
	for {
		err := pool.Ping(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// metaSchema holds what the stand-in must recognise its database by.
const metaSchema = `CREATE TABLE IF NOT EXISTS standin_meta (key text PRIMARY KEY, value text NOT NULL)`

const commonSchema = `
CREATE TABLE IF NOT EXISTS posts (
	id bigserial PRIMARY KEY,
	author text NOT NULL,
	body text NOT NULL,
	created_at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS accounts (
	id bigserial PRIMARY KEY,
	name text UNIQUE NOT NULL)`

// initDatabase creates what is missing and checks that the database was
// made by this kind of app with these very secrets, all in one transaction
// so that a refused start leaves the database as it found it.
func initDatabase(ctx context.Context, pool *pgxpool.Pool, kind, secretsFingerprint string) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The lock serialises two first starts racing to record their values.
		if _, err := tx.Exec(ctx, metaSchema+"; LOCK TABLE standin_meta IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("create standin_meta: %w", err)
		}
		if err := checkMeta(ctx, tx, "kind", kind, func(had string) error {
			return fmt.Errorf("database belongs to a %s, not a %s", had, kind)
		}); err != nil {
			return err
		}
		if err := checkMeta(ctx, tx, "secrets_fingerprint", secretsFingerprint, func(string) error {
			return ErrSecretsChanged
		}); err != nil {
			return err
		}
		for _, ddl := range append([]string{commonSchema}, kinds[kind].tables...) {
			if _, err := tx.Exec(ctx, ddl); err != nil {
				return fmt.Errorf("create schema: %w", err)
			}
		}
		return nil
	})
}

// checkMeta records value under key in standin_meta on first start and
// otherwise returns mismatch(recorded) when the recorded value differs.
func checkMeta(ctx context.Context, tx pgx.Tx, key, value string, mismatch func(recorded string) error) error {
	var recorded string
	err := tx.QueryRow(ctx, "SELECT value FROM standin_meta WHERE key = $1", key).Scan(&recorded)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		_, err = tx.Exec(ctx, "INSERT INTO standin_meta (key, value) VALUES ($1, $2)", key, value)
		return err
	case err != nil:
		return fmt.Errorf("read standin_meta: %w", err)
	case recorded != value:
		return mismatch(recorded)
	}
	return nil
}

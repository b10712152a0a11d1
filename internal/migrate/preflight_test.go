package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// scriptedHost answers the commands of a preflight: secrets present unless
// listed as missing, each measured place 1000 bytes, each database 5000,
// and free bytes as set.
type scriptedHost struct {
	missing []string
	free    int64
	// databaseDown: psql cannot connect, and the database server is
	// inactive (running = false on all the runtime's applications).
	databaseDown bool
}

func (h scriptedHost) Run(_ context.Context, cmd remote.Cmd) error {
	args := cmd.Args
	switch {
	case args[0] == "test":
		if slices.Contains(h.missing, args[len(args)-1]) {
			return errors.New("exit status 1")
		}
		return nil
	case slices.Contains(args, duScript):
		_, err := io.WriteString(cmd.Stdout, strings.Repeat("1000\n", len(args)-4))
		return err
	case slices.Contains(args, freeScript):
		_, err := fmt.Fprintln(cmd.Stdout, h.free)
		return err
	case slices.Contains(args, "psql") && h.databaseDown:
		return &remote.CommandError{ExitStatus: 2, Stderr: "psql: error: connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed"}
	case slices.Contains(args, "psql"):
		_, err := io.WriteString(cmd.Stdout, "5000\n")
		return err
	case slices.Contains(args, "is-active"):
		if h.databaseDown {
			return &remote.CommandError{ExitStatus: inactiveStatus}
		}
		return nil
	}
	return fmt.Errorf("unexpected command %q", args)
}

func preflightOf(source, target scriptedHost) error {
	m := Migration{
		Operator: Operator{Name: "club", Domain: "club.example", Apps: []App{{
			Kind: "mastodon", StateDir: "/var/lib/mastodon", SecretsDir: "/var/lib/fediversity-secrets/club/mastodon",
			Secrets: []string{"secret_key_base"}, Database: Database{Name: "mastodon", Owner: "mastodon"},
		}}},
		Source: Endpoint{Host: source, Root: "/"},
		Target: Endpoint{Host: target, Root: "/var/lib/nixos-containers/club"},
	}
	return m.preflight(context.Background())
}

// RELIABILITY 20, and room at the target: preflight refuses, naming what
// is wrong, before anything changes.
func TestPreflight(t *testing.T) {
	// Four places (state, secrets, maildir, DKIM key) of 1000 bytes and a
	// database of 5000: 9000 bytes, 9900 with a tenth to spare.
	roomy, cramped := scriptedHost{free: 9900}, scriptedHost{free: 9899}
	if err := preflightOf(scriptedHost{}, roomy); err != nil {
		t.Fatalf("a sound migration was refused: %v", err)
	}
	err := preflightOf(scriptedHost{}, cramped)
	if err == nil || !strings.Contains(err.Error(), "the target has 9899 bytes free for /var/lib, and the operator's data needs 9900") {
		t.Errorf("a cramped target: %v", err)
	}
	err = preflightOf(scriptedHost{missing: []string{"/var/lib/fediversity-secrets/club/mastodon/secret_key_base"}}, roomy)
	if err == nil || !strings.Contains(err.Error(), "mastodon: secret secret_key_base is missing or empty at the source") {
		t.Errorf("a missing secret: %v", err)
	}
	err = preflightOf(scriptedHost{databaseDown: true}, roomy)
	if err == nil || !strings.Contains(err.Error(), "the source's database server (postgresql.service) does not run") ||
		!strings.Contains(err.Error(), "set running = true on one of the operator's applications at the source") {
		t.Errorf("a source whose database server is stopped: %v", err)
	}
}

package pgtest_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
)

func TestCreateDatabaseOwnedByRole(t *testing.T) {
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "notes db", "note taker")
	conn := pg.Connect(t, "notes db", "note taker")
	ctx := context.Background()
	if _, err := conn.Exec(ctx, "CREATE TABLE notes (body text)"); err != nil {
		t.Fatalf("owner cannot create a table: %v", err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO notes VALUES ($1)", "Grüße 🐘"); err != nil {
		t.Fatal(err)
	}
	var body, owner string
	if err := conn.QueryRow(ctx, "SELECT body, current_user FROM notes").Scan(&body, &owner); err != nil {
		t.Fatal(err)
	}
	if body != "Grüße 🐘" || owner != "note taker" {
		t.Fatalf("got %q as %q", body, owner)
	}
}

func TestListensOnlyOnItsSocket(t *testing.T) {
	pg := pgtest.Start(t)
	conn := pg.Connect(t, "postgres", "postgres")
	var listen, encoding, collate string
	row := conn.QueryRow(context.Background(),
		"SELECT current_setting('listen_addresses'), current_setting('server_encoding'), datcollate FROM pg_database WHERE datname = 'postgres'")
	if err := row.Scan(&listen, &encoding, &collate); err != nil {
		t.Fatal(err)
	}
	if listen != "" || encoding != "UTF8" || collate != "C" {
		t.Fatalf("listen_addresses=%q encoding=%q collate=%q, want '', UTF8, C", listen, encoding, collate)
	}
	socket := filepath.Join(pg.SocketDir, ".s.PGSQL."+strconv.Itoa(pg.Port))
	if info, err := os.Stat(socket); err != nil || info.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no socket at %s: %v", socket, err)
	}
}

func TestServersAreIndependent(t *testing.T) {
	a, b := pgtest.Start(t), pgtest.Start(t)
	if a.SocketDir == b.SocketDir {
		t.Fatal("two servers share a socket dir")
	}
	a.CreateDatabase(t, "only_in_a", "someone")
	var count int
	err := b.Connect(t, "postgres", "postgres").QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname = 'only_in_a'").Scan(&count)
	if err != nil || count != 0 {
		t.Fatalf("database of one server visible in the other: count=%d err=%v", count, err)
	}
}

func TestCleanupStopsAndRemoves(t *testing.T) {
	var dir string
	var pid int
	t.Run("server", func(t *testing.T) {
		pg := pgtest.Start(t)
		dir = pg.SocketDir
		pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
		if err != nil {
			t.Fatal(err)
		}
		pid, _ = strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s still exists after the test: %v", dir, err)
	}
	if pid <= 0 {
		t.Fatal("no postmaster pid recorded")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("postmaster %d still running after the test", pid)
	}
}

func TestStopMakesTheDatabaseVanish(t *testing.T) {
	pg := pgtest.Start(t)
	conn := pg.Connect(t, "postgres", "postgres")
	pg.Stop(t)
	if err := conn.Ping(context.Background()); err == nil {
		t.Fatal("connection still answers after Stop")
	}
	pg.Stop(t) // idempotent
}

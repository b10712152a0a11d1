package migrate_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/migrate"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

func TestCompareRowCounts(t *testing.T) {
	want := map[string]int64{"public.a": 3, "public.b": 0, `public."Odd-Name"`: 7}
	got := map[string]int64{"public.a": 2, `public."Odd-Name"`: 7, "extra.c": 1}
	diffs := migrate.CompareRowCounts(want, got)
	expected := []string{
		"table extra.c: not expected, found with 1 rows",
		"table public.a: 3 rows expected, 2 found",
		"table public.b: 0 rows expected, the table is missing",
	}
	if !slices.Equal(diffs, expected) {
		t.Errorf("differences:\n%s\nwant:\n%s", strings.Join(diffs, "\n"), strings.Join(expected, "\n"))
	}
	if diffs := migrate.CompareRowCounts(want, want); diffs != nil {
		t.Errorf("equal counts differ: %q", diffs)
	}
}

// TestCopyDatabase copies a database between two hosts, checks the copy,
// and then refuses to copy it again over itself.
func TestCopyDatabase(t *testing.T) {
	src, dst := postgresHosts(t)
	db := migrate.Database{Name: "fedi-notes", Owner: "fedi-app", SkipData: []string{"scratch"}}
	src.seed(db)
	want := map[string]int64{"public.notes": 600, `public."Odd-Name"`: 3, "extra.empty": 0, "public.scratch": 2}
	checkRowCounts(t, src.ep, db.Name, want)

	began := time.Now()
	n, err := migrate.CopyDatabase(context.Background(), src.ep, dst.ep, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("copied %d bytes in %s", n, time.Since(began))
	if n < 10000 {
		t.Errorf("%d bytes streamed: too few for the dump", n)
	}
	want["public.scratch"] = 0 // SkipData
	checkRowCounts(t, dst.ep, db.Name, want)
	if s, d := src.fingerprint(db.Name), dst.fingerprint(db.Name); s != d || !strings.HasSuffix(s, "|1599|600|notes_body,notes_pkey|a,b,ç") {
		t.Errorf("content differs or is not all there:\nsource %s\ntarget %s", s, d)
	}
	if owners := dst.sql(db.Name, ownersSQL); owners != "fedi-app|fedi-app|fedi-app|C.UTF-8|UTF8" {
		t.Errorf("at the target, owners of the database, notes, tickets, collation and encoding: %q", owners)
	}

	t.Run("a second copy is refused before anything is dumped", func(t *testing.T) {
		seen := &dbRecorder{Runner: src.ep.Host}
		recorded := src.ep
		recorded.Host = seen
		_, err := migrate.CopyDatabase(context.Background(), recorded, dst.ep, db)
		if !errors.Is(err, migrate.ErrDatabaseNotEmpty) || !strings.Contains(err.Error(), `public."Odd-Name"`) {
			t.Errorf("second copy: %v", err)
		}
		t.Log(err)
		if len(seen.commands) > 0 {
			t.Errorf("commands ran at the source: %q", seen.commands)
		}
	})
	t.Run("a missing row is reported", func(t *testing.T) {
		dst.sql(db.Name, "DELETE FROM notes WHERE id = 17;")
		got, err := migrate.RowCounts(context.Background(), dst.ep, db.Name)
		if err != nil {
			t.Fatal(err)
		}
		diffs := migrate.CompareRowCounts(want, got)
		if !slices.Equal(diffs, []string{"table public.notes: 600 rows expected, 599 found"}) {
			t.Errorf("differences: %q", diffs)
		}
	})
	t.Run("a missing database is empty", func(t *testing.T) {
		if err := migrate.CheckEmpty(context.Background(), dst.ep, "fedi-none"); err != nil {
			t.Error(err)
		}
	})
}

// TestCopyDatabaseRestoreFails restores a dump that grants to a role the
// target lacks: the restore fails at its very end, after the data.
func TestCopyDatabaseRestoreFails(t *testing.T) {
	src, dst := postgresHosts(t)
	db := migrate.Database{Name: "fedi-grants", Owner: "fedi-app"}
	src.seed(db)
	src.sql("postgres", `CREATE ROLE "fedi-reader" NOLOGIN;`)
	src.sql(db.Name, `GRANT SELECT ON notes TO "fedi-reader";`)
	before := src.fingerprint(db.Name)

	_, err := migrate.CopyDatabase(context.Background(), src.ep, dst.ep, db)
	var dbErr *migrate.DatabaseError
	if !errors.As(err, &dbErr) || dbErr.Side != migrate.Target || !strings.Contains(err.Error(), `pg_restore: error:`) ||
		!strings.Contains(err.Error(), `role "fedi-reader" does not exist`) {
		t.Fatalf("copy: %v", err)
	}
	t.Log(err)
	checkEmptyTarget(t, dst, db.Name)
	if after := src.fingerprint(db.Name); after != before {
		t.Errorf("the source changed:\nbefore %s\nafter  %s", before, after)
	}
}

// TestCopyDatabaseDumpFails cuts the dump's stream: in its middle, and
// after its last byte (a dump that fails as it ends).
func TestCopyDatabaseDumpFails(t *testing.T) {
	src, dst := postgresHosts(t)
	db := migrate.Database{Name: "fedi-cut", Owner: "fedi-app"}
	src.seed(db)
	size := src.dumpSize(db.Name)
	for _, c := range []struct {
		name  string
		after int64
	}{
		{"in the middle", size / 2},
		{"after its last byte", -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			cut := src.ep
			cut.Host = &dumpCutter{Runner: src.ep.Host, after: c.after}
			_, err := migrate.CopyDatabase(context.Background(), cut, dst.ep, db)
			var dbErr *migrate.DatabaseError
			if !errors.As(err, &dbErr) || dbErr.Side != migrate.Source || !errors.Is(err, errDumpCut) {
				t.Fatalf("copy: %v", err)
			}
			t.Log(err)
			checkEmptyTarget(t, dst, db.Name)
		})
	}
}

// TestCopyDatabaseFromContainer copies a database out of a NixOS container
// into a host's own PostgreSQL, with the locale rule of an application.
func TestCopyDatabaseFromContainer(t *testing.T) {
	src, dst := postgresHosts(t)
	ct := src.container("pgsrc")
	db := migrate.Database{Name: "fedi-ct", Owner: "fedi-ct-app", Locale: "C"}
	ct.seed(db)
	if _, err := migrate.CopyDatabase(context.Background(), ct.ep, dst.ep, db); err != nil {
		t.Fatal(err)
	}
	checkRowCounts(t, dst.ep, db.Name, map[string]int64{"public.notes": 600, `public."Odd-Name"`: 3, "extra.empty": 0, "public.scratch": 2})
	if s, d := ct.fingerprint(db.Name), dst.fingerprint(db.Name); s != d {
		t.Errorf("content differs:\nsource %s\ntarget %s", s, d)
	}
	if owners := dst.sql(db.Name, ownersSQL); owners != "fedi-ct-app|fedi-ct-app|fedi-ct-app|C|UTF8" {
		t.Errorf("at the target, owners of the database, notes, tickets, collation and encoding: %q", owners)
	}
	if out := src.sql("postgres", `SELECT count(*) FROM pg_database WHERE datname = 'fedi-ct';`); out != "0" {
		t.Errorf("the database is in the host's own PostgreSQL too: %q", out)
	}
}

func checkRowCounts(t *testing.T, e migrate.Endpoint, db string, want map[string]int64) {
	t.Helper()
	got, err := migrate.RowCounts(context.Background(), e, db)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := migrate.CompareRowCounts(want, got); diffs != nil {
		t.Errorf("row counts of %s: %q", db, diffs)
	}
}

// checkEmptyTarget checks that a failed copy left the database it created
// at the target, and nothing in it.
func checkEmptyTarget(t *testing.T, dst pgHost, db string) {
	t.Helper()
	if err := migrate.CheckEmpty(context.Background(), dst.ep, db); err != nil {
		t.Errorf("after the failed copy: %v", err)
	}
	checkRowCounts(t, dst.ep, db, map[string]int64{})
	if out := dst.sql("postgres", `SELECT count(*) FROM pg_database WHERE datname = '`+db+`';`); out != "1" {
		t.Errorf("the target database exists %s times", out)
	}
}

// pgHost is a sandbox host, or a container on one, running PostgreSQL.
type pgHost struct {
	t  *testing.T
	ep migrate.Endpoint
}

// postgresNix is the system of a sandbox host, or of a container, with
// PostgreSQL.
const postgresNix = `{ hostName }:
(import <nixpkgs/nixos> {
  configuration = {
    networking.hostName = hostName;
    system.stateVersion = "24.05";
    services.postgresql.enable = true;
  };
}).system
`

// waitPostgres waits for the ensured databases and users to be there, as
// active() says.
const waitPostgres = `
for _ in $(seq 600); do
  active && exit 0
  sleep 0.1
done
echo "postgresql-setup is not active" >&2
exit 1
`

// hostPostgres switches a host to a system with PostgreSQL, unless it runs
// one already; the system's name is the host's.
const hostPostgres = `
set -eu
cat >/root/postgres.nix
active() { [ "$(systemctl is-active postgresql-setup 2>/dev/null)" = active ]; }
if ! active; then
  system=$(nix-build --no-out-link /root/postgres.nix --argstr hostName "$(cat /etc/hostname)")
  nix-env -p /nix/var/nix/profiles/system --set "$system" >/dev/null
  "$system/bin/switch-to-configuration" switch >/dev/null
fi
` + waitPostgres

// containerPostgres creates and starts container $1 with PostgreSQL.
const containerPostgres = `
set -eu
name=$1
cat >/root/postgres.nix
system=$(nix-build --no-out-link /root/postgres.nix --argstr hostName "$name")
nixos-container create "$name" --system-path "$system" >/dev/null
nixos-container start "$name" >/dev/null
active() { [ "$(nixos-container run "$name" -- systemctl is-active postgresql-setup 2>/dev/null)" = active ]; }
` + waitPostgres

// postgresHosts gives the test the fleet's two hosts with PostgreSQL
// running, started in parallel.
func postgresHosts(t *testing.T) (src, dst pgHost) {
	f := acctest.Fleet(t)
	pool := acctest.HostPool(t, f, remote.Config{})
	hosts := make([]pgHost, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	began := time.Now()
	for i := range hosts {
		c, err := pool.Client(context.Background(), acctest.Endpoint(t, f.Hosts[i], f.Hosts[i].Address, f.Hosts[i].Port))
		if err != nil {
			t.Fatal(err)
		}
		hosts[i] = pgHost{t: t, ep: migrate.Endpoint{Host: c, Root: "/"}}
		wg.Go(func() {
			errs[i] = c.Run(context.Background(), remote.Cmd{Args: []string{"sh", "-c", hostPostgres, "sh"}, Stdin: strings.NewReader(postgresNix)})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting PostgreSQL on the hosts: %v", err)
	}
	t.Logf("PostgreSQL runs on both hosts after %s", time.Since(began))
	return hosts[0], hosts[1]
}

// container creates a container with PostgreSQL on the host, which the
// test destroys at its end.
func (h pgHost) container(name string) pgHost {
	h.t.Helper()
	began := time.Now()
	h.t.Cleanup(func() {
		h.run("nixos-container stop \"$1\"; nixos-container destroy \"$1\"", name)
	})
	h.runStdin(postgresNix, containerPostgres, name)
	h.t.Logf("container %s with PostgreSQL started in %s", name, time.Since(began))
	return pgHost{t: h.t, ep: migrate.Endpoint{Host: h.ep.Host, Root: "/var/lib/nixos-containers/" + name, Container: name}}
}

func (h pgHost) run(script string, args ...string) string {
	h.t.Helper()
	return h.runStdin("", script, args...)
}

func (h pgHost) runStdin(stdin, script string, args ...string) string {
	h.t.Helper()
	var out strings.Builder
	cmd := remote.Cmd{Args: h.ep.InRuntime(append([]string{"sh", "-c", script, "sh"}, args...)...), Stdin: strings.NewReader(stdin), Stdout: &out}
	if err := h.ep.Host.Run(context.Background(), cmd); err != nil {
		h.t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

// sql runs SQL in db as postgres; vars are psql's name=value.
func (h pgHost) sql(db, sql string, vars ...string) string {
	h.t.Helper()
	args := []string{db}
	for _, v := range vars {
		args = append(args, "-v", v)
	}
	return h.runStdin(sql, `cd / && db=$1 && shift && exec runuser -u postgres -- psql -X -q -tA -v ON_ERROR_STOP=1 -h /run/postgresql -d "$db" "$@"`, args...)
}

// seedSQL makes db owned by owner, in C.UTF-8 and UTF8 (from template0: the
// server's default may be SQL_ASCII).
const seedSQL = `
SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') AS missing \gset
\if :missing
CREATE ROLE :"owner" LOGIN;
\endif
CREATE DATABASE :"db" OWNER :"owner" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8';
`

// contentSQL creates, as the owner, tables with text in and out of ASCII,
// binary data with NUL bytes, a sequence, an index, an odd name and a
// schema of its own.
const contentSQL = `
SET ROLE :"owner";
CREATE SEQUENCE tickets START 1000;
CREATE TABLE notes (
  id serial PRIMARY KEY,
  body text NOT NULL,
  blob bytea NOT NULL,
  ticket bigint NOT NULL DEFAULT nextval('tickets')
);
CREATE INDEX notes_body ON notes (body);
INSERT INTO notes (body, blob)
SELECT 'note ' || i || ' é 🐘 ' || md5(i::text), decode(md5(i::text), 'hex') || '\x00ff00'::bytea
FROM generate_series(1, 600) i;
CREATE TABLE "Odd-Name" (k text);
INSERT INTO "Odd-Name" VALUES ('a'), ('b'), ('ç');
CREATE TABLE scratch (k text);
INSERT INTO scratch VALUES ('x'), ('y');
CREATE SCHEMA extra;
CREATE TABLE extra.empty (x int);
`

func (h pgHost) seed(db migrate.Database) {
	h.t.Helper()
	h.sql("postgres", seedSQL, "owner="+db.Owner, "db="+db.Name)
	h.sql(db.Name, contentSQL, "owner="+db.Owner)
}

// fingerprintSQL sums up the content of notes and where the sequence is.
const fingerprintSQL = `
SELECT md5(string_agg(format('%s|%s|%s|%s', id, body, encode(blob, 'hex'), ticket), E'\n' ORDER BY id)),
  (SELECT last_value FROM tickets), (SELECT last_value FROM notes_id_seq),
  (SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'notes'),
  (SELECT string_agg(k, ',' ORDER BY k) FROM "Odd-Name")
FROM notes;
`

func (h pgHost) fingerprint(db string) string {
	return h.sql(db, fingerprintSQL)
}

// ownersSQL gives the owners of the database, a table and a sequence, and
// the database's collation and encoding.
const ownersSQL = `
SELECT pg_get_userbyid(d.datdba), (SELECT tableowner FROM pg_tables WHERE tablename = 'notes'),
  (SELECT sequenceowner FROM pg_sequences WHERE sequencename = 'tickets'), d.datcollate, pg_encoding_to_char(d.encoding)
FROM pg_database d WHERE d.datname = current_database();
`

func (h pgHost) dumpSize(db string) int64 {
	h.t.Helper()
	out := h.run(`cd / && runuser -u postgres -- pg_dump -Fc -h /run/postgresql -d "$1" | wc -c`, db)
	n, err := strconv.ParseInt(out, 10, 64)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// dbRecorder records the commands that run through it.
type dbRecorder struct {
	migrate.Runner
	mu       sync.Mutex
	commands [][]string
}

func (r *dbRecorder) Run(ctx context.Context, cmd remote.Cmd) error {
	r.mu.Lock()
	r.commands = append(r.commands, cmd.Args)
	r.mu.Unlock()
	return r.Runner.Run(ctx, cmd)
}

var errDumpCut = errors.New("the dump's connection was cut")

// dumpCutter cuts the output of pg_dump after `after` bytes, as a lost
// connection does, or with after < 0 fails the dump once it has ended.
type dumpCutter struct {
	migrate.Runner
	after int64
}

func (c *dumpCutter) Run(ctx context.Context, cmd remote.Cmd) error {
	if !slices.Contains(cmd.Args, "pg_dump") {
		return c.Runner.Run(ctx, cmd)
	}
	if c.after < 0 {
		if err := c.Runner.Run(ctx, cmd); err != nil {
			return err
		}
		return errDumpCut
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cmd.Stdout = &dumpCutWriter{w: cmd.Stdout, left: c.after, cut: func() { cancel(errDumpCut) }}
	return c.Runner.Run(ctx, cmd)
}

type dumpCutWriter struct {
	w    io.Writer
	left int64
	cut  func()
}

func (c *dumpCutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) <= c.left {
		c.left -= int64(len(p))
		return c.w.Write(p)
	}
	n, _ := c.w.Write(p[:c.left])
	c.left = 0
	c.cut()
	return n, errDumpCut
}

package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Database is an application's PostgreSQL database, and the rules of its
// application for copying it.
type Database struct {
	Name string
	// Owner is the role that owns the database and its objects at the
	// source: the application's user.
	Owner string
	// Locale, when set, is the locale (LC_COLLATE and LC_CTYPE) of the
	// database created at the target instead of the source's.
	Locale string
	// SkipData are pg_dump patterns of tables whose definitions are copied
	// but not their rows; their row counts at the target are 0.
	SkipData []string
}

// ErrDatabaseNotEmpty is why a copy into a database that holds anything is
// refused: a restore never goes over data.
var ErrDatabaseNotEmpty = errors.New("the database is not empty")

// DatabaseError reports a failed database copy and the side that failed.
type DatabaseError struct {
	Database string
	Side     Side
	Step     string // what was being done
	Err      error
}

func (e *DatabaseError) Error() string {
	return fmt.Sprintf("copying database %q failed at the %s while %s: %v", e.Database, e.Side, e.Step, e.Err)
}

func (e *DatabaseError) Unwrap() error { return e.Err }

// socketDir is where NixOS's PostgreSQL listens; clients connect to it as
// the postgres user, whom peer authentication lets in.
const socketDir = "/run/postgresql"

// userTables selects every table, sequence and view the database's users
// made: the system's schemas and the members of extensions aside.
const userTables = `
SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
  AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`

// rowCountsSQL counts the rows of every table exactly, in one snapshot
// (query_to_xml runs a count per table within the one statement).
const rowCountsSQL = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
SELECT coalesce(json_object_agg(name, (xpath('/row/n/text()',
    query_to_xml(format('SELECT count(*) AS n FROM %s', name), false, true, '')))[1]::text::bigint), '{}')
FROM (` + userTables + `) t
WHERE relkind = 'r';
COMMIT;
`

// RowCounts counts the rows of every table of db (schema.table, quoted
// where SQL needs it), in one command. A partitioned table's rows count in
// its partitions only.
func RowCounts(ctx context.Context, e Endpoint, db string) (map[string]int64, error) {
	out, err := psql(ctx, e, db, rowCountsSQL)
	counts := map[string]int64{}
	if err == nil {
		err = json.Unmarshal([]byte(out), &counts)
	}
	if err != nil {
		return nil, fmt.Errorf("counting the rows of database %q: %w", db, err)
	}
	return counts, nil
}

const existsSQL = `SELECT count(*) FROM pg_database WHERE datname = :'db';`

const relationsSQL = `SELECT coalesce(json_agg(name ORDER BY name), '[]') FROM (` + userTables + `) t;`

// shownRelations bounds the names an ErrDatabaseNotEmpty error lists.
const shownRelations = 10

// CheckEmpty fails with ErrDatabaseNotEmpty, naming what it found, when db
// has any table, sequence or view, empty or not: a restore would collide
// with them. A missing database is empty.
func CheckEmpty(ctx context.Context, e Endpoint, db string) error {
	out, err := psql(ctx, e, "postgres", existsSQL, "db="+db)
	if err != nil {
		return fmt.Errorf("looking for database %q: %w", db, err)
	}
	if out == "0" {
		return nil
	}
	out, err = psql(ctx, e, db, relationsSQL)
	var found []string
	if err == nil {
		err = json.Unmarshal([]byte(out), &found)
	}
	if err != nil {
		return fmt.Errorf("listing the tables of database %q: %w", db, err)
	}
	if len(found) == 0 {
		return nil
	}
	shown := strings.Join(found[:min(len(found), shownRelations)], ", ")
	if len(found) > shownRelations {
		shown += fmt.Sprintf(" and %d more", len(found)-shownRelations)
	}
	return fmt.Errorf("%w: %q has %s", ErrDatabaseNotEmpty, db, shown)
}

// CopyDatabase streams a `pg_dump -Fc` of db at src into `pg_restore
// --exit-on-error --single-transaction` at dst, through this process, and
// returns the bytes streamed. It refuses with ErrDatabaseNotEmpty before
// anything is dumped unless dst's database is empty, and creates there the
// owner role (NOLOGIN) and the database owned by it when they are missing,
// so that the restored objects keep their owner. A failure on either side
// leaves dst's database empty: the restore is one transaction, and it never
// gets the whole of a dump that failed (see heldWriter).
func CopyDatabase(ctx context.Context, src, dst Endpoint, db Database) (int64, error) {
	fail := func(side Side, step string, err error) (int64, error) {
		return 0, &DatabaseError{Database: db.Name, Side: side, Step: step, Err: err}
	}
	if db.Name == "" || db.Owner == "" {
		return 0, errors.New("a database copy needs the database's name and owner")
	}
	if err := CheckEmpty(ctx, dst, db.Name); err != nil {
		return fail(Target, "checking that the database is empty", err)
	}
	settings, err := databaseSettings(ctx, src, db.Name)
	if err != nil {
		return fail(Source, "reading the database's settings", err)
	}
	if db.Locale != "" {
		settings.Collate, settings.Ctype = db.Locale, db.Locale
	}
	if err := createDatabase(ctx, dst, db, settings); err != nil {
		return fail(Target, "creating the owner and the database", err)
	}
	started := time.Now()
	n, dumpErr, restoreErr := stream(ctx, holdLastByte{src.Host}, dumpCommand(src, db), dst.Host, restoreCommand(dst, db.Name))
	switch {
	case dumpErr != nil:
		return fail(Source, "dumping", dumpErr)
	case restoreErr != nil:
		return fail(Target, "restoring", restoreErr)
	}
	tflog.Info(ctx, "copied a database", map[string]any{"database": db.Name, "bytes": n, "duration": time.Since(started).String()})
	return n, nil
}

// dbSettings is what a database is created with.
type dbSettings struct {
	Encoding string `json:"encoding"`
	Collate  string `json:"collate"`
	Ctype    string `json:"ctype"`
}

const settingsSQL = `SELECT json_build_object('encoding', pg_encoding_to_char(encoding), 'collate', datcollate, 'ctype', datctype)
FROM pg_database WHERE datname = :'db';`

func databaseSettings(ctx context.Context, e Endpoint, db string) (dbSettings, error) {
	var s dbSettings
	out, err := psql(ctx, e, "postgres", settingsSQL, "db="+db)
	switch {
	case err != nil:
		return s, err
	case out == "":
		return s, fmt.Errorf("there is no database %q", db)
	}
	return s, json.Unmarshal([]byte(out), &s)
}

// createSQL creates the owner role and the database when missing; a new
// database comes from template0, so that it is empty whatever template1
// holds.
const createSQL = `SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') AS missing \gset
\if :missing
CREATE ROLE :"owner" NOLOGIN;
\endif
SELECT NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') AS missing \gset
\if :missing
CREATE DATABASE :"db" OWNER :"owner" TEMPLATE template0 ENCODING :'encoding' LC_COLLATE :'collate' LC_CTYPE :'ctype';
\endif
`

func createDatabase(ctx context.Context, e Endpoint, db Database, s dbSettings) error {
	_, err := psql(ctx, e, "postgres", createSQL,
		"owner="+db.Owner, "db="+db.Name, "encoding="+s.Encoding, "collate="+s.Collate, "ctype="+s.Ctype)
	return err
}

// clientScript runs a PostgreSQL client program ($2) as the postgres user
// on database $1 (a connection string) with the remaining arguments; the
// postgres user may not enter root's home, where the session starts.
const clientScript = `cd / && conn=$1 program=$2 && shift 2 && exec runuser -u postgres -- "$program" -d "$conn" "$@"`

func clientCommand(e Endpoint, db, program string, args ...string) []string {
	return e.InRuntime(append([]string{"sh", "-c", clientScript, "sh", conninfo(db), program}, args...)...)
}

// conninfo is a connection string for db on the local socket; given to -d,
// a plain name containing "=" would be taken for one.
func conninfo(db string) string {
	quoted := strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db)
	return "host=" + socketDir + " dbname='" + quoted + "'"
}

// psql runs sql in db at e and returns its unaligned output, trimmed. The
// SQL goes on stdin, where psql interpolates vars (name=value) given as
// :'name' (a literal) and :"name" (an identifier).
func psql(ctx context.Context, e Endpoint, db, sql string, vars ...string) (string, error) {
	args := []string{"-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1"}
	for _, v := range vars {
		args = append(args, "-v", v)
	}
	var out strings.Builder
	err := e.Host.Run(ctx, remote.Cmd{Args: clientCommand(e, db, "psql", args...), Stdin: strings.NewReader(sql), Stdout: &out})
	return strings.TrimSpace(out.String()), err
}

func dumpCommand(e Endpoint, db Database) []string {
	args := []string{"-Fc"}
	for _, pattern := range db.SkipData {
		args = append(args, "--exclude-table-data="+pattern)
	}
	return clientCommand(e, db.Name, "pg_dump", args...)
}

func restoreCommand(e Endpoint, db string) []string {
	return clientCommand(e, db, "pg_restore", "--exit-on-error", "--single-transaction")
}

// holdLastByte runs a command whose output's last byte is written only
// once the command succeeded.
type holdLastByte struct{ Runner }

func (h holdLastByte) Run(ctx context.Context, cmd remote.Cmd) error {
	held := &heldWriter{w: cmd.Stdout}
	cmd.Stdout = held
	if err := h.Runner.Run(ctx, cmd); err != nil {
		return err
	}
	return held.release()
}

// heldWriter passes a stream on but for its last byte, which release
// writes: a restore fed by a dump that failed, even after its last byte,
// never sees the whole archive, so it fails rather than commit.
type heldWriter struct {
	w    io.Writer
	last []byte // the byte held back, if any
}

func (h *heldWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := h.pass(h.last); err != nil {
		return 0, err
	}
	if err := h.pass(p[:len(p)-1]); err != nil {
		return 0, err
	}
	h.last = append(h.last[:0], p[len(p)-1])
	return len(p), nil
}

func (h *heldWriter) release() error {
	err := h.pass(h.last)
	h.last = nil
	return err
}

func (h *heldWriter) pass(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_, err := h.w.Write(p)
	return err
}

// CompareRowCounts lists how got differs from want, table by table in
// order: a table missing, one not expected, a different count.
func CompareRowCounts(want, got map[string]int64) []string {
	tables := slices.Sorted(maps.Keys(want))
	for t := range got {
		if _, ok := want[t]; !ok {
			tables = append(tables, t)
		}
	}
	slices.Sort(tables)
	var diffs []string
	for _, t := range tables {
		w, inWant := want[t]
		g, inGot := got[t]
		switch {
		case !inGot:
			diffs = append(diffs, fmt.Sprintf("table %s: %d rows expected, the table is missing", t, w))
		case !inWant:
			diffs = append(diffs, fmt.Sprintf("table %s: not expected, found with %d rows", t, g))
		case w != g:
			diffs = append(diffs, fmt.Sprintf("table %s: %d rows expected, %d found", t, w, g))
		}
	}
	return diffs
}

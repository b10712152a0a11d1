package migrate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Size is how much of one thing a migration will move.
type Size struct {
	What  string // a directory in the runtime, or "database NAME"
	Bytes int64
}

// Sizes estimates what the migration will move, from the source as it is
// now, so that the operator's downtime can be announced before it starts:
// every directory (one du on the source) and every database.
func (m Migration) Sizes(ctx context.Context) ([]Size, error) {
	dirs := m.trees()
	keyDir, key := m.dkimKey()
	dirs = append(dirs, keyDir+"/"+key)
	args := []string{"sh", "-c", duScript, "sh"}
	for _, dir := range dirs {
		args = append(args, m.Source.HostPath(dir))
	}
	var out strings.Builder
	if err := m.Source.Host.Run(ctx, remote.Cmd{Args: args, Stdout: &out}); err != nil {
		return nil, fmt.Errorf("measuring the operator's files at the source: %w", err)
	}
	bytes := strings.Fields(out.String())
	if len(bytes) != len(dirs) {
		return nil, fmt.Errorf("measuring the operator's files at the source: %d sizes for %d places", len(bytes), len(dirs))
	}
	var sizes []Size
	for i, dir := range dirs {
		n, err := strconv.ParseInt(bytes[i], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("measuring %s at the source: %q", dir, bytes[i])
		}
		sizes = append(sizes, Size{What: dir, Bytes: n})
	}
	for _, app := range m.Operator.Apps {
		n, err := databaseSize(ctx, m.Source, app.Database.Name)
		if err != nil {
			return nil, explainSourceDatabase(ctx, m.Source, err)
		}
		sizes = append(sizes, Size{What: "database " + app.Database.Name, Bytes: n})
	}
	return sizes, nil
}

// duScript prints the apparent size in bytes of each path in its
// arguments, 0 for one that does not exist.
const duScript = `for p in "$@"; do if [ -e "$p" ]; then du -sb -- "$p" | cut -f 1; else echo 0; fi; done`

// databaseSize is the size on disk of a database, 0 when there is none.
func databaseSize(ctx context.Context, e Endpoint, db string) (int64, error) {
	out, err := psql(ctx, e, "postgres", `SELECT coalesce(sum(pg_database_size(datname)), 0) FROM pg_database WHERE datname = :'db';`, "db="+db)
	if err != nil {
		return 0, fmt.Errorf("measuring database %q at the source: %w", db, err)
	}
	return strconv.ParseInt(out, 10, 64)
}

// databaseService is the runtime's database server.
const databaseService = "postgresql.service"

// inactiveStatus is what `systemctl is-active` exits with for a unit that
// does not run.
const inactiveStatus = 3

// explainSourceDatabase turns a failure to read the source's databases into
// what to do about it when the reason is that its database server does not
// run: a runtime whose applications are all stopped runs none, and the
// migration, which reads it, must not start what the operator stopped.
// Any other failure is returned as it is.
func explainSourceDatabase(ctx context.Context, source Endpoint, err error) error {
	check := source.Host.Run(ctx, remote.Cmd{Args: source.InRuntime("systemctl", "is-active", "--quiet", databaseService)})
	var inactive *remote.CommandError
	if !errors.As(check, &inactive) || inactive.ExitStatus != inactiveStatus {
		return err
	}
	return fmt.Errorf("the source's database server (%s) does not run, so its databases cannot be read. "+
		"A runtime whose applications all have running = false runs none: start it at the source (systemctl start %s, "+
		"in the operator's container if it has one), or set running = true on one of the operator's applications at the "+
		"source and apply there; then migrate", databaseService, databaseService)
}

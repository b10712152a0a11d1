package migrate

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// App is one application of the operator, as both runtimes lay it out.
type App struct {
	Kind       string
	Service    string   // the unit stopped at the source
	StateDir   string   // inside the runtime
	SecretsDir string   // inside the runtime
	Secrets    []string // files in SecretsDir it cannot live without
	Database   Database
}

// Operator is what a migration moves: the operator's applications and
// its mail.
type Operator struct {
	Name, Domain string
	Apps         []App
}

// Where mail lives in a runtime (NixOS's services.maddy).
const (
	maildirRoot = "/var/lib/maddy/maildir"
	dkimKeys    = "/var/lib/maddy/dkim_keys"
	mailService = "maddy"
)

// Migration moves one operator from a source runtime to a target runtime.
type Migration struct {
	Operator       Operator
	Source, Target Endpoint
	SourceName     string // the source's host and runtime, for the journal and errors
	// Deploy brings the operator and its applications onto the target
	// runtime, their services held back or not, gated on health when not.
	Deploy func(ctx context.Context, heldBack bool) error
	// StopSourceMail stops the source's mail server with its apps: right
	// for a container, which serves this operator alone. A host's mail
	// server serves other operators and stays up; mail delivered to it
	// after the copy is compared, and refused, at finalize.
	StopSourceMail bool
}

// Run carries out every phase not yet in the target's journal, in order,
// and returns the journal. Nothing at the source changes but its apps
// being stopped (from PhaseStopSource on); an error leaves the journal at
// the last phase complete.
func (m Migration) Run(ctx context.Context) (Journal, error) {
	j, err := ReadJournal(ctx, m.Target.Host, m.Operator.Name)
	if err != nil {
		return j, err
	}
	j.Source = m.SourceName
	steps := map[string]func(context.Context, *Journal) error{
		PhasePreflight:  func(ctx context.Context, _ *Journal) error { return m.preflight(ctx) },
		PhaseDeployHeld: func(ctx context.Context, _ *Journal) error { return m.deployHeld(ctx) },
		PhaseStopSource: func(ctx context.Context, _ *Journal) error { return m.stopSource(ctx) },
		PhaseCopy:       m.copyAll,
		PhaseVerify:     m.verify,
		PhaseStart:      func(ctx context.Context, _ *Journal) error { return m.Deploy(ctx, false) },
	}
	for _, phase := range Phases {
		if j.Has(phase) {
			continue
		}
		tflog.Info(ctx, "migration phase", map[string]any{"operator": m.Operator.Name, "phase": phase})
		if err := steps[phase](ctx, &j); err != nil {
			return j, &PhaseError{Phase: phase, Err: err}
		}
		if err := j.complete(ctx, m.Target.Host, phase); err != nil {
			return j, err
		}
	}
	return j, nil
}

// PhaseError says in which phase a migration stopped.
type PhaseError struct {
	Phase string
	Err   error
}

func (e *PhaseError) Error() string {
	return fmt.Sprintf("migration phase %q failed: %v", e.Phase, e.Err)
}

func (e *PhaseError) Unwrap() error { return e.Err }

// preflight checks both sides before anything changes: every secret the
// apps cannot live without is at the source, and the target has room for
// all the operator's data.
func (m Migration) preflight(ctx context.Context) error {
	var problems []string
	for _, app := range m.Operator.Apps {
		for _, name := range app.Secrets {
			file := m.Source.HostPath(path.Join(app.SecretsDir, name))
			if err := m.Source.Host.Run(ctx, remote.Cmd{Args: []string{"test", "-s", file}}); err != nil {
				problems = append(problems, fmt.Sprintf("%s: secret %s is missing or empty at the source (%s); without it the app loses its sessions or encrypted data", app.Kind, name, file))
			}
		}
	}
	if err := m.checkRoom(ctx); err != nil {
		problems = append(problems, err.Error())
	}
	return refusal(problems)
}

// dataDir is where the runtime keeps its data, the target's room for it.
const dataDir = "/var/lib"

// checkRoom refuses a target with less free space where the runtime keeps
// its data than the operator's data takes at the source, and a tenth more.
func (m Migration) checkRoom(ctx context.Context) error {
	sizes, err := m.Sizes(ctx)
	if err != nil {
		return err
	}
	var need int64
	for _, s := range sizes {
		need += s.Bytes
	}
	need += need / 10
	var out strings.Builder
	err = m.Target.Host.Run(ctx, remote.Cmd{Args: []string{"sh", "-c", freeScript, "sh", m.Target.HostPath(dataDir)}, Stdout: &out})
	if err != nil {
		return fmt.Errorf("measuring the free space at the target: %w", err)
	}
	free, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		return fmt.Errorf("measuring the free space at the target: %q", out.String())
	}
	if free < need {
		return fmt.Errorf("the target has %d bytes free for %s, and the operator's data needs %d (what it takes at the source and a tenth more)", free, dataDir, need)
	}
	return nil
}

// freeScript prints the bytes free on the file system of the first of its
// arguments' ancestors that exists (a new container's /var/lib may not).
const freeScript = `p=$1; while [ ! -e "$p" ]; do p=$(dirname "$p"); done; df -B1 --output=avail "$p" | tail -n 1`

// deployHeld deploys the operator on the target with its apps held back,
// then checks that no database there holds data: the source still runs,
// untouched, when this refuses.
func (m Migration) deployHeld(ctx context.Context) error {
	if err := m.Deploy(ctx, true); err != nil {
		return err
	}
	var problems []string
	for _, app := range m.Operator.Apps {
		if err := CheckEmpty(ctx, m.Target, app.Database.Name); err != nil {
			problems = append(problems, fmt.Sprintf("%s at the target: %v", app.Kind, err))
		}
	}
	return refusal(problems)
}

// refusal is an error listing problems found before the source changed.
func refusal(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("the source was not changed:\n  %s", strings.Join(problems, "\n  "))
}

// stopSource stops the source's services of the operator; starting them
// again (systemctl start, or an apply of the old configuration) undoes it.
func (m Migration) stopSource(ctx context.Context) error {
	units := m.sourceUnits()
	err := m.Source.Host.Run(ctx, remote.Cmd{Args: m.Source.InRuntime(append([]string{"systemctl", "stop"}, units...)...)})
	if err != nil {
		return fmt.Errorf("stopping %s at the source: %w", strings.Join(units, ", "), err)
	}
	return nil
}

func (m Migration) sourceUnits() []string {
	var units []string
	for _, app := range m.Operator.Apps {
		units = append(units, app.Service)
	}
	if m.StopSourceMail {
		units = append(units, mailService)
	}
	return units
}

// trees are the directories a migration copies, inside the runtime; an
// application may never have written some of them.
func (m Migration) trees() []string {
	var dirs []string
	for _, app := range m.Operator.Apps {
		dirs = append(dirs, app.StateDir, app.SecretsDir)
	}
	return append(dirs, path.Join(maildirRoot, m.Operator.Domain))
}

// dkimKey is the operator's DKIM private key: one file in a directory that
// holds every operator's of the runtime.
func (m Migration) dkimKey() (dir, name string) {
	return dkimKeys, m.Operator.Domain + "_default.key"
}

// copyAll streams every directory, the DKIM key and every database to the
// target. Copying again over a partial copy ends identical; a database
// restored in full before a kill is recognised by its row counts and not
// restored again.
func (m Migration) copyAll(ctx context.Context, _ *Journal) error {
	for _, dir := range m.trees() {
		if _, err := CopyOptionalTree(ctx, m.Source, dir, m.Target, dir); err != nil {
			return err
		}
	}
	if err := m.copyDKIMKey(ctx); err != nil {
		return err
	}
	for _, app := range m.Operator.Apps {
		if err := m.copyDatabase(ctx, app.Database); err != nil {
			return err
		}
	}
	return nil
}

func (m Migration) copyDatabase(ctx context.Context, db Database) error {
	if err := CheckEmpty(ctx, m.Target, db.Name); err != nil {
		if !errors.Is(err, ErrDatabaseNotEmpty) {
			return err
		}
		same, cmpErr := m.sameRows(ctx, db)
		if cmpErr != nil || !same {
			return errors.Join(err, cmpErr)
		}
		return nil // restored before the migration was interrupted
	}
	_, err := CopyDatabase(ctx, m.Source, m.Target, db)
	return err
}

func (m Migration) sameRows(ctx context.Context, db Database) (bool, error) {
	want, err := RowCounts(ctx, m.Source, db.Name)
	if err != nil {
		return false, err
	}
	got, err := RowCounts(ctx, m.Target, db.Name)
	if err != nil {
		return false, err
	}
	return len(CompareRowCounts(db.expected(want), got)) == 0, nil
}

// expected is what the row counts of a copy of the source must be: those
// of the source, but none in a table whose rows an application's rule
// leaves behind (Synapse's one-time keys, which clients upload again).
func (db Database) expected(source map[string]int64) map[string]int64 {
	want := make(map[string]int64, len(source))
	for table, n := range source {
		if db.skipsData(table) {
			n = 0
		}
		want[table] = n
	}
	return want
}

// skipsData says whether table ("schema.name", as RowCounts names it) is
// one of SkipData's, which name tables unqualified.
func (db Database) skipsData(table string) bool {
	for _, name := range db.SkipData {
		if table == name || strings.HasSuffix(table, "."+name) {
			return true
		}
	}
	return false
}

// verify takes the source's manifests (its apps are stopped: they no
// longer change) and compares the target's with them.
func (m Migration) verify(ctx context.Context, j *Journal) error {
	source, err := m.manifests(ctx, m.Source)
	if err != nil {
		return fmt.Errorf("at the source: %w", err)
	}
	target, err := m.manifests(ctx, m.Target)
	if err != nil {
		return fmt.Errorf("at the target: %w", err)
	}
	if diffs := m.expected(source).differences(target); len(diffs) > 0 {
		return fmt.Errorf("the target differs from the source; nothing was started:\n  %s", strings.Join(diffs, "\n  "))
	}
	j.Trees, j.Rows = source.Trees, source.Rows // as they are: finalize compares the source with itself
	return nil
}

// expected is what the target must hold after copying source.
func (m Migration) expected(source snapshot) snapshot {
	want := snapshot{Trees: source.Trees, Rows: map[string]map[string]int64{}}
	for _, app := range m.Operator.Apps {
		want.Rows[app.Database.Name] = app.Database.expected(source.Rows[app.Database.Name])
	}
	return want
}

// snapshot is every manifest of one side.
type snapshot struct {
	Trees map[string]Manifest
	Rows  map[string]map[string]int64
}

func (m Migration) manifests(ctx context.Context, e Endpoint) (snapshot, error) {
	s := snapshot{Trees: map[string]Manifest{}, Rows: map[string]map[string]int64{}}
	for _, dir := range m.trees() {
		manifest, err := optionalManifest(ctx, e, dir)
		if err != nil {
			return s, err
		}
		s.Trees[dir] = manifest
	}
	dir, name := m.dkimKey()
	keys, err := TreeManifest(ctx, e, dir)
	if err != nil {
		return s, err
	}
	s.Trees[path.Join(dir, name)] = keys.only(name)
	for _, app := range m.Operator.Apps {
		rows, err := RowCounts(ctx, e, app.Database.Name)
		if err != nil {
			return s, err
		}
		s.Rows[app.Database.Name] = rows
	}
	return s, nil
}

// differences lists what differs between two snapshots, by place.
func (want snapshot) differences(got snapshot) []string {
	var diffs []string
	for dir, manifest := range want.Trees {
		for _, d := range Compare(manifest, got.Trees[dir]) {
			diffs = append(diffs, fmt.Sprintf("%s: %s", dir, d))
		}
	}
	for db, rows := range want.Rows {
		for _, d := range CompareRowCounts(rows, got.Rows[db]) {
			diffs = append(diffs, fmt.Sprintf("database %s: %s", db, d))
		}
	}
	return diffs
}

// Finalize deletes the operator's data at the source: only once the target
// runs on verified data, and only if a last comparison shows the source
// unchanged since it was copied (mail delivered to a shared mail server
// meanwhile, say), so that nothing is lost.
func (m Migration) Finalize(ctx context.Context) error {
	j, err := ReadJournal(ctx, m.Target.Host, m.Operator.Name)
	if err != nil || j.Has(PhaseFinalize) {
		return err
	}
	if !j.Has(PhaseStart) {
		return fmt.Errorf("%w (last phase done: %q); finalize deletes the source's data only after that", ErrNotVerified, j.Phase())
	}
	now, err := m.manifests(ctx, m.Source)
	if err != nil {
		return fmt.Errorf("the last comparison with the source: %w", err)
	}
	if diffs := (snapshot{Trees: j.Trees, Rows: j.Rows}).differences(now); len(diffs) > 0 {
		return fmt.Errorf("the source changed since it was copied, so deleting it would lose data; nothing was deleted (start the apps at the source again and migrate anew, or copy what differs by hand):\n  %s", strings.Join(diffs, "\n  "))
	}
	if err := m.deleteSource(ctx); err != nil {
		return err
	}
	return j.complete(ctx, m.Target.Host, PhaseFinalize)
}

// deleteSource removes the operator's directories and databases at the
// source.
func (m Migration) deleteSource(ctx context.Context) error {
	var dirs, dbs []string
	for _, dir := range m.trees() {
		dirs = append(dirs, m.Source.HostPath(dir))
	}
	keyDir, key := m.dkimKey()
	dirs = append(dirs, m.Source.HostPath(path.Join(keyDir, key)))
	if err := m.Source.Host.Run(ctx, remote.Cmd{Args: append([]string{"rm", "-rf", "--"}, dirs...)}); err != nil {
		return fmt.Errorf("deleting the operator's files at the source: %w", err)
	}
	for _, app := range m.Operator.Apps {
		dbs = append(dbs, app.Database.Name)
	}
	err := m.Source.Host.Run(ctx, remote.Cmd{Args: m.Source.InRuntime(append([]string{"sh", "-c", dropDatabasesScript, "sh"}, dbs...)...)})
	if err != nil {
		return fmt.Errorf("dropping the operator's databases at the source: %w", err)
	}
	return nil
}

// dropDatabasesScript drops each database named in its arguments.
const dropDatabasesScript = `
set -eu
for db in "$@"; do runuser -u postgres -- dropdb --if-exists -- "$db"; done
`

// copyDKIMKey copies the operator's DKIM key alone, as its runtime's
// maddy user owns it.
func (m Migration) copyDKIMKey(ctx context.Context) error {
	dir, name := m.dkimKey()
	src, dst := tree{m.Source, dir}, tree{m.Target, dir}
	archive := src.command(`exec tar -C "$1" -cf - "$2"`, src.hostPath(), name)
	extract := dst.command(`mkdir -p "$1" && exec tar -C "$1" --same-owner --same-permissions -xf -`, dst.hostPath())
	_, srcErr, dstErr := stream(ctx, m.Source.Host, archive, m.Target.Host, extract)
	if srcErr != nil {
		return &CopyError{From: path.Join(dir, name), To: path.Join(dir, name), Side: Source, Step: "archiving", Err: srcErr}
	}
	if dstErr != nil {
		return &CopyError{From: path.Join(dir, name), To: path.Join(dir, name), Side: Target, Step: "extracting", Err: dstErr}
	}
	return nil
}

// optionalManifest is a tree's manifest, empty when it has no directory.
func optionalManifest(ctx context.Context, e Endpoint, dir string) (Manifest, error) {
	m, err := TreeManifest(ctx, e, dir)
	var none *NoDirError
	if errors.As(err, &none) {
		return Manifest{}, nil
	}
	return m, err
}

// only is the manifest of one entry of a tree.
func (m Manifest) only(name string) Manifest {
	var kept Manifest
	for _, e := range m.Entries {
		if string(e.Path) == name {
			kept.Entries = append(kept.Entries, e)
		}
	}
	return kept
}

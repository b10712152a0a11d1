package panel_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/panel"
	"github.com/fediversity/terraform-provider-fediversity/internal/pgtest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

func TestMain(m *testing.M) {
	acctest.Main(m, 2)
}

// mirrorVersion is the version the test installs the provider as.
const mirrorVersion = "0.1.0+dev"

// A panel's backend applies ten operators at once, each in its own
// workspace of the pg backend with providers from one read-only mirror:
// all succeed, each application answers, and the outputs give the URLs;
// neither the mirror nor the configuration is written. A second apply of
// an operator whose apply runs fails on the state lock and changes
// nothing. Variables that fail validation come back as a diagnostic that
// names the variable. An apply that meets the backend's lock for all
// workspaces is run again. Everything is destroyed, each workspace deleted.
func TestAccPanel(t *testing.T) {
	f := acctest.Fleet(t)
	tofu := acctest.Tofu(t)
	pg := pgtest.Start(t)
	pg.CreateDatabase(t, "panel", "panel")
	mirror := installMirror(t)
	config := copyConfig(t)
	p := &panel.Panel{
		Tofu:      tofu,
		Config:    filepath.Join(config, "examples", "panel"),
		WorkDir:   t.TempDir(),
		CLIConfig: filepath.Join(mirror, "cli.tfrc"),
		Env: []string{
			"PG_CONN_STR=" + pg.DSN("panel", "panel"),
			"FEDIVERSITY_SSH_PRIVATE_KEY_FILE=" + f.ClientKeyPath,
		},
	}
	ctx := context.Background()
	untouched := []tree{snapshot(t, mirror)}
	if err := p.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	makeReadOnly(t, config)
	untouched = append(untouched, snapshot(t, config))
	start := time.Now()

	var operators []string
	for i := 1; i <= 10; i++ {
		operators = append(operators, fmt.Sprintf("op%d", i))
	}
	t.Cleanup(func() { destroyAll(t, p, pg, append(operators, "bad")) })

	// Ten operators at once, alternately on the two hosts. While each
	// applies, its run's data directory links the provider in the mirror.
	outputs := make([]panel.Outputs, len(operators))
	errs := make([]error, len(operators))
	links := map[string]string{}
	var mu sync.Mutex
	ten := *p
	ten.Progress = func(op string, m panel.Message) {
		mu.Lock()
		defer mu.Unlock()
		if _, seen := links[op]; !seen && m.Type == "apply_start" {
			links[op] = providerLink(p.WorkDir, op)
		}
	}
	var wg sync.WaitGroup
	for i, op := range operators {
		wg.Go(func() { outputs[i], errs[i] = ten.Apply(ctx, op, operatorVars(f, i, "mastodon")) })
	}
	wg.Wait()
	t.Logf("ten concurrent applies took %s", time.Since(start).Round(time.Millisecond))
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for i, op := range operators {
		if err := expectApps(outputs[i], op, "mastodon"); err != nil {
			t.Error(err)
		}
	}
	if got := workspaces(t, pg); !slices.Equal(got, sortedCopy(operators)) {
		t.Errorf("the pg backend holds workspaces %v, want %v", got, sortedCopy(operators))
	}
	for _, dirs := range untouched {
		if err := dirs.check(t); err != nil {
			t.Errorf("the runs wrote into the mirror or the configuration: %v", err)
		}
	}
	for _, op := range operators {
		if !strings.HasPrefix(links[op], filepath.Join(mirror, "providers")+string(filepath.Separator)) {
			t.Errorf("%s's run did not link the provider from the mirror: %s", op, links[op])
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("second apply of a workspace being applied", func(t *testing.T) {
		testLockedWorkspace(t, f, pg, p)
	})
	t.Run("invalid variables", func(t *testing.T) {
		testInvalidVariables(t, f, p)
	})
	t.Run("apply while the lock for all workspaces is held", func(t *testing.T) {
		testBackendLock(t, f, pg, p)
	})
}

// testLockedWorkspace starts an apply adding Matrix and PeerTube to op1
// and, while it holds op1's lock, an apply adding Pixelfed: that one fails
// on the lock, writes no state and deploys nothing; the first succeeds.
func testLockedWorkspace(t *testing.T, f *sandbox.Fleet, pg *pgtest.Server, p *panel.Panel) {
	ctx := context.Background()
	logStateWrites(t, pg)
	serialBefore := serial(t, pg, "op1")

	first := *p
	locked := make(chan struct{})
	var once sync.Once
	first.Progress = func(_ string, m panel.Message) {
		// The run locks the workspace before it refreshes or plans anything.
		switch m.Type {
		case "refresh_start", "planned_change", "apply_start":
			once.Do(func() { close(locked) })
		}
	}
	var firstErr error
	var firstDone time.Time
	firstStart := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, firstErr = first.Apply(ctx, "op1", operatorVars(f, 0, "mastodon", "matrix", "peertube"))
		firstDone = time.Now()
	}()
	select {
	case <-locked:
	case <-done:
		t.Fatalf("the first apply ended before it locked its workspace: %v", firstErr)
	}

	second := *p
	// One attempt, not the default 5 s of them: however quick the first
	// apply, the second must meet its lock.
	second.LockTimeout = time.Millisecond
	// Its writes to the state table, if any, are known by this name.
	second.Env = append(slices.Clone(p.Env), "PG_CONN_STR="+pg.DSN("panel", "panel")+" application_name=second-apply")
	var secondMessages []panel.Message
	second.Progress = func(_ string, m panel.Message) { secondMessages = append(secondMessages, m) }
	secondStart := time.Now()
	_, err := second.Apply(ctx, "op1", operatorVars(f, 0, "mastodon", "pixelfed"))
	secondDone := time.Now()
	<-done

	var e *panel.Error
	if !errors.Is(err, panel.ErrStateLocked) || !errors.As(err, &e) {
		t.Fatalf("the second apply did not fail on the state lock: %v", err)
	}
	t.Logf("the second apply failed after %s with:\n%s", secondDone.Sub(secondStart).Round(time.Millisecond), diagnosticJSON(t, e.Diagnostics[0]))
	if d := e.Diagnostics[0]; d.Summary != "Error acquiring the state lock" || !strings.Contains(d.Detail, "Workspace is already locked: op1") {
		t.Errorf("the second apply's diagnostic does not say that op1 is locked: %+v", d)
	}
	for _, m := range secondMessages {
		if m.Type == "planned_change" || m.Type == "apply_start" {
			t.Errorf("the second apply planned or applied something: %s", m.Text)
		}
	}
	if firstErr != nil {
		t.Fatalf("the first apply failed: %v", firstErr)
	}
	if !firstDone.After(secondDone) {
		t.Errorf("the first apply ended (%s) before the second failed (%s): they did not overlap", firstDone.Format(time.StampMilli), secondDone.Format(time.StampMilli))
	}
	t.Logf("the first apply took %s and went on for %s after the second failed",
		firstDone.Sub(firstStart).Round(time.Millisecond), firstDone.Sub(secondDone).Round(time.Millisecond))

	outputs, err := p.Outputs(ctx, "op1")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := json.Marshal(map[string]panel.Output{"address": outputs["address"], "urls": outputs["urls"]}); err == nil {
		t.Logf("op1's outputs include %s", out)
	}
	if err := expectApps(outputs, "op1", "mastodon", "matrix", "peertube"); err != nil {
		t.Error(err)
	}
	var address string
	if err := outputs.Decode("address", &address); err != nil {
		t.Fatal(err)
	}
	if health, err := acctest.AskApp(address, "pixelfed.op1.example"); err == nil {
		t.Errorf("Pixelfed, which only the refused apply asked for, answers: %+v", health)
	}
	if vars, err := os.ReadFile(filepath.Join(p.WorkDir, "op1", "op1.tfvars.json")); err != nil || !strings.Contains(string(vars), "matrix") || strings.Contains(string(vars), "pixelfed") {
		t.Errorf("op1.tfvars.json is not the variables of the last successful apply, the first (%v):\n%s", err, vars)
	}
	writes := stateWrites(t, pg)
	if writes["second-apply"] != 0 || writes[""] == 0 {
		t.Errorf("state writes by application name: %v, want some by the first apply and none by the second", writes)
	}
	var lastByFirst int64
	queryRow(t, pg, &lastByFirst, "SELECT coalesce(max(serial), -1) FROM state_writes WHERE name = 'op1' AND app = ''")
	serialAfter := serial(t, pg, "op1")
	if serialAfter != lastByFirst || serialAfter <= serialBefore {
		t.Errorf("op1's state is at serial %d, the first apply last wrote %d, and it was at %d before", serialAfter, lastByFirst, serialBefore)
	}
	t.Logf("op1's state went from serial %d to %d, written %d times by the first apply and %d by the second",
		serialBefore, serialAfter, writes[""], writes["second-apply"])
}

// testInvalidVariables applies an operator whose domain is not one: the
// panel gets the diagnostic, naming the variable, and nothing is deployed.
func testInvalidVariables(t *testing.T, f *sandbox.Fleet, p *panel.Panel) {
	ctx := context.Background()
	vars := operatorVars(f, 0, "mastodon")
	vars.Name, vars.Domain = "bad", "Not A Domain"
	_, err := p.Apply(ctx, "bad", vars)
	var e *panel.Error
	if !errors.As(err, &e) || e.Command != "apply" {
		t.Fatalf("the apply with a bad domain did not fail with diagnostics: %v", err)
	}
	var found bool
	for _, d := range e.Diagnostics {
		if d.Summary == "Invalid value for variable" && slices.Contains(d.Variables(), "domain") && strings.Contains(d.Detail, `domain must be a lower-case DNS name`) {
			found = true
			t.Logf("what the panel gets:\n%s", diagnosticJSON(t, d))
		}
	}
	if !found || len(e.Diagnostics) != 1 {
		t.Errorf("want one diagnostic, about the domain, got: %v", err)
	}
	outputs, err := p.Outputs(ctx, "bad")
	if err != nil || len(outputs) != 0 {
		t.Errorf("the workspace of the refused operator has outputs %v (%v)", outputs, err)
	}
}

// testBackendLock applies op2 again while something holds the pg
// backend's lock for all workspaces until a run has given up on it, as
// runs that keep meeting there do: the panel runs the apply again, and it
// succeeds now that the lock is let go.
func testBackendLock(t *testing.T, f *sandbox.Fleet, pg *pgtest.Server, p *panel.Panel) {
	ctx := context.Background()
	conn := pg.Connect(t, "panel", "panel")
	key := backendLockKey("terraform_remote_state", "states")
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		t.Fatal(err)
	}
	met, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	again := *p
	again.Progress = func(_ string, m panel.Message) {
		if m.Diagnostic != nil && strings.Contains(m.Diagnostic.Detail, "already locked for workspace creation") {
			once.Do(func() { close(met) })
		}
	}
	released := make(chan error, 1)
	go func() {
		select {
		case <-met:
		case <-done:
		}
		_, err := conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", key)
		released <- err
	}()
	start := time.Now()
	outputs, err := again.Apply(ctx, "op2", operatorVars(f, 1, "mastodon"))
	close(done)
	if err := <-released; err != nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-met:
		t.Logf("the apply met the held lock, ran again once it was let go, and succeeded after %s", time.Since(start).Round(time.Millisecond))
	default:
		t.Errorf("the apply did not meet the lock held as %d: is that no longer the backend's key?", key)
	}
	if err := expectApps(outputs, "op2", "mastodon"); err != nil {
		t.Error(err)
	}
}

// backendLockKey is the advisory lock the pg backend (OpenTofu 1.10 on)
// takes for all workspaces of a schema's table.
func backendLockKey(schema, table string) int64 {
	h := fnv.New32()
	h.Write([]byte(schema + "\x00" + table))
	return -int64(h.Sum32())
}

// operatorVars are the variables of the operator i's, on host i%2.
func operatorVars(f *sandbox.Fleet, i int, kinds ...string) panel.OperatorVars {
	h := f.Hosts[i%len(f.Hosts)]
	name := fmt.Sprintf("op%d", i+1)
	apps := map[string]panel.Application{}
	for _, kind := range kinds {
		apps[kind] = panel.Application{}
	}
	return panel.OperatorVars{
		Name:         name,
		Domain:       name + ".example",
		ContactEmail: "admin@" + name + ".example",
		Host:         panel.Host{Address: h.Address, Port: h.Port, HostKey: h.HostKeys[0]},
		Applications: apps,
	}
}

// expectApps checks that the outputs list exactly these applications, each
// at its URL, and that each answers for its domain at the runtime's address.
func expectApps(outputs panel.Outputs, op string, kinds ...string) error {
	var urls map[string]string
	var address string
	if err := errors.Join(outputs.Decode("urls", &urls), outputs.Decode("address", &address)); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(urls) != len(kinds) {
		return fmt.Errorf("%s has applications %v, want %v", op, urls, kinds)
	}
	subdomains := map[string]string{"mastodon": "social", "matrix": "matrix", "peertube": "video"}
	for _, kind := range kinds {
		domain := subdomains[kind] + "." + op + ".example"
		if want := "https://" + domain + "/"; urls[kind] != want {
			return fmt.Errorf("%s's %s is at %q, want %q", op, kind, urls[kind], want)
		}
		health, err := acctest.AskApp(address, domain)
		if err != nil {
			return err
		}
		if health.Kind != kind || health.Domain != domain || health.Status != "ok" {
			return fmt.Errorf("%s at %s answered as %+v", domain, address, health)
		}
	}
	return nil
}

// destroyAll destroys every operator that has a directory, all at once,
// and checks that no workspace is left.
func destroyAll(t *testing.T, p *panel.Panel, pg *pgtest.Server, operators []string) {
	start := time.Now()
	var wg sync.WaitGroup
	for _, op := range operators {
		if _, err := os.Stat(filepath.Join(p.WorkDir, op)); err != nil {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := p.Destroy(ctx, op); err != nil {
				t.Errorf("destroying %s: %v", op, err)
			}
		})
	}
	wg.Wait()
	t.Logf("destroying took %s", time.Since(start).Round(time.Millisecond))
	if left := workspaces(t, pg); len(left) > 0 {
		t.Errorf("workspaces left after destroying: %v", left)
	}
}

// installMirror installs the provider into a read-only mirror with
// scripts/provider-mirror.sh, as a panel's host would once.
func installMirror(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "mirror")
	out, err := exec.Command(filepath.Join(repoRoot(t), "scripts", "provider-mirror.sh"), dir, mirrorVersion).CombinedOutput()
	if err != nil {
		t.Fatalf("installing the provider mirror: %v\n%s", err, out)
	}
	t.Cleanup(func() { makeWritable(dir) })
	return dir
}

// copyConfig copies examples/panel and the module it calls, keeping their
// relative places.
func copyConfig(t *testing.T) string {
	root := t.TempDir()
	for _, dir := range []string{"examples/panel", "modules/operator"} {
		if err := os.CopyFS(filepath.Join(root, dir), os.DirFS(filepath.Join(repoRoot(t), dir))); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { makeWritable(root) })
	return root
}

func repoRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// makeReadOnly is what a panel should do to its configuration once
// prepared. The test runs as root, whom modes do not stop: snapshot is
// what shows that nothing writes.
func makeReadOnly(t *testing.T, dir string) {
	if out, err := exec.Command("chmod", "-R", "a-w", dir).CombinedOutput(); err != nil {
		t.Fatalf("chmod: %v\n%s", err, out)
	}
}

func makeWritable(dir string) { _ = exec.Command("chmod", "-R", "u+w", dir).Run() }

// tree is every entry under some directories: path, mode, size, mtime.
type tree struct {
	dirs    []string
	entries map[string]string
}

func snapshot(t *testing.T, dirs ...string) tree {
	t.Helper()
	s := tree{dirs: dirs, entries: map[string]string{}}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			s.entries[path] = fmt.Sprintf("%v %d %d", info.Mode(), info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// check compares the directories with the snapshot.
func (s tree) check(t *testing.T) error {
	now := snapshot(t, s.dirs...)
	var errs []error
	for path, was := range s.entries {
		if is, ok := now.entries[path]; !ok {
			errs = append(errs, fmt.Errorf("%s is gone", path))
		} else if is != was {
			errs = append(errs, fmt.Errorf("%s changed: %s, was %s", path, is, was))
		}
	}
	for path := range now.entries {
		if _, ok := s.entries[path]; !ok {
			errs = append(errs, fmt.Errorf("%s is new", path))
		}
	}
	return errors.Join(errs...)
}

// providerLink is where the data directory of the operator's run links
// the provider's package, or what went wrong.
func providerLink(workDir, op string) string {
	links, err := filepath.Glob(filepath.Join(workDir, op, "runs", "*", ".terraform", "providers",
		"registry.opentofu.org", "fediversity", "fediversity", mirrorVersion, runtime.GOOS+"_"+runtime.GOARCH))
	if err != nil || len(links) != 1 {
		return fmt.Sprintf("%d runs with the provider (%v)", len(links), err)
	}
	target, err := os.Readlink(links[0])
	if err != nil {
		return err.Error()
	}
	return target
}

// workspaces lists the operator workspaces in the pg backend's table.
func workspaces(t *testing.T, pg *pgtest.Server) []string {
	var names []string
	queryRow(t, pg, &names, "SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM terraform_remote_state.states WHERE name <> 'default'")
	return names
}

// queryRow scans the one value a query of the panel's database returns.
func queryRow(t *testing.T, pg *pgtest.Server, dest any, sql string, args ...any) {
	t.Helper()
	if err := pg.Connect(t, "panel", "panel").QueryRow(context.Background(), sql, args...).Scan(dest); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// logStateWrites records every write of a workspace's state from now on,
// with the writer's application name.
func logStateWrites(t *testing.T, pg *pgtest.Server) {
	t.Helper()
	_, err := pg.Connect(t, "panel", "panel").Exec(context.Background(), `
CREATE TABLE state_writes (name text, app text, serial bigint, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION log_state_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO state_writes (name, app, serial)
    VALUES (NEW.name, current_setting('application_name'), (NEW.data::jsonb->>'serial')::bigint);
  RETURN NEW;
END $$;
CREATE TRIGGER log_state_writes AFTER INSERT OR UPDATE ON terraform_remote_state.states
  FOR EACH ROW EXECUTE FUNCTION log_state_write();`)
	if err != nil {
		t.Fatal(err)
	}
}

// stateWrites counts op1's logged state writes by application name.
func stateWrites(t *testing.T, pg *pgtest.Server) map[string]int {
	counts := map[string]int{}
	queryRow(t, pg, &counts, `SELECT coalesce(jsonb_object_agg(app, n), '{}') FROM
  (SELECT app, count(*) AS n FROM state_writes WHERE name = 'op1' GROUP BY app) AS writes`)
	return counts
}

func serial(t *testing.T, pg *pgtest.Server, workspace string) int64 {
	var n int64
	queryRow(t, pg, &n, "SELECT (data::jsonb->>'serial')::bigint FROM terraform_remote_state.states WHERE name = $1", workspace)
	return n
}

func diagnosticJSON(t *testing.T, d panel.Diagnostic) string {
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

package panel_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/panel"
)

// fakeTofu answers each command (workspace ones by subcommand: KEY is
// apply, workspace-select, ...) with the JSON lines of DIR/KEY.jsonl and
// the exit code in DIR/KEY.rc; first, it fails as many times as
// DIR/KEY.collisions says with DIR/KEY.collision.jsonl, as a run that met
// the pg backend's lock for all workspaces does. It logs each run's
// arguments and settings.
const fakeTofu = `#!/bin/sh
dir="$FAKE_DIR"
printf '%s | TF_CLI_CONFIG_FILE=%s TF_WORKSPACE=%s TF_DATA_DIR=%s TF_PLUGIN_CACHE_DIR=%s\n' \
  "$*" "$TF_CLI_CONFIG_FILE" "$TF_WORKSPACE" "$TF_DATA_DIR" "$TF_PLUGIN_CACHE_DIR" >>"$dir/log"
key="$2"
if [ "$key" = workspace ]; then key="workspace-$3"; fi
n="$(cat "$dir/$key.collisions" 2>/dev/null || echo 0)"
if [ "$n" -gt 0 ]; then
  echo $((n - 1)) >"$dir/$key.collisions"
  cat "$dir/$key.collision.jsonl"
  exit 1
fi
cat "$dir/$key.jsonl" 2>/dev/null
exit "$(cat "$dir/$key.rc" 2>/dev/null || echo 0)"
`

// Lines as OpenTofu 1.12 prints them (the acceptance test's run).
const (
	versionLine    = `{"@level":"info","@message":"OpenTofu 1.12.6","@module":"tofu.ui","@timestamp":"2026-11-26T05:40:18.549054Z","tofu":"1.12.6","type":"version","ui":"1.2"}`
	invalidDomain  = `{"@level":"error","@message":"Error: Invalid value for variable","@module":"tofu.ui","@timestamp":"2026-11-26T05:40:18.762762Z","diagnostic":{"severity":"error","summary":"Invalid value for variable","detail":"domain must be a lower-case DNS name with at least two labels, without scheme or trailing dot (got \"Not A Domain\"): e.g. domain = \"chessclub.example.org\".\n\nThis was checked by the validation rule at ../../modules/operator/variables.tf:45,3-13.","range":{"filename":"main.tf","start":{"line":64,"column":19,"byte":2343},"end":{"line":64,"column":29,"byte":2353}},"snippet":{"context":"module \"operator\"","code":"  domain        = var.domain","start_line":64,"highlight_start_offset":18,"highlight_end_offset":28,"values":[{"traversal":"var.domain","statement":"is \"Not A Domain\""}]}},"type":"diagnostic"}`
	workspaceTaken = `{"@level":"error","@message":"Error: Error getting the state manager","@module":"tofu.ui","@timestamp":"2026-11-26T05:43:20.758303Z","diagnostic":{"severity":"error","summary":"Error getting the state manager","detail":"Failed getting state manager for workspace op1: failed to lock state in Postgres: Already locked for workspace creation: op1\nLock Info:\n  ID:        3e3820f4-e2db-fb9e-4abe-386d4c6b790a\n  Operation: init\n"},"type":"diagnostic"}`
	backendLocked  = `{"@level":"error","@message":"Error: Error acquiring the state lock","@module":"tofu.ui","@timestamp":"2026-11-26T18:24:10.210117Z","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: Cannot lock workspace; already locked for workspace creation: op1\nLock Info:\n  ID:        5445989d-325b-0987-9662-08085fed357c\n"},"type":"diagnostic"}`
	lockHeld       = `{"@level":"error","@message":"Error: Error acquiring the state lock","@module":"tofu.ui","@timestamp":"2026-11-26T05:40:26.557511Z","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Error message: Workspace is already locked: op1\nLock Info:\n  ID:        324ee0e5-0cc3-c122-b76f-da4bb1f88eb0\n"},"type":"diagnostic"}`
	applied        = `{"@level":"info","@message":"Apply complete! Resources: 3 added, 0 changed, 0 destroyed.","@module":"tofu.ui","@timestamp":"2026-11-26T05:40:30.0Z","changes":{"add":3,"change":0,"import":0,"remove":0,"operation":"apply"},"type":"change_summary"}`
	outputs        = `{"urls":{"sensitive":false,"type":["object",{"mastodon":"string"}],"value":{"mastodon":"https://social.op1.example/"}}}`
)

type fake struct {
	dir string
	p   *panel.Panel
}

func newFake(t *testing.T, answers map[string]string) fake {
	dir := t.TempDir()
	tofu := filepath.Join(dir, "tofu")
	files := map[string]string{"tofu": fakeTofu, "init.jsonl": versionLine,
		"workspace-select.jsonl": versionLine, "workspace-select.collision.jsonl": workspaceTaken,
		"apply.jsonl": versionLine + "\n" + applied, "apply.collision.jsonl": backendLocked,
		"output.jsonl": outputs, "state.jsonl": "module.operator.fediversity_runtime.this",
		"destroy.jsonl": versionLine, "destroy.collision.jsonl": backendLocked,
		"workspace-delete.jsonl": versionLine, "workspace-delete.collision.jsonl": backendLocked}
	for name, content := range answers {
		files[name] = content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The panel's own settings must not reach the runs.
	t.Setenv("TF_PLUGIN_CACHE_DIR", "/shared/cache")
	t.Setenv("TF_WORKSPACE", "someone-else")
	return fake{dir: dir, p: &panel.Panel{
		Tofu: tofu, Config: dir, WorkDir: filepath.Join(dir, "work"), CLIConfig: "/mirror/cli.tfrc",
		Env: []string{"FAKE_DIR=" + dir},
	}}
}

// runs are the commands the fake ran, with the directory of each run
// written as RUN, and those directories in the order of their first use.
func (f fake) runs(t *testing.T) (runs, dirs []string) {
	log, err := os.ReadFile(filepath.Join(f.dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	runDir := regexp.MustCompile(regexp.QuoteMeta(filepath.Join(f.dir, "work")) + `/[^/]+/runs/[^/ ]+`)
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		for _, dir := range runDir.FindAllString(line, -1) {
			if !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
		}
		runs = append(runs, runDir.ReplaceAllString(line, "RUN"))
	}
	return runs, dirs
}

// run is how the log shows a command of a run in workspace (TF_WORKSPACE).
func (f fake) run(args, workspace string) string {
	return "-chdir=" + f.dir + " " + args + " | TF_CLI_CONFIG_FILE=/mirror/cli.tfrc TF_WORKSPACE=" + workspace + " TF_DATA_DIR=RUN/.terraform TF_PLUGIN_CACHE_DIR="
}

func vars() panel.OperatorVars {
	return panel.OperatorVars{Name: "op1", Domain: "op1.example", ContactEmail: "a@op1.example",
		Host: panel.Host{Address: "192.0.2.10"}, Applications: map[string]panel.Application{"mastodon": {}}}
}

func TestApplyRunsTheWorkflowInTheOperatorsWorkspace(t *testing.T) {
	// Twice the workspace's creation and once the apply meet the backend's
	// lock for all workspaces: each is run again.
	f := newFake(t, map[string]string{"workspace-select.collisions": "2", "apply.collisions": "1"})
	var streamed []string
	f.p.Progress = func(op string, m panel.Message) { streamed = append(streamed, op+" "+m.Type) }
	out, err := f.p.Apply(context.Background(), "op1", vars())
	if err != nil {
		t.Fatal(err)
	}
	var urls map[string]string
	if err := out.Decode("urls", &urls); err != nil || urls["mastodon"] != "https://social.op1.example/" {
		t.Errorf("outputs: %v (%v)", urls, err)
	}
	// Every command of the run in one data directory of its own.
	runs, dirs := f.runs(t)
	if len(dirs) != 1 || filepath.Dir(dirs[0]) != filepath.Join(f.dir, "work", "op1", "runs") {
		t.Fatalf("the commands ran in %v, want one directory in the operator's runs", dirs)
	}
	selectRun := f.run("workspace select -json -or-create=true op1", "")
	applyRun := f.run("apply -auto-approve -input=false -json -lock-timeout=5s -var-file=RUN/op1.tfvars.json", "op1")
	want := []string{
		f.run("init -input=false -json -lockfile=readonly", ""),
		selectRun, selectRun, selectRun,
		applyRun, applyRun,
		f.run("output -json", "op1"),
	}
	if !slices.Equal(runs, want) {
		t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(runs, "\n"), strings.Join(want, "\n"))
	}
	if _, err := os.Stat(dirs[0]); !os.IsNotExist(err) {
		t.Errorf("the run's directory is still there: %v", err)
	}
	if content, err := os.ReadFile(filepath.Join(f.dir, "work", "op1", "op1.tfvars.json")); err != nil || !strings.Contains(string(content), `"domain": "op1.example"`) {
		t.Errorf("variables file: %s (%v)", content, err)
	}
	if !slices.Contains(streamed, "op1 change_summary") {
		t.Errorf("Progress did not get the apply's messages: %v", streamed)
	}
}

func TestApplyReturnsTheDiagnosticsOfInvalidVariables(t *testing.T) {
	f := newFake(t, map[string]string{"apply.jsonl": versionLine + "\n" + invalidDomain, "apply.rc": "1"})
	_, err := f.p.Apply(context.Background(), "op1", vars())
	var e *panel.Error
	if !errors.As(err, &e) || e.Command != "apply" || len(e.Diagnostics) != 1 {
		t.Fatalf("want an apply error with one diagnostic, got %v", err)
	}
	d := e.Diagnostics[0]
	if d.Summary != "Invalid value for variable" || !slices.Equal(d.Variables(), []string{"domain"}) || d.Range.Filename != "main.tf" || d.Range.Start.Line != 64 {
		t.Errorf("diagnostic: %+v", d)
	}
	if errors.Is(err, panel.ErrStateLocked) {
		t.Error("an invalid variable is not a held lock")
	}
	if !strings.Contains(err.Error(), "domain must be a lower-case DNS name") {
		t.Errorf("the error does not say what is wrong: %v", err)
	}
}

func TestFailedApplyKeepsTheVariablesOfTheLastSuccessfulOne(t *testing.T) {
	f := newFake(t, nil)
	ctx := context.Background()
	if _, err := f.p.Apply(ctx, "op1", vars()); err != nil {
		t.Fatal(err)
	}
	varFile := filepath.Join(f.dir, "work", "op1", "op1.tfvars.json")
	before, _ := os.ReadFile(varFile)
	for name, content := range map[string]string{"apply.jsonl": versionLine + "\n" + lockHeld, "apply.rc": "1"} {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	changed := vars()
	changed.Applications["pixelfed"] = panel.Application{}
	_, err := f.p.Apply(ctx, "op1", changed)
	if !errors.Is(err, panel.ErrStateLocked) {
		t.Fatalf("want ErrStateLocked, got %v", err)
	}
	if after, _ := os.ReadFile(varFile); string(after) != string(before) {
		t.Errorf("the refused apply left its variables:\n%s\nwas:\n%s", after, before)
	}
	if left, _ := os.ReadDir(filepath.Join(f.dir, "work", "op1", "runs")); len(left) > 0 {
		t.Errorf("runs left their directories: %v", left)
	}
	// The workspace's own lock was waited for by tofu (-lock-timeout), not
	// again by the panel.
	if runs, _ := f.runs(t); count(runs, " apply ") != 2 {
		t.Errorf("apply ran other than once per Apply:\n%s", strings.Join(runs, "\n"))
	}
}

// A destroy and the deletion of the workspace that meet the backend's lock
// for all workspaces are run again; the operator's directory goes.
func TestDestroyRunsAgainWhatMetTheBackendsLock(t *testing.T) {
	f := newFake(t, nil)
	ctx := context.Background()
	if _, err := f.p.Apply(ctx, "op1", vars()); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"destroy.collisions": "1", "workspace-delete.collisions": "2"} {
		if err := os.WriteFile(filepath.Join(f.dir, name), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.p.Destroy(ctx, "op1"); err != nil {
		t.Fatal(err)
	}
	runs, _ := f.runs(t)
	destroyRun := f.run("destroy -auto-approve -input=false -json -lock-timeout=5s -var-file="+filepath.Join(f.dir, "work", "op1", "op1.tfvars.json"), "op1")
	deleteRun := f.run("workspace delete -json -lock-timeout=5s op1", "")
	want := []string{
		f.run("init -input=false -json -lockfile=readonly", ""),
		f.run("workspace select -json -or-create=false op1", ""),
		f.run("state list", "op1"),
		destroyRun, destroyRun,
		f.run("workspace select -json default", ""),
		deleteRun, deleteRun, deleteRun,
	}
	if got := runs[len(runs)-len(want):]; !slices.Equal(got, want) {
		t.Errorf("runs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := os.Stat(filepath.Join(f.dir, "work", "op1")); !os.IsNotExist(err) {
		t.Errorf("the operator's directory is still there: %v", err)
	}
}

// A lock for all workspaces that is not let go ends the attempts: the
// apply fails with ErrStateLocked after backendLockAttempts runs.
func TestApplyGivesUpOnABackendLockThatStays(t *testing.T) {
	f := newFake(t, map[string]string{"apply.collisions": "100"})
	_, err := f.p.Apply(context.Background(), "op1", vars())
	if !errors.Is(err, panel.ErrStateLocked) || !strings.Contains(err.Error(), "already locked for workspace creation") {
		t.Fatalf("want ErrStateLocked for the backend's lock, got %v", err)
	}
	if runs, _ := f.runs(t); count(runs, " apply ") != 8 {
		t.Errorf("apply ran %d times, want 8:\n%s", count(runs, " apply "), strings.Join(runs, "\n"))
	}
}

// count is how many runs contain s.
func count(runs []string, s string) int {
	n := 0
	for _, r := range runs {
		if strings.Contains(r, s) {
			n++
		}
	}
	return n
}

func TestApplyRefusesNamesThatAreNoOperatorsBeforeRunningAnything(t *testing.T) {
	f := newFake(t, nil)
	for _, name := range []string{"", "../etc", "Op1", "op1-", "default/x", strings.Repeat("a", 33)} {
		if _, err := f.p.Apply(context.Background(), name, vars()); err == nil {
			t.Errorf("operator %q accepted", name)
		}
	}
	if log, err := os.ReadFile(filepath.Join(f.dir, "log")); err == nil {
		t.Errorf("tofu ran:\n%s", log)
	}
}

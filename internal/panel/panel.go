// Package panel is what a panel's backend does to deploy an operator with
// OpenTofu: it writes the operator's variables as <operator>.tfvars.json,
// runs `tofu apply -auto-approve -json` in the operator's own workspace of
// a shared configuration (examples/panel), state in PostgreSQL (the pg
// backend), and reads the results with `tofu output -json`. Errors come
// back as the diagnostics of OpenTofu's machine-readable output.
//
// Many operators can be applied at once, from one process or several: each
// run initialises a data directory of its own, providers come from a
// read-only filesystem mirror (scripts/provider-mirror.sh) and the
// configuration is only read, so no two runs write the same file; and the
// backend's lock on each workspace refuses a second apply of an operator
// while one runs.
package panel

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Panel applies operators' configurations. Its fields are set once; its
// methods may be called concurrently, for different operators.
type Panel struct {
	// Tofu is the OpenTofu binary.
	Tofu string
	// Config is the directory of the configuration every operator gets
	// (examples/panel). Prepare writes its dependency lock file; after
	// that, nothing writes into it.
	Config string
	// WorkDir holds a directory per operator: the variables of its last
	// successful apply, <operator>.tfvars.json, and under runs/ a directory
	// per run while it runs, with the run's variables file and its own
	// OpenTofu data directory (TF_DATA_DIR: the selected workspace, a link
	// into the provider mirror, the module manifest).
	WorkDir string
	// CLIConfig is the CLI configuration (TF_CLI_CONFIG_FILE) that installs
	// providers from the read-only mirror, as scripts/provider-mirror.sh
	// writes it.
	CLIConfig string
	// Env is added to the environment of every run: PG_CONN_STR (and
	// PG_SCHEMA_NAME) for the state, FEDIVERSITY_SSH_PRIVATE_KEY_FILE and
	// friends for the provider. TF_* variables of the panel's own
	// environment are not passed on.
	Env []string
	// LockTimeout is how long a run waits for its workspace's state lock
	// (tofu -lock-timeout, which tries again after 1 s, 2 s, 4 s, ...);
	// zero is DefaultLockTimeout, and anything under a second one attempt.
	LockTimeout time.Duration
	// Progress, if set, receives every message of the JSON stream of every
	// run as it comes, for a panel to show; a run that met the backend's
	// lock for all workspaces says so in a diagnostic, then runs again.
	Progress func(operator string, m Message)
}

// DefaultLockTimeout is how long a run of an operator whose workspace
// another run holds waits before it fails with ErrStateLocked. (Meeting
// the pg backend's lock for all workspaces is not that: see runLocking.)
const DefaultLockTimeout = 5 * time.Second

// Outputs are the root module's outputs by name, as `tofu output -json`
// gives them.
type Outputs map[string]Output

// Output is one output value.
type Output struct {
	Sensitive bool            `json:"sensitive"`
	Type      json.RawMessage `json:"type"`
	Value     json.RawMessage `json:"value"`
}

// Decode unmarshals the value of output name into v.
func (o Outputs) Decode(name string, v any) error {
	out, ok := o[name]
	if !ok {
		return fmt.Errorf("no output %q", name)
	}
	return json.Unmarshal(out.Value, v)
}

// operatorName is what the operator module accepts as a name; it is also
// the operator's workspace and directory name, so nothing else may pass.
var operatorName = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`)

func checkName(operator string) error {
	if !operatorName.MatchString(operator) {
		return fmt.Errorf("panel: %q is not an operator name: 1-32 lower-case letters, digits or '-', starting with a letter and not ending with '-'", operator)
	}
	return nil
}

// Prepare runs `tofu init` once in the configuration, before any apply:
// it records the provider's checksum from the mirror in the configuration's
// dependency lock file, which each operator's init then only reads, and
// creates the backend's schema and table, which concurrent first inits
// would race to create.
func (p *Panel) Prepare(ctx context.Context) error {
	dataDir := filepath.Join(p.WorkDir, ".prepare")
	defer os.RemoveAll(dataDir)
	_, err := p.run(ctx, "", "init", []string{"TF_DATA_DIR=" + dataDir}, "init", "-input=false", "-json")
	return err
}

// Apply deploys an operator: vars are the configuration's variables (they
// must marshal to a JSON object; OperatorVars for examples/panel). It
// returns the outputs, or an *Error with OpenTofu's diagnostics; one for
// which errors.Is(err, ErrStateLocked) holds when another run of the
// operator holds its workspace.
func (p *Panel) Apply(ctx context.Context, operator string, vars any) (Outputs, error) {
	content, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("panel: variables of %s: %w", operator, err)
	}
	content = append(content, '\n')
	r, err := p.begin(ctx, operator, true)
	if err != nil {
		return nil, err
	}
	defer r.end()
	varFile := filepath.Join(r.dir, operator+".tfvars.json")
	if err := os.WriteFile(varFile, content, 0o600); err != nil {
		return nil, err
	}
	if _, err := r.runLocking(ctx, "apply", r.workspaceEnv(),
		"apply", "-auto-approve", "-input=false", "-json", p.lockTimeout(), "-var-file="+varFile); err != nil {
		return nil, err
	}
	// What Destroy will need: the variables of the last successful apply.
	if err := writeFileAtomic(p.varFile(operator), content); err != nil {
		return nil, err
	}
	return r.outputs(ctx)
}

// Outputs reads an operator's outputs from its workspace's state.
func (p *Panel) Outputs(ctx context.Context, operator string) (Outputs, error) {
	r, err := p.begin(ctx, operator, false)
	if err != nil {
		return nil, err
	}
	defer r.end()
	return r.outputs(ctx)
}

// Destroy destroys everything of an operator, with the variables of its
// last successful apply, and deletes its workspace and its directory.
func (p *Panel) Destroy(ctx context.Context, operator string) error {
	r, err := p.begin(ctx, operator, false)
	if err != nil {
		return err
	}
	defer r.end()
	resources, err := r.output(ctx, "state list", r.workspaceEnv(), "state", "list")
	if err != nil {
		return err
	}
	// A workspace whose applies never got past validation holds nothing.
	if len(bytes.TrimSpace(resources)) > 0 {
		if _, err := r.runLocking(ctx, "destroy", r.workspaceEnv(),
			"destroy", "-auto-approve", "-input=false", "-json", p.lockTimeout(), "-var-file="+p.varFile(operator)); err != nil {
			return err
		}
	}
	if _, err := r.run(ctx, "workspace select", r.dataDirEnv(), "workspace", "select", "-json", "default"); err != nil {
		return err
	}
	if _, err := r.runLocking(ctx, "workspace delete", r.dataDirEnv(), "workspace", "delete", "-json", p.lockTimeout(), operator); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(p.WorkDir, operator))
}

func (p *Panel) varFile(operator string) string {
	return filepath.Join(p.WorkDir, operator, operator+".tfvars.json")
}

// session is one run's view of an operator: a data directory initialised
// from the mirror for this run alone, with the operator's workspace
// selected. Runs share no file they write, even runs of one operator: the
// backend's lock is what keeps two of them from applying at once.
type session struct {
	p        *Panel
	operator string
	dir      string
}

// begin initialises a run's data directory and selects the operator's
// workspace, creating it if create is set.
func (p *Panel) begin(ctx context.Context, operator string, create bool) (*session, error) {
	if err := checkName(operator); err != nil {
		return nil, err
	}
	runs := filepath.Join(p.WorkDir, operator, "runs")
	if err := os.MkdirAll(runs, 0o700); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(runs, "")
	if err != nil {
		return nil, err
	}
	r := &session{p: p, operator: operator, dir: dir}
	// readonly: the lock file Prepare wrote is checked, never written.
	if _, err = r.run(ctx, "init", r.dataDirEnv(), "init", "-input=false", "-json", "-lockfile=readonly"); err == nil {
		err = r.selectWorkspace(ctx, create)
	}
	if err != nil {
		r.end()
		return nil, err
	}
	return r, nil
}

func (r *session) end() { os.RemoveAll(r.dir) }

// selectWorkspace selects the operator's workspace, creating it if create
// is set.
func (r *session) selectWorkspace(ctx context.Context, create bool) error {
	_, err := r.runLocking(ctx, "workspace select", r.dataDirEnv(),
		"workspace", "select", "-json", fmt.Sprintf("-or-create=%t", create), r.operator)
	return err
}

// backendLockAttempts is how often a command that met the pg backend's
// lock for all workspaces is run in all.
const backendLockAttempts = 8

// runLocking runs a command that locks the operator's workspace (or
// creates it). The pg backend holds its one lock for all workspaces for a
// moment whenever any run locks a workspace, and all through creating one.
// A run that meets it there waits in tofu's steps of 1 s, 2 s, 4 s, the
// same for every run, so runs that met once keep meeting, and a workspace
// creation does not wait at all. Such a run stopped at its lock and
// changed nothing: it is run again after a random pause.
func (r *session) runLocking(ctx context.Context, name string, env []string, args ...string) ([]Message, error) {
	for attempt := 1; ; attempt++ {
		messages, err := r.run(ctx, name, env, args...)
		var e *Error
		if err == nil || attempt == backendLockAttempts || !errors.As(err, &e) || !e.mentions("locked for workspace creation") {
			return messages, err
		}
		pause := time.Duration(100+rand.IntN(400*attempt)) * time.Millisecond
		select {
		case <-ctx.Done():
			return messages, err
		case <-time.After(pause):
		}
	}
}

func (r *session) dataDirEnv() []string {
	return []string{"TF_DATA_DIR=" + filepath.Join(r.dir, ".terraform")}
}

// workspaceEnv runs a command in the operator's workspace, whatever the
// data directory has selected.
func (r *session) workspaceEnv() []string {
	return append(r.dataDirEnv(), "TF_WORKSPACE="+r.operator)
}

func (r *session) outputs(ctx context.Context) (Outputs, error) {
	stdout, err := r.output(ctx, "output", r.workspaceEnv(), "output", "-json")
	if err != nil {
		return nil, err
	}
	var outputs Outputs
	if err := json.Unmarshal(stdout, &outputs); err != nil {
		return nil, &Error{Operator: r.operator, Command: "output", Output: string(stdout), Err: err}
	}
	return outputs, nil
}

func (r *session) run(ctx context.Context, name string, env []string, args ...string) ([]Message, error) {
	return r.p.run(ctx, r.operator, name, env, args...)
}

func (r *session) output(ctx context.Context, name string, env []string, args ...string) ([]byte, error) {
	return r.p.output(ctx, r.operator, name, env, args...)
}

func (p *Panel) lockTimeout() string {
	timeout := p.LockTimeout
	if timeout == 0 {
		timeout = DefaultLockTimeout
	}
	return "-lock-timeout=" + timeout.String()
}

// command is tofu with args in the configuration's directory, with the
// panel's environment plus env.
func (p *Panel) command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, p.Tofu, append([]string{"-chdir=" + p.Config}, args...)...)
	cmd.Env = append(p.environ(), env...)
	// A cancelled run gets SIGINT first, as Ctrl-C: it stops at a safe
	// point, writes its state and releases the lock.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = time.Minute
	return cmd
}

// output runs a command whose output is not a stream of messages.
func (p *Panel) output(ctx context.Context, operator, name string, env []string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := p.command(ctx, env, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, &Error{Operator: operator, Command: name, Output: stderr.String(), Err: err}
	}
	return stdout.Bytes(), nil
}

// environ is the panel's own environment without TF_* settings (a plugin
// cache, dev_overrides, a workspace), then what every run gets.
func (p *Panel) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") {
			env = append(env, kv)
		}
	}
	env = append(env, "TF_CLI_CONFIG_FILE="+p.CLIConfig, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
	return append(env, p.Env...)
}

// run runs a command whose output is a stream of JSON messages (-json),
// passes each to Progress, and fails with the error diagnostics it saw.
func (p *Panel) run(ctx context.Context, operator, name string, env []string, args ...string) ([]Message, error) {
	var stderr bytes.Buffer
	cmd := p.command(ctx, env, args...)
	cmd.Stderr = &stderr
	stream, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("panel: %s of %s: %w", name, operator, err)
	}
	var messages []Message
	var other strings.Builder // lines that are not messages
	lines := bufio.NewScanner(stream)
	lines.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for lines.Scan() {
		var m Message
		if json.Unmarshal(lines.Bytes(), &m) != nil || m.Level == "" {
			other.Write(lines.Bytes())
			other.WriteByte('\n')
			continue
		}
		messages = append(messages, m)
		if p.Progress != nil {
			p.Progress(operator, m)
		}
	}
	scanErr := lines.Err()
	_, _ = io.Copy(io.Discard, stream) // what a failed scan left, so that tofu can exit
	waitErr := cmd.Wait()
	var diags []Diagnostic
	for _, m := range messages {
		if m.Diagnostic != nil && m.Diagnostic.Severity == "error" {
			diags = append(diags, *m.Diagnostic)
		}
	}
	if waitErr == nil && len(diags) == 0 && scanErr == nil {
		return messages, nil
	}
	if waitErr == nil {
		waitErr = cmp.Or(scanErr, errors.New("error diagnostics"))
	}
	return messages, &Error{Operator: operator, Command: name, Diagnostics: diags, Output: other.String() + stderr.String(), Err: waitErr}
}

func writeFileAtomic(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(content)
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

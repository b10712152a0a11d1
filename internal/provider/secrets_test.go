package provider_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// declaredSecrets is every secret of operator club with mastodon and
// matrix, with the owner, group and mode its module declares.
var declaredSecrets = map[string]string{
	"/var/lib/fediversity-secrets/club/mastodon/secret_key_base":                              "mastodon:mastodon 400",
	"/var/lib/fediversity-secrets/club/mastodon/active_record_encryption_deterministic_key":   "mastodon:mastodon 400",
	"/var/lib/fediversity-secrets/club/mastodon/active_record_encryption_key_derivation_salt": "mastodon:mastodon 400",
	"/var/lib/fediversity-secrets/club/mastodon/active_record_encryption_primary_key":         "mastodon:mastodon 400",
	"/var/lib/fediversity-secrets/club/matrix/signing.key":                                    "matrix-synapse:matrix-synapse 400",
	"/var/lib/maddy/dkim_keys/club.example_default.key":                                       "maddy:maddy 400",
}

// RELIABILITY 17, 18 and 19: the secrets of an operator with mastodon and
// matrix are found nowhere but in their files: not in state, plans, the
// TF_LOG trace of the CLI and the provider, any process's argv on the
// machine or its hosts during a deploy, or either Nix store. Their files
// have the owner and mode their modules declare, and an apply that changes
// only matrix rewrites none of them and does not restart mastodon.
func TestAccSecrets_neverLeak(t *testing.T) {
	f := acctest.Fleet(t)
	// Sampling the argv of the host's processes needs its processes in the
	// machine's process table, as sandbox hosts have them.
	acctest.SandboxOnly(t)
	h := f.Hosts[1]
	hunt := &leakHunt{h: h, logFile: filepath.Join(t.TempDir(), "trace.log"), workDirs: t.TempDir()}
	// The provider runs in this process and logs through the test sink,
	// which reads TF_LOG and TF_LOG_PATH; TF_ACC_LOG* put the CLI's own
	// trace into the same file.
	t.Setenv("TF_LOG", "trace")
	t.Setenv("TF_LOG_PATH", hunt.logFile)
	t.Setenv("TF_ACC_LOG", "trace")
	t.Setenv("TF_ACC_LOG_PATH", hunt.logFile)
	// The working dirs, with their state and saved plans, land where the hunt looks.
	t.Setenv("TF_ACC_TEMP_DIR", hunt.workDirs)

	mastodon := application("mastodon")
	changedMatrix := deployment(f, h, mastodon, application("matrix", "user_limit = 50"))
	var before hostSnapshot
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		CheckDestroy:             func(*terraform.State) error { return hunt.inLog() },
		Steps: []resource.TestStep{
			{
				PreConfig: func() { hunt.argv = sampleArgv(t) },
				Config:    deployment(f, h, mastodon, application("matrix")),
				Check: func(s *terraform.State) error {
					var err error
					if hunt.secrets, err = readSecrets(t, h); err != nil {
						return err
					}
					if err := errors.Join(checkSecretModes(t, h), hunt.everywhere(t, s)); err != nil {
						return err
					}
					before, err = snapshot(t, h)
					return err
				},
			},
			{
				PreConfig: func() { hunt.argv = sampleArgv(t) },
				Config:    changedMatrix,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("fediversity_application.matrix", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("fediversity_application.mastodon", plancheck.ResourceActionNoop),
						hunt.planCheck("the plan that changes matrix"),
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error {
						return errors.Join(hunt.inState(s), hunt.inLog(), hunt.inArgv())
					},
					checkApp(t, h, "matrix.club.example", "matrix", "1.140.0"),
					checkApp(t, h, "social.club.example", "mastodon", "4.4.4"),
					func(*terraform.State) error { return before.onlyMatrixChanged(t, h) },
				),
			},
			{
				PlanOnly: true,
				Config:   changedMatrix,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPreRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan(), hunt.planCheck("a plan-only step's plan")},
				},
			},
		},
	})
}

// secret is one secret file on a host and what it holds.
type secret struct {
	path, content string
}

// needles are what would give the secret away: its whole content, and 24
// characters from the middle of its longest line, which survive a log that
// wraps or escapes the lines around them.
func (s secret) needles() []string {
	longest := ""
	for _, line := range strings.Split(s.content, "\n") {
		if len(line) > len(longest) {
			longest = line
		}
	}
	middle := max(0, len(longest)/2-12)
	return []string{s.content, longest[middle:min(len(longest), middle+24)]}
}

// readSecrets reads every declared secret from the host, through the
// machine's nsenter rather than SSH, so the test itself moves no secret.
func readSecrets(t *testing.T, h sandbox.Host) ([]secret, error) {
	var secrets []secret
	for _, path := range slices.Sorted(maps.Keys(declaredSecrets)) {
		content, err := onHost(t, h, `cat -- "$1"`, path)
		if err != nil {
			return nil, fmt.Errorf("reading the secret %s: %w\n%s", path, err, content)
		}
		if len(content) < 32 { // too short for its needles to mean anything
			return nil, fmt.Errorf("the secret %s holds only %d bytes", path, len(content))
		}
		secrets = append(secrets, secret{path: path, content: content})
	}
	return secrets, nil
}

// checkSecretModes: RELIABILITY 18. Every secret has the owner, group and
// mode its module declares, and the operator's secrets dir holds nothing
// else (no temp file left from a write that was not atomic).
func checkSecretModes(t *testing.T, h sandbox.Host) error {
	paths := slices.Sorted(maps.Keys(declaredSecrets))
	out, err := onHost(t, h, `find /var/lib/fediversity-secrets/club -type f | LC_ALL=C sort; stat -c '%n %U:%G %a' -- "$@"`, paths...)
	if err != nil {
		return fmt.Errorf("reading the secrets' modes: %w\n%s", err, out)
	}
	var want []string
	for _, p := range paths {
		if strings.HasPrefix(p, "/var/lib/fediversity-secrets/club/") {
			want = append(want, p)
		}
	}
	for _, p := range paths {
		want = append(want, p+" "+declaredSecrets[p])
	}
	if got := strings.Split(out, "\n"); !slices.Equal(got, want) {
		return fmt.Errorf("secret files and their owner:group mode:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	return nil
}

// secretFingerprints is each secret's inode, mtime and sha256: a secret
// rewritten in place or renamed over changes at least one.
func secretFingerprints(t *testing.T, h sandbox.Host) (map[string]string, error) {
	out, err := onHost(t, h, `for f; do printf '%s %s %s\n' "$f" "$(stat -c '%i %.9Y' -- "$f")" "$(sha256sum <"$f" | cut -c 1-64)"; done`,
		slices.Sorted(maps.Keys(declaredSecrets))...)
	if err != nil {
		return nil, fmt.Errorf("fingerprinting the secrets: %w\n%s", err, out)
	}
	prints := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		path, fingerprint, _ := strings.Cut(line, " ")
		prints[path] = fingerprint
	}
	return prints, nil
}

// hostSnapshot is what RELIABILITY 19 compares across an apply.
type hostSnapshot struct {
	secrets                map[string]string // secretFingerprints
	mastodonPID, matrixPID int
	builds, switches       int
}

func snapshot(t *testing.T, h sandbox.Host) (hostSnapshot, error) {
	var s hostSnapshot
	var err error
	s.builds, s.switches = activations(t, h)
	if s.secrets, err = secretFingerprints(t, h); err != nil {
		return s, err
	}
	if s.mastodonPID, err = unitPID(t, h, "mastodon-web"); err != nil {
		return s, err
	}
	s.matrixPID, err = unitPID(t, h, "matrix-synapse")
	return s, err
}

// onlyMatrixChanged: RELIABILITY 19. Since before, one build and switch
// restarted matrix, and rewrote no secret nor restarted mastodon.
func (before hostSnapshot) onlyMatrixChanged(t *testing.T, h sandbox.Host) error {
	after, err := snapshot(t, h)
	if err != nil {
		return err
	}
	var errs []error
	// Without a switch, nothing could have been rewritten or restarted.
	if after.builds != before.builds+1 || after.switches != before.switches+1 {
		errs = append(errs, fmt.Errorf("changing matrix made %d builds and %d switches, want 1 and 1", after.builds-before.builds, after.switches-before.switches))
	}
	for path, fingerprint := range before.secrets {
		if after.secrets[path] != fingerprint {
			errs = append(errs, fmt.Errorf("%s was rewritten by an apply that changed only matrix (inode mtime sha256 %s, now %s)", path, fingerprint, after.secrets[path]))
		}
	}
	if after.mastodonPID != before.mastodonPID {
		errs = append(errs, fmt.Errorf("mastodon-web was restarted (pid %d, now %d), though only matrix changed", before.mastodonPID, after.mastodonPID))
	}
	if after.matrixPID == before.matrixPID {
		errs = append(errs, fmt.Errorf("matrix-synapse was not restarted (pid %d), though its settings changed", after.matrixPID))
	}
	return errors.Join(errs...)
}

// supervisedUnit is a unit as the host's supervisor reports it.
type supervisedUnit struct {
	Name string
	PID  int
}

// supervisedUnits are the units of the host's supervisor (its systemd).
func supervisedUnits(t *testing.T, h sandbox.Host) ([]supervisedUnit, error) {
	out, err := onHost(t, h, `/etc/fediversity-sandbox/bin/fediversity-standin supervise status --json`)
	if err != nil {
		return nil, fmt.Errorf("asking the supervisor: %w\n%s", err, out)
	}
	var status struct{ Units []supervisedUnit }
	if err := json.Unmarshal([]byte(out), &status); err != nil {
		return nil, fmt.Errorf("the supervisor's status: %w\n%s", err, out)
	}
	return status.Units, nil
}

// unitPID is the pid of a unit's main process.
func unitPID(t *testing.T, h sandbox.Host, unit string) (int, error) {
	units, err := supervisedUnits(t, h)
	if err != nil {
		return 0, err
	}
	for _, u := range units {
		if u.Name == unit && u.PID > 0 {
			return u.PID, nil
		}
	}
	return 0, fmt.Errorf("%s is not running: %+v", unit, units)
}

// leakHunt looks for a host's secrets wherever they must never be.
type leakHunt struct {
	h        sandbox.Host
	secrets  []secret     // read from the host once the first apply made them
	logFile  string       // TF_LOG trace of the CLI and the provider
	workDirs string       // TF_ACC_TEMP_DIR: the working dirs with state and saved plans
	argv     *argvSampler // the argv seen during the current step's apply
}

// leaksIn names the secrets found in data, never their values.
func (l *leakHunt) leaksIn(where string, data []byte) error {
	var found []string
	for _, s := range l.secrets {
		for _, needle := range s.needles() {
			if bytes.Contains(data, []byte(needle)) {
				found = append(found, s.path)
				break
			}
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%s holds the secret in %s", where, strings.Join(found, ", "))
	}
	return nil
}

// everywhere looks in every place a secret must not be.
func (l *leakHunt) everywhere(t *testing.T, s *terraform.State) error {
	return errors.Join(l.inState(s), l.inLog(), l.inArgv(), l.inNixStores(t))
}

// inState looks in the state the test framework holds and in every file of
// the working dirs: state files, backups and saved plans (zips, opened).
func (l *leakHunt) inState(s *terraform.State) error {
	state, err := json.Marshal(s)
	if err != nil {
		return err
	}
	errs := []error{l.leaksIn("the Terraform state", state)}
	files, err := filesUnder(l.workDirs)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(slices.Collect(maps.Keys(files)), func(p string) bool { return filepath.Base(p) == "terraform.tfstate" }) {
		errs = append(errs, fmt.Errorf("no terraform.tfstate under %s: the hunt does not see the state file", l.workDirs))
	}
	for path, content := range files {
		errs = append(errs, l.leaksIn(path, content))
	}
	return errors.Join(errs...)
}

// filesUnder reads every regular file under dir, and every member of the
// zip archives among them (saved plans), named archive!member.
func filesUnder(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files[path] = content
		return readZipMembers(files, path, content)
	})
	return files, err
}

// readZipMembers adds the members of a zip archive, named archive!member;
// content that is not a zip adds nothing.
func readZipMembers(files map[string][]byte, path string, content []byte) error {
	if !bytes.HasPrefix(content, []byte("PK\x03\x04")) {
		return nil
	}
	archive, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, member := range archive.File {
		r, err := member.Open()
		if err != nil {
			return err
		}
		files[path+"!"+member.Name], err = io.ReadAll(r)
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// inLog looks in the TF_LOG trace, after making sure that it holds both the
// CLI's trace and the provider's own debug lines, so that a trace that
// missed the provider cannot pass as clean.
func (l *leakHunt) inLog() error {
	log, err := os.ReadFile(l.logFile)
	if err != nil {
		return fmt.Errorf("the TF_LOG trace: %w", err)
	}
	// The CLI's own version line ("OpenTofu version" or "Terraform version")
	// proves the CLI's trace is in the file.
	if !bytes.Contains(log, []byte("OpenTofu version")) && !bytes.Contains(log, []byte("Terraform version")) {
		return fmt.Errorf("the TF_LOG trace %s (%d bytes) has no line from the CLI: it does not capture what it should", l.logFile, len(log))
	}
	for _, want := range []string{"SSH command starting", "SSH command finished"} {
		if !bytes.Contains(log, []byte(want)) {
			return fmt.Errorf("the TF_LOG trace %s (%d bytes) has no %q line: it does not capture what it should", l.logFile, len(log), want)
		}
	}
	return l.leaksIn("the TF_LOG trace "+l.logFile, log)
}

// inArgv looks in every command line seen during the apply.
func (l *leakHunt) inArgv() error {
	lines, rounds := l.argv.commandLines()
	// A sampler that never saw the build did not watch the deploy.
	if !slices.ContainsFunc(lines, func(argv []string) bool { return filepath.Base(argv[0]) == "nix-build" }) {
		return fmt.Errorf("sampling argv %d times saw no nix-build: it did not watch the deploy", rounds)
	}
	var errs []error
	for _, argv := range lines {
		errs = append(errs, l.leaksIn("the argv of "+argv[0], []byte(strings.Join(argv, "\x00"))))
	}
	return errors.Join(errs...)
}

// inNixStores greps the host's Nix store and the machine's, whole.
func (l *leakHunt) inNixStores(t *testing.T) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	grep := []string{"grep", "-rlF", "-f", "-", "--", "/nix/store"}
	return errors.Join(
		l.grep(l.h.Name+"'s Nix store", l.h.Exec(ctx, grep...)),
		l.grep("the machine's Nix store", exec.CommandContext(ctx, grep[0], grep[1:]...)),
	)
}

// grep runs a grep that takes its patterns on stdin, so that its own argv
// holds no secret, and names the files it finds.
func (l *leakHunt) grep(where string, cmd *exec.Cmd) error {
	var patterns []string
	for _, s := range l.secrets {
		for _, n := range s.needles() {
			if !strings.Contains(n, "\n") { // grep takes one pattern per line
				patterns = append(patterns, n)
			}
		}
	}
	cmd.Stdin = strings.NewReader(strings.Join(patterns, "\n") + "\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case len(out) > 0:
		return fmt.Errorf("%s holds secrets, in:\n%s", where, out)
	case errors.As(err, &exit) && exit.ExitCode() == 1: // nothing found
		return nil
	default:
		return fmt.Errorf("grepping %s: %w\n%s", where, err, stderr.String())
	}
}

// planCheck looks in a plan, as `show -json` has it.
func (l *leakHunt) planCheck(which string) plancheck.PlanCheck {
	return planLeakCheck{hunt: l, which: which}
}

type planLeakCheck struct {
	hunt  *leakHunt
	which string
}

func (c planLeakCheck) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	plan, err := json.Marshal(req.Plan)
	if err == nil {
		err = c.hunt.leaksIn(c.which, plan)
	}
	resp.Error = err
}

// argvSampler keeps every distinct command line on the machine while it
// runs; sandbox hosts share the machine's process table.
type argvSampler struct {
	mu     sync.Mutex
	seen   map[string]bool
	rounds int
	stop   func()
}

func sampleArgv(t *testing.T) *argvSampler {
	a := &argvSampler{seen: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			a.sample()
			time.Sleep(5 * time.Millisecond)
		}
	}()
	var once sync.Once
	a.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(a.stop)
	return a
}

func (a *argvSampler) sample() {
	paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range paths {
		if argv, err := os.ReadFile(p); err == nil && len(argv) > 0 {
			a.seen[string(argv)] = true
		}
	}
	a.rounds++
}

// commandLines stops sampling and returns each command line seen, split
// into its arguments, and how many times the process table was read.
func (a *argvSampler) commandLines() ([][]string, int) {
	a.stop()
	lines := make([][]string, 0, len(a.seen))
	for argv := range a.seen {
		lines = append(lines, strings.Split(strings.TrimSuffix(argv, "\x00"), "\x00"))
	}
	return lines, a.rounds
}

package pgtest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// installation is what every server of this test binary shares: where the
// binaries are, whom they run as, and the initdb'd data dir to copy.
type installation struct {
	binDir   string
	owner    *syscall.Credential
	template string
}

// templateFormat changes whenever the initdb flags below change, so that a
// cached template made with other flags is not reused.
const templateFormat = "2"

// findInstallation runs once per test binary: initdb takes seconds, a copy
// of its result a fraction of one.
var findInstallation = sync.OnceValues(func() (*installation, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root (to run the server as the postgres user)")
	}
	owner, err := postgresUser()
	if err != nil {
		return nil, err
	}
	binDir, err := findBinDir()
	if err != nil {
		return nil, err
	}
	sweepAbandonedDirs()
	inst := &installation{binDir: binDir, owner: owner}
	inst.template, err = inst.cachedTemplate()
	if err != nil {
		return nil, err
	}
	return inst, nil
})

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("needs the postgres OS user (Debian: postgresql)")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// findBinDir prefers what pg_config says, but on Debian pg_config may come
// from libpq-dev and name /usr/bin, which holds no server; so each candidate
// must actually contain the server binaries.
func findBinDir() (string, error) {
	var candidates []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versioned, func(i, j int) bool { return majorOf(versioned[i]) > majorOf(versioned[j]) })
	candidates = append(candidates, versioned...)
	for _, dir := range candidates {
		if hasServerBinaries(dir) {
			return dir, nil
		}
	}
	return "", errors.New("needs PostgreSQL server binaries (initdb, pg_ctl, postgres) from pg_config --bindir or /usr/lib/postgresql/*/bin (Debian: postgresql)")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func hasServerBinaries(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// cachedTemplate returns an initdb'd data dir, kept across test runs in the
// user cache dir (keyed by server version and flags) so that no run leaves
// a template behind in /tmp and most runs skip initdb entirely.
func (inst *installation) cachedTemplate() (string, error) {
	cacheRoot, err := os.UserCacheDir()
	if err != nil {
		cacheRoot = os.TempDir()
	}
	key, err := inst.templateKey()
	if err != nil {
		return "", err
	}
	template := filepath.Join(cacheRoot, "fediversity-pgtest", key)
	if _, err := os.Stat(filepath.Join(template, "PG_VERSION")); err == nil {
		return template, nil
	}
	if err := os.MkdirAll(filepath.Dir(template), 0o700); err != nil {
		return "", err
	}
	return template, inst.initTemplate(template)
}

func (inst *installation) templateKey() (string, error) {
	out, err := exec.Command(filepath.Join(inst.binDir, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("postgres --version: %w", err)
	}
	sum := sha256.Sum256([]byte(inst.binDir + "\x00" + string(out) + "\x00" + templateFormat))
	return "template-" + hex.EncodeToString(sum[:8]), nil
}

// initTemplate runs initdb in a postgres-owned scratch dir (the cache dir
// may not be reachable for that user), copies the result next to the
// template's final place and renames it there, so that concurrent test
// binaries never see half a template.
func (inst *installation) initTemplate(template string) error {
	scratch, err := inst.ownedTempDir("pgtest-initdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	data := filepath.Join(scratch, "data")
	initdb := exec.Command(filepath.Join(inst.binDir, "initdb"), "-D", data,
		"--auth=trust", "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-sync", "--wal-segsize=1")
	if out, err := inst.runAsOwner(initdb); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	staging, err := os.MkdirTemp(filepath.Dir(template), ".staging-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging)
	if err := copyTree(data, filepath.Join(staging, "data")); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(staging, "data"), template); err != nil {
		// Another test binary got there first; its template is as good.
		if _, statErr := os.Stat(filepath.Join(template, "PG_VERSION")); statErr == nil {
			return nil
		}
		return err
	}
	return nil
}

// ownedTempDir makes a fresh dir that the postgres user owns (the default
// temp dirs of tests are root-only), in memory where possible: copying the
// template's thousand small files onto a disk costs about a second here,
// into tmpfs a tenth of that.
func (inst *installation) ownedTempDir(prefix string) (string, error) {
	dir, err := os.MkdirTemp("/dev/shm", prefix)
	if err != nil {
		dir, err = os.MkdirTemp("", prefix)
	}
	if err != nil {
		return "", err
	}
	if err := os.Chown(dir, int(inst.owner.Uid), int(inst.owner.Gid)); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// sweepAbandonedDirs removes server dirs of test binaries that were killed
// before their cleanup ran (they hold tens of megabytes, in memory under
// /dev/shm): dirs over an hour old whose server no longer runs.
func sweepAbandonedDirs() {
	for _, root := range []string{"/dev/shm", os.TempDir()} {
		dirs, _ := filepath.Glob(filepath.Join(root, "pgtest-*"))
		for _, dir := range dirs {
			info, err := os.Stat(dir)
			if err == nil && time.Since(info.ModTime()) > time.Hour && !postmasterRunning(dir) {
				os.RemoveAll(dir)
			}
		}
	}
}

func postmasterRunning(dir string) bool {
	pidFile, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.SplitN(string(pidFile), "\n", 2)[0])
	return err == nil && pid > 0 && syscall.Kill(pid, 0) == nil
}

// runAsOwner runs a PostgreSQL tool as the postgres user: the server and
// initdb refuse to run as root.
func (inst *installation) runAsOwner(cmd *exec.Cmd) ([]byte, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: inst.owner}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// copyTree copies a data dir keeping owners and modes, as the server insists
// on a 0700 data dir owned by its user.
func copyTree(src, dst string) error {
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		return fmt.Errorf("copy %s: %w\n%s", src, err, out)
	}
	return nil
}

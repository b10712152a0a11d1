package supervisor

import (
	"os"
	"path/filepath"
	"strconv"
)

// prepareDirectories creates StateDirectory= and friends, owned by the
// unit's user, and returns their paths by environment variable
// (STATE_DIRECTORY, ...), as systemd does before starting a unit.
func prepareDirectories(paths Paths, u Unit, id identity) (map[string][]string, error) {
	byEnv := map[string][]string{}
	for _, d := range u.directories() {
		p := paths.Join(filepath.Join(d.base, d.name))
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(p, id.uid, id.gid); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, directoryMode(d.mode)); err != nil {
			return nil, err
		}
		byEnv[d.env] = append(byEnv[d.env], p)
	}
	return byEnv, nil
}

// removeRuntimeDirectories removes RuntimeDirectory= entries when a unit
// stops for good, as systemd does (RuntimeDirectoryPreserve=no).
func removeRuntimeDirectories(paths Paths, u Unit) {
	for _, d := range u.directories() {
		if d.runtime {
			_ = os.RemoveAll(paths.Join(filepath.Join(d.base, d.name)))
		}
	}
}

func directoryMode(s string) os.FileMode {
	if n, err := strconv.ParseUint(s, 8, 32); err == nil && s != "" {
		return os.FileMode(n) & os.ModePerm
	}
	return 0o755
}

package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
)

// Leftovers describes everything of the fleet in dir that is still alive:
// processes of its hosts and of their containers, mounts under dir in this
// process's mount table, its processes' listeners on its hosts' SSH
// addresses (not those of whoever took an address over since). Empty when
// clean.
func Leftovers(dir string) ([]string, error) {
	dir, err := canonicalDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var found []string
	for _, r := range hostRecords(dir) {
		found = append(found, processLeftovers(r)...)
	}
	mounts, err := mountsUnder(dir)
	if err != nil {
		return nil, err
	}
	for _, m := range mounts {
		found = append(found, "mount on the machine: "+m)
	}
	return found, nil
}

// processLeftovers describes the live processes of a host and of its
// containers, and those listening on the host's SSH address.
func processLeftovers(r record) []string {
	var found []string
	var procs []mountns.Process
	seen := map[int]bool{}
	for _, l := range r.launches() {
		for _, p := range l.Processes() {
			if !seen[p.PID] {
				seen[p.PID] = true
				procs = append(procs, p)
				found = append(found, fmt.Sprintf("%s: %v is alive (%s, namespace %s)", r.Name, p, l.Name, l.MountNS))
			}
		}
	}
	for _, p := range listenersAmong(procs, r.Address, sshPort) {
		found = append(found, fmt.Sprintf("%s: %v listens on %s:%d", r.Name, p, r.Address, sshPort))
	}
	return found
}

// mountsUnder lists mounts in this process's mount table that sit under dir
// or show a directory under dir (a bind mount that leaked out of a host).
// Both are compared as paths, which is exact when dir is on the root fs.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var found []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) < 5 {
			continue
		}
		root, mountPoint := unescapeMountPath(fields[3]), unescapeMountPath(fields[4])
		if within(mountPoint, dir) || within(root, dir) {
			found = append(found, fmt.Sprintf("%s (from %s)", mountPoint, root))
		}
	}
	return found, scanner.Err()
}

// unescapeMountPath undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMountPath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

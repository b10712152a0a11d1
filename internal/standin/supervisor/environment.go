package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// defaultPath is systemd's PATH for units that set none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// environmentOf builds a unit's environment as systemd does: the user's
// identity, the directories it was given, Environment=, and then
// EnvironmentFile= entries, which override.
func environmentOf(u Unit, id identity, dirs map[string][]string) ([]string, error) {
	env := map[string]string{
		"PATH":    defaultPath,
		"HOME":    id.home,
		"USER":    id.name,
		"LOGNAME": id.name,
		"SHELL":   id.shell,
		"LANG":    "C.UTF-8",
	}
	for name, paths := range dirs {
		env[name] = strings.Join(paths, ":")
	}
	for k, v := range u.Environment {
		env[k] = v
	}
	for _, file := range u.EnvironmentFiles {
		if err := readEnvironmentFile(file, env); err != nil {
			return nil, err
		}
	}
	list := make([]string, 0, len(env))
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list, nil
}

// readEnvironmentFile reads KEY=VALUE lines (# comments, optional quotes).
// A leading "-" on the file name, as in systemd, makes a missing file fine.
func readEnvironmentFile(name string, env map[string]string) error {
	optional := strings.HasPrefix(name, "-")
	name = strings.TrimPrefix(name, "-")
	f, err := os.Open(filepath.Clean(name))
	if err != nil {
		if optional && os.IsNotExist(err) {
			return nil
		}
		return fmt.Errorf("EnvironmentFile: %w", err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := strings.TrimSpace(scanner.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		key, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		env[strings.TrimSpace(key)] = unquote(strings.TrimSpace(value))
	}
	return scanner.Err()
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		if v[0] == '"' {
			if s, err := strconv.Unquote(v); err == nil {
				return s
			}
		}
		return v[1 : len(v)-1]
	}
	return v
}

package activate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// reportFailures prints, as NixOS does, "the following units failed: ..."
// with the state and last log lines of each, and says whether any failed.
// Like NixOS it names every failed unit, not only those of this switch.
func (s *switcher) reportFailures(ctx context.Context, client supervisor.Client, failed map[string]string) bool {
	if units, err := client.Status(ctx); err == nil {
		for _, u := range units {
			if _, known := failed[u.Name]; !known && u.State == supervisor.StateFailed {
				failed[u.Name] = describe(u)
			}
		}
	}
	if len(failed) == 0 {
		return false
	}
	names := make([]string, 0, len(failed))
	for n := range failed {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(s.stderr, "warning: the following units failed: %s\n", strings.Join(names, ", "))
	for _, n := range names {
		fmt.Fprintf(s.stderr, "\n× %s: %s\n", n, failed[n])
		log := s.paths.UnitLog(n)
		if lines := tail(log, 10); lines != "" {
			fmt.Fprintf(s.stderr, "  last lines of %s:\n%s\n", log, indent(lines, "    "))
		}
	}
	return true
}

// tail returns the last n lines of a file, or "" when it cannot be read.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64<<10), 1<<20)
	for scanner.Scan() {
		lines = append(lines, scanner.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func indent(text, prefix string) string {
	return prefix + strings.ReplaceAll(text, "\n", "\n"+prefix)
}

package activate

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

// dryActivate prints what a switch would do to the units, changing nothing
// (and starting no supervisor: without one, every unit would be new).
func (s *switcher) dryActivate(ctx context.Context, units []supervisor.Unit) int {
	var current []supervisor.UnitStatus
	client := supervisor.NewClient(s.paths)
	if client.Running() {
		var err error
		if current, err = client.Status(ctx); err != nil {
			fmt.Fprintf(s.stderr, "error: %v\n", err)
			return exitError
		}
	}
	p := makePlan(units, current)
	var restart, start []string
	for _, u := range p.start {
		if p.restart[u.Name] {
			restart = append(restart, u.Name)
		} else {
			start = append(start, u.Name)
		}
	}
	s.would("stop", p.stop)
	s.would("NOT restart", p.kept)
	fmt.Fprintln(s.stderr, "would activate the configuration...")
	s.would("restart", restart)
	s.would("start", start)
	return exitOK
}

func (s *switcher) would(what string, units []string) {
	if len(units) == 0 {
		return
	}
	sorted := append([]string{}, units...)
	sort.Strings(sorted)
	fmt.Fprintf(s.stderr, "would %s the following units: %s\n", what, strings.Join(sorted, ", "))
}

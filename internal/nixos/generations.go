package nixos

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Generation is one system of a profile.
type Generation struct {
	Number  int64
	System  string // store path
	Current bool
}

// Generations lists a profile's generations in ascending order.
func Generations(ctx context.Context, r Remote, p Profile) ([]Generation, error) {
	out, err := r.Output(ctx, "sh", "-c", generationsScript, "sh", p.Path)
	if err != nil {
		return nil, fmt.Errorf("listing generations of %s: %w", p.Path, err)
	}
	return parseGenerations(string(out))
}

func parseGenerations(out string) ([]Generation, error) {
	var gens []Generation
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || len(fields) < 2 {
			return nil, fmt.Errorf("unexpected generation line %q", line)
		}
		gens = append(gens, Generation{Number: n, System: fields[1], Current: len(fields) > 2 && fields[2] == "current"})
	}
	slices.SortFunc(gens, func(a, b Generation) int { return cmp.Compare(a.Number, b.Number) })
	return gens, nil
}

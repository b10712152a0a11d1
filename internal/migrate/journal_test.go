package migrate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// journalHost is a target host that only keeps a journal: reads answer
// with it, writes replace it, and any other command is recorded.
type journalHost struct {
	journal string
	others  [][]string
}

func (h *journalHost) Run(_ context.Context, cmd remote.Cmd) error {
	switch {
	case len(cmd.Args) > 2 && cmd.Args[2] == writeFileScript:
		b, err := io.ReadAll(cmd.Stdin)
		h.journal = string(b)
		return err
	case len(cmd.Args) > 2 && strings.Contains(cmd.Args[2], "cat"):
		_, err := io.WriteString(cmd.Stdout, h.journal)
		return err
	}
	h.others = append(h.others, cmd.Args)
	return nil
}

func journalOf(t *testing.T, done ...string) string {
	b, err := json.Marshal(Journal{Operator: "club", Done: done})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// RELIABILITY 25: finalize refuses until the target is verified and
// started, and then touches nothing at either side.
func TestFinalizeRefusesBeforeTheTargetRuns(t *testing.T) {
	for _, done := range [][]string{nil, {PhasePreflight, PhaseDeployHeld, PhaseStopSource, PhaseCopy}, {PhasePreflight, PhaseDeployHeld, PhaseStopSource, PhaseCopy, PhaseVerify}} {
		target, source := &journalHost{journal: journalOf(t, done...)}, &journalHost{}
		m := Migration{Operator: Operator{Name: "club", Domain: "club.example"}, Source: Endpoint{Host: source, Root: "/"}, Target: Endpoint{Host: target, Root: "/"}}
		err := m.Finalize(context.Background())
		if !errors.Is(err, ErrNotVerified) {
			t.Errorf("after %v: finalize gave %v, want ErrNotVerified", done, err)
		}
		if len(source.others) > 0 || len(target.others) > 0 {
			t.Errorf("after %v: a refused finalize ran %q at the source and %q at the target", done, source.others, target.others)
		}
	}
}

// A migration that is complete does nothing when run again.
func TestRunAfterTheLastPhaseDoesNothing(t *testing.T) {
	target, source := &journalHost{journal: journalOf(t, Phases...)}, &journalHost{}
	deployed := false
	m := Migration{Operator: Operator{Name: "club"}, Source: Endpoint{Host: source, Root: "/"}, Target: Endpoint{Host: target, Root: "/"},
		Deploy: func(context.Context, bool) error { deployed = true; return nil }}
	j, err := m.Run(context.Background())
	if err != nil || j.Phase() != PhaseStart || deployed || len(source.others) > 0 || len(target.others) > 0 {
		t.Fatalf("ran again: phase %q, err %v, deployed %v, commands %q %q", j.Phase(), err, deployed, source.others, target.others)
	}
}

// An application's rule may leave a table's rows behind (Synapse's
// one-time keys): the copy must then hold none of them, and everything
// else as the source has it.
func TestExpectedRowsFollowTheRules(t *testing.T) {
	db := Database{Name: "matrix-synapse", SkipData: []string{"e2e_one_time_keys_json"}}
	got := db.expected(map[string]int64{"public.e2e_one_time_keys_json": 7, "public.events": 300, "other.e2e_one_time_keys_json_old": 2})
	want := map[string]int64{"public.e2e_one_time_keys_json": 0, "public.events": 300, "other.e2e_one_time_keys_json_old": 2}
	if len(CompareRowCounts(want, got)) > 0 {
		t.Fatalf("expected rows %v, want %v", got, want)
	}
}

package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// Phases of a migration, in order. Each is recorded in the journal once
// it is complete, so that a migration run again (after a kill, a lost
// connection, an error fixed by hand) resumes after the last one done.
const (
	PhasePreflight  = "preflight"   // both sides checked; nothing changed
	PhaseDeployHeld = "deploy-held" // operator on the target, its apps held back
	PhaseStopSource = "stop-source" // the source's apps stopped
	PhaseCopy       = "copy"        // data streamed to the target
	PhaseVerify     = "verify"      // the target matches the source's manifest
	PhaseStart      = "start"       // the target's apps started and healthy
	PhaseFinalize   = "finalize"    // the source's data deleted
)

// Phases lists the phases of a migration up to its start; finalizing is a
// separate, explicit step.
var Phases = []string{PhasePreflight, PhaseDeployHeld, PhaseStopSource, PhaseCopy, PhaseVerify, PhaseStart}

// Journal is what a migration has done, kept on the target host.
type Journal struct {
	Operator string   `json:"operator"`
	Source   string   `json:"source"` // host and runtime the operator comes from
	Done     []string `json:"done"`   // phases complete, in order
	// Manifests of the source, taken once its apps were stopped: what the
	// target is verified against, and what finalize compares with last.
	Trees map[string]Manifest         `json:"trees,omitempty"`
	Rows  map[string]map[string]int64 `json:"rows,omitempty"`
}

// Has says whether phase is complete.
func (j Journal) Has(phase string) bool { return slices.Contains(j.Done, phase) }

// Phase is the last phase complete, or "" for none.
func (j Journal) Phase() string {
	if len(j.Done) == 0 {
		return ""
	}
	return j.Done[len(j.Done)-1]
}

// journalDir holds one journal per operator on the target host.
const journalDir = "/var/lib/fediversity/migrations"

func journalPath(operator string) string { return path.Join(journalDir, operator+".json") }

// ReadJournal reads the operator's journal from the target host; a
// migration never started has an empty one.
func ReadJournal(ctx context.Context, target Runner, operator string) (Journal, error) {
	var out bytes.Buffer
	err := target.Run(ctx, remote.Cmd{Args: []string{"sh", "-c", `[ ! -e "$1" ] || cat "$1"`, "sh", journalPath(operator)}, Stdout: &out})
	if err != nil {
		return Journal{}, fmt.Errorf("reading the migration journal of %s: %w", operator, err)
	}
	j := Journal{Operator: operator}
	if out.Len() == 0 {
		return j, nil
	}
	if err := json.Unmarshal(out.Bytes(), &j); err != nil {
		return j, fmt.Errorf("the migration journal %s on the target is unreadable (%w); move it away to start the migration over", journalPath(operator), err)
	}
	return j, nil
}

// write replaces the journal on the target host atomically.
func (j Journal) write(ctx context.Context, target Runner) error {
	content, err := json.Marshal(j)
	if err != nil {
		return err
	}
	err = target.Run(ctx, remote.Cmd{
		Args:  []string{"sh", "-c", writeFileScript, "sh", journalPath(j.Operator)},
		Stdin: bytes.NewReader(content),
	})
	if err != nil {
		return fmt.Errorf("recording the migration of %s on the target: %w", j.Operator, err)
	}
	return nil
}

// complete records phase as done.
func (j *Journal) complete(ctx context.Context, target Runner, phase string) error {
	if j.Has(phase) {
		return nil
	}
	j.Done = append(j.Done, phase)
	return j.write(ctx, target)
}

// writeFileScript writes stdin to $1 through a temp file and a rename,
// readable by root only.
const writeFileScript = `
set -eu
umask 077
mkdir -p "$(dirname "$1")"
tmp=$(mktemp "$1.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat >"$tmp"
mv -f "$tmp" "$1"
trap - EXIT
`

// ErrNotVerified refuses a finalize before the target is verified and runs.
var ErrNotVerified = errors.New("the target is not verified and started yet")

package nixos

import (
	"fmt"
	"strings"
)

// Stages at which an activation can fail.
const (
	StageLock   = "lock"   // another build or switch held the profile's lock too long
	StageBuild  = "build"  // the system did not build; nothing was changed
	StageSwitch = "switch" // setting the profile or switch-to-configuration failed
	StageHealth = "health" // the switch succeeded but the system is not healthy
)

// ActivationError reports a failed activation and what was done about it.
type ActivationError struct {
	Profile, Toplevel string
	Stage             string
	ExitStatus        string // of switch-to-configuration; 4 means units failed
	Log               string // tail of the switch's output
	Holder            string // who held the lock, for StageLock
	Cause             error  // the health check's answer, for StageHealth
	RolledBackTo      string // the system running again, empty if no rollback happened
	RollbackErr       error  // why the rollback failed or was impossible
}

func (e *ActivationError) Error() string {
	var b strings.Builder
	switch e.Stage {
	case StageLock:
		fmt.Fprintf(&b, "another build or switch of %s held its lock (%s); nothing was changed", e.Profile, orUnknown(e.Holder))
		return b.String()
	case StageBuild:
		fmt.Fprintf(&b, "building the system of %s failed; the running system is untouched", e.Profile)
		if e.Log != "" {
			fmt.Fprintf(&b, "\nlast lines of the build:\n%s", e.Log)
		}
		return b.String()
	case StageSwitch:
		fmt.Fprintf(&b, "switching %s to %s failed with exit status %s%s", e.Profile, e.Toplevel, e.ExitStatus, unitsHint(e.ExitStatus))
	case StageHealth:
		fmt.Fprintf(&b, "%s switched to %s but the health check failed: %v", e.Profile, e.Toplevel, e.Cause)
	}
	switch {
	case e.RolledBackTo != "":
		fmt.Fprintf(&b, "; rolled back to %s", e.RolledBackTo)
	case e.RollbackErr != nil:
		fmt.Fprintf(&b, "; NOT rolled back: %v", e.RollbackErr)
	}
	if e.Log != "" {
		fmt.Fprintf(&b, "\nlast lines of the switch:\n%s", e.Log)
	}
	return b.String()
}

func (e *ActivationError) Unwrap() error { return e.Cause }

func unitsHint(status string) string {
	if status == "4" {
		return " (some units failed to start)"
	}
	return ""
}

func orUnknown(s string) string {
	if s == "" {
		return "holder unknown"
	}
	return strings.TrimSpace(s)
}

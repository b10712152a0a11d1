package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Command is one Exec line of a unit, as units.json gives it.
type Command struct {
	Argv          []string `json:"argv"`
	IgnoreFailure bool     `json:"ignoreFailure,omitempty"` // "-" prefix
	Privileged    bool     `json:"privileged,omitempty"`    // "+" or "!" prefix: run as root
}

// Unit is one service of a system, resolved by the stand-in nixpkgs
// (nixos/lib/units-json.nix) from systemd.services.<name>.
type Unit struct {
	Name                 string            `json:"name"`
	Description          string            `json:"description,omitempty"`
	Type                 string            `json:"type"` // "simple" or "oneshot"
	RemainAfterExit      bool              `json:"remainAfterExit,omitempty"`
	Start                []Command         `json:"start"`
	StartPre             []Command         `json:"startPre,omitempty"`
	StartPost            []Command         `json:"startPost,omitempty"`
	User                 string            `json:"user,omitempty"`
	Group                string            `json:"group,omitempty"`
	SupplementaryGroups  []string          `json:"supplementaryGroups,omitempty"`
	Environment          map[string]string `json:"environment,omitempty"`
	EnvironmentFiles     []string          `json:"environmentFiles,omitempty"`
	WorkingDirectory     string            `json:"workingDirectory,omitempty"`
	Restart              string            `json:"restart,omitempty"` // no, on-failure, always, ...
	RestartSec           string            `json:"restartSec,omitempty"`
	TimeoutStartSec      string            `json:"timeoutStartSec,omitempty"`
	TimeoutStopSec       string            `json:"timeoutStopSec,omitempty"`
	KillSignal           string            `json:"killSignal,omitempty"`
	StartLimitBurst      int               `json:"startLimitBurst,omitempty"`
	StartLimitInterval   string            `json:"startLimitIntervalSec,omitempty"`
	StateDirectories     []string          `json:"stateDirectories,omitempty"`
	RuntimeDirectories   []string          `json:"runtimeDirectories,omitempty"`
	LogsDirectories      []string          `json:"logsDirectories,omitempty"`
	CacheDirectories     []string          `json:"cacheDirectories,omitempty"`
	StateDirectoryMode   string            `json:"stateDirectoryMode,omitempty"`
	RuntimeDirectoryMode string            `json:"runtimeDirectoryMode,omitempty"`
	WantedBy             []string          `json:"wantedBy,omitempty"`
	RequiredBy           []string          `json:"requiredBy,omitempty"`
	After                []string          `json:"after,omitempty"`
	Before               []string          `json:"before,omitempty"`
	Requires             []string          `json:"requires,omitempty"`
	Wants                []string          `json:"wants,omitempty"`
	Autostart            bool              `json:"autostart,omitempty"`
	RestartIfChanged     bool              `json:"restartIfChanged"`
	Hash                 string            `json:"hash"`
}

// UnitsFile is the shape of a system's units.json.
type UnitsFile struct {
	Version int    `json:"version"`
	Units   []Unit `json:"units"`
}

// ReadUnitsFile reads and checks a system's units.json.
func ReadUnitsFile(path string) ([]Unit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f UnitsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("%s: units.json version %d, this program reads version 1", path, f.Version)
	}
	for _, u := range f.Units {
		if err := u.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return f.Units, nil
}

// Unit names become file names (logs); keep them to systemd's alphabet.
var unitNamePattern = regexp.MustCompile(`^[A-Za-z0-9@._:\\-]+$`)

// Validate rejects a unit the supervisor could not run sensibly.
func (u Unit) Validate() error {
	if !unitNamePattern.MatchString(u.Name) || u.Name == "." || u.Name == ".." {
		return fmt.Errorf("unit name %q is not a valid unit name", u.Name)
	}
	switch u.Type {
	case "simple":
		if len(u.Start) != 1 {
			return fmt.Errorf("unit %s: a simple unit needs exactly one start command, it has %d", u.Name, len(u.Start))
		}
	case "oneshot":
	default:
		return fmt.Errorf("unit %s: type %q is neither simple nor oneshot", u.Name, u.Type)
	}
	for _, c := range u.commands() {
		if len(c.Argv) == 0 {
			return fmt.Errorf("unit %s: an empty command", u.Name)
		}
	}
	for _, d := range u.directories() {
		if d.name == "" || strings.HasPrefix(d.name, "/") || strings.Contains("/"+d.name+"/", "/../") {
			return fmt.Errorf("unit %s: directory %q must be relative and must not contain \"..\"", u.Name, d.name)
		}
	}
	return nil
}

func (u Unit) commands() []Command {
	return append(append(append([]Command{}, u.StartPre...), u.Start...), u.StartPost...)
}

// unitDirectory is a StateDirectory= (or Runtime, Logs, Cache) entry.
type unitDirectory struct {
	base    string // /var/lib, /run, ...
	name    string // relative to base
	env     string // STATE_DIRECTORY, ...
	mode    string
	runtime bool // removed when the unit stops
}

func (u Unit) directories() []unitDirectory {
	var dirs []unitDirectory
	add := func(base, env, mode string, runtime bool, names []string) {
		for _, n := range names {
			dirs = append(dirs, unitDirectory{base: base, name: n, env: env, mode: mode, runtime: runtime})
		}
	}
	add("/var/lib", "STATE_DIRECTORY", u.StateDirectoryMode, false, u.StateDirectories)
	add("/run", "RUNTIME_DIRECTORY", u.RuntimeDirectoryMode, true, u.RuntimeDirectories)
	add("/var/log", "LOGS_DIRECTORY", "0755", false, u.LogsDirectories)
	add("/var/cache", "CACHE_DIRECTORY", "0755", false, u.CacheDirectories)
	return dirs
}

// Timing of a unit, from systemd time spans with systemd's defaults.
func (u Unit) restartDelay() time.Duration { return parseTimeSpan(u.RestartSec, 100*time.Millisecond) }
func (u Unit) stopTimeout() time.Duration  { return parseTimeSpan(u.TimeoutStopSec, 90*time.Second) }
func (u Unit) startLimit() (int, time.Duration) {
	burst := u.StartLimitBurst
	if burst <= 0 {
		burst = 5
	}
	return burst, parseTimeSpan(u.StartLimitInterval, 10*time.Second)
}

// StartTimeout is how long a start may take (TimeoutStartSec=).
func (u Unit) StartTimeout() time.Duration { return parseTimeSpan(u.TimeoutStartSec, 90*time.Second) }

var timeSpanUnits = map[string]time.Duration{
	"us": time.Microsecond, "ms": time.Millisecond,
	"": time.Second, "s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

var timeSpanPart = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)`)

// parseTimeSpan reads systemd time spans: "5", "100ms", "1min 30s",
// "infinity" (a very long time). Empty or malformed gives def.
func parseTimeSpan(s string, def time.Duration) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return def
	}
	if s == "infinity" {
		return 100 * 365 * 24 * time.Hour
	}
	var total time.Duration
	for s != "" {
		m := timeSpanPart.FindStringSubmatch(s)
		if m == nil {
			return def
		}
		unit, ok := timeSpanUnits[m[2]]
		if !ok {
			return def
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		total += time.Duration(n * float64(unit))
		s = strings.TrimSpace(s[len(m[0]):])
	}
	return total
}

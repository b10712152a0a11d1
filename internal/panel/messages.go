package panel

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is one line of OpenTofu's machine-readable output (-json): a
// version line, progress of a resource (type apply_start, apply_complete,
// ...), a diagnostic, a summary of changes.
type Message struct {
	Level      string          `json:"@level"`
	Text       string          `json:"@message"`
	Timestamp  time.Time       `json:"@timestamp"`
	Type       string          `json:"type,omitempty"`
	Diagnostic *Diagnostic     `json:"diagnostic,omitempty"`
	Hook       json.RawMessage `json:"hook,omitempty"`
	Changes    json.RawMessage `json:"changes,omitempty"`
}

// Diagnostic is an error or warning as OpenTofu reports it.
type Diagnostic struct {
	Severity string   `json:"severity"`
	Summary  string   `json:"summary"`
	Detail   string   `json:"detail"`
	Address  string   `json:"address,omitempty"`
	Range    *Range   `json:"range,omitempty"`
	Snippet  *Snippet `json:"snippet,omitempty"`
}

// Range is where in the configuration a diagnostic points.
type Range struct {
	Filename string `json:"filename"`
	Start    Pos    `json:"start"`
	End      Pos    `json:"end"`
}

// Pos is a position in a file.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// Snippet is the configuration a diagnostic points at, with the values of
// the expressions in it.
type Snippet struct {
	Context              *string           `json:"context"`
	Code                 string            `json:"code"`
	StartLine            int               `json:"start_line"`
	HighlightStartOffset int               `json:"highlight_start_offset"`
	HighlightEndOffset   int               `json:"highlight_end_offset"`
	Values               []ExpressionValue `json:"values"`
}

// ExpressionValue is what a reference in a snippet held, such as
// {"traversal": "var.domain", "statement": "is \"Not A Domain\""}.
type ExpressionValue struct {
	Traversal string `json:"traversal"`
	Statement string `json:"statement"`
}

// Variables are the input variables a diagnostic's snippet refers to
// (var.domain): for an invalid value, the variable to fix.
func (d Diagnostic) Variables() []string {
	var vars []string
	if d.Snippet == nil {
		return nil
	}
	for _, v := range d.Snippet.Values {
		if name, ok := strings.CutPrefix(v.Traversal, "var."); ok {
			vars = append(vars, name)
		}
	}
	return vars
}

// ErrStateLocked is what an *Error is when its run could not lock the
// operator's workspace: another run of the operator holds it.
var ErrStateLocked = errors.New("the operator's workspace is locked by another run")

// Error is a failed run: its error diagnostics, or, when OpenTofu failed
// before it could say anything as JSON, what it printed.
type Error struct {
	Operator    string
	Command     string // init, workspace select, apply, output, destroy, ...
	Diagnostics []Diagnostic
	Output      string
	Err         error // how the command ended
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "panel: %s of operator %s failed", e.Command, e.Operator)
	for _, d := range e.Diagnostics {
		fmt.Fprintf(&b, "\n%s: %s", d.Summary, d.Detail)
	}
	if len(e.Diagnostics) == 0 {
		fmt.Fprintf(&b, " (%v)", e.Err)
		if out := strings.TrimSpace(e.Output); out != "" {
			b.WriteString(": " + out)
		}
	}
	return b.String()
}

// Unwrap gives how the command ended, and ErrStateLocked when it could not
// get the workspace's lock.
func (e *Error) Unwrap() []error {
	errs := []error{e.Err}
	for _, d := range e.Diagnostics {
		if d.Summary == "Error acquiring the state lock" {
			errs = append(errs, ErrStateLocked)
			break
		}
	}
	return errs
}

// mentions says whether anything the run said contains word.
func (e *Error) mentions(word string) bool {
	for _, d := range e.Diagnostics {
		if strings.Contains(strings.ToLower(d.Summary+" "+d.Detail), word) {
			return true
		}
	}
	return strings.Contains(strings.ToLower(e.Output), word)
}

// OperatorVars are the variables of examples/panel, as the panel writes
// them into <operator>.tfvars.json.
type OperatorVars struct {
	Name         string                 `json:"name"`
	Domain       string                 `json:"domain"`
	ContactEmail string                 `json:"contact_email"`
	Host         Host                   `json:"host"`
	Applications map[string]Application `json:"applications"`
	Runtime      *Runtime               `json:"runtime,omitempty"`
}

// Host is the host the panel picked, as fediversity_host.endpoint has it.
type Host struct {
	Address string `json:"address"`
	Port    int    `json:"port,omitempty"`
	User    string `json:"user,omitempty"`
	HostKey string `json:"host_key,omitempty"`
}

// Application is one application's settings; unset, the module's defaults.
type Application struct {
	Version           string `json:"version,omitempty"`
	Subdomain         string `json:"subdomain,omitempty"`
	RegistrationsOpen bool   `json:"registrations_open,omitempty"`
	UserLimit         int    `json:"user_limit,omitempty"`
	// RetainDataOnDestroy: nil keeps the module's default (true).
	RetainDataOnDestroy *bool `json:"retain_data_on_destroy,omitempty"`
}

// Runtime is the operator's runtime; unset, a NixOS container of its own.
type Runtime struct {
	Kind          string `json:"kind,omitempty"`
	ContainerName string `json:"container_name,omitempty"`
	BuildLocation string `json:"build_location,omitempty"`
}

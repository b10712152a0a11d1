package provider

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

// remoteErrorDiagnostic turns a transport or probe error into a diagnostic
// whose summary names the kind of failure and whose detail says what failed,
// where, and what to do. action says what the provider was doing.
func remoteErrorDiagnostic(action string, err error) diag.Diagnostic {
	summary, advice := classify(err)
	detail := fmt.Sprintf("%s failed: %v", action, err)
	if advice != "" {
		detail += "\n\n" + advice
	}
	return diag.NewErrorDiagnostic(summary, detail)
}

func classify(err error) (summary, advice string) {
	var (
		mismatch *remote.HostKeyMismatchError
		noKey    *remote.NoHostKeyError
		auth     *remote.AuthError
		timeout  *remote.TimeoutError
		command  *remote.CommandError
		lost     *remote.ConnectionLostError
		down     *remote.UnreachableError
	)
	switch {
	case errors.As(err, &mismatch):
		return "Host Key Mismatch", "Nothing was sent to the host. If the host was reinstalled or its key rotated on purpose, pin the new key in host_key; otherwise someone may be intercepting the connection."
	case errors.As(err, &noKey):
		return "Host Key Not Pinned", "Set host_key or list the host in the provider's known_hosts_file."
	case errors.As(err, &auth):
		return "SSH Authentication Failed", "Check the provider's user, private_key_file or ssh_agent, and that the key is authorised on the host."
	case errors.As(err, &timeout):
		return "Remote Command Timed Out", "The command was killed. Raise the provider's command_timeout if the host is just slow."
	case errors.As(err, &command):
		return "Remote Command Failed", ""
	case errors.As(err, &lost):
		return "Connection Lost", "The host stopped answering keepalives mid-command. Check the network and apply again."
	case errors.As(err, &down):
		return "Host Unreachable", "Check that the host is up, that sshd listens on that address and port, and raise connect_timeout on slow networks."
	}
	return "Host Operation Failed", ""
}

// reasonsDetail formats a list of reasons as an indented bullet list.
func reasonsDetail(reasons []string) string {
	return "  - " + strings.Join(reasons, "\n  - ")
}

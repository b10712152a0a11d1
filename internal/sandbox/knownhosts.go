package sandbox

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// KnownHosts renders the host's keys as OpenSSH known_hosts lines, so that
// ssh(1) and the provider's known_hosts_file can pin them.
func (h Host) KnownHosts() (string, error) {
	var lines strings.Builder
	address := knownhosts.Normalize(net.JoinHostPort(h.Address, strconv.Itoa(h.Port)))
	for _, k := range h.HostKeys {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k))
		if err != nil {
			return "", fmt.Errorf("host key of %s: %w", h.Name, err)
		}
		lines.WriteString(knownhosts.Line([]string{address}, key) + "\n")
	}
	return lines.String(), nil
}

// KnownHosts renders every host's keys as known_hosts lines.
func (f *Fleet) KnownHosts() (string, error) {
	var all strings.Builder
	for _, h := range f.Hosts {
		lines, err := h.KnownHosts()
		if err != nil {
			return "", err
		}
		all.WriteString(lines)
	}
	return all.String(), nil
}

// Package hostaddr says which address a stand-in program uses when its
// configuration means "this machine": all addresses (0.0.0.0, an empty
// host) or loopback (localhost, 127.0.0.1). Sandbox hosts share the
// machine's network, so on one of them both mean the host's own loopback
// address, named in /etc/fediversity/sandbox-host; two hosts then never
// fight over a port. Elsewhere an address means what it says.
package hostaddr

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
)

// MarkerFile is where a sandbox host names itself (see internal/sandbox).
const MarkerFile = "/etc/fediversity/sandbox-host"

// Host holds the address rules of the machine a program runs on.
type Host struct {
	// Address is the sandbox host's own address; empty off a sandbox host.
	Address string
}

// Local reads this machine's rules from MarkerFile.
func Local() (Host, error) {
	return Load(MarkerFile)
}

// Load reads a marker file's address= line; no file means no sandbox host.
func Load(path string) (Host, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Host{}, nil
	}
	if err != nil {
		return Host{}, err
	}
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		if value, ok := strings.CutPrefix(strings.TrimSpace(scanner.Text()), "address="); ok {
			if net.ParseIP(value) == nil {
				return Host{}, fmt.Errorf("%s: address %q is not an IP address", path, value)
			}
			return Host{Address: value}, nil
		}
	}
	return Host{}, fmt.Errorf("%s names no address= line", path)
}

// AllAddresses is the host to bind for "every address of this machine".
func (h Host) AllAddresses() string {
	if h.Address != "" {
		return h.Address
	}
	return "0.0.0.0"
}

// Resolve returns hostport with a wildcard or loopback host replaced by the
// sandbox host's address; any other address, a unix:/path and every
// address off a sandbox host come back as they are.
func (h Host) Resolve(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if h.Address == "" || err != nil || !meansThisMachine(host) {
		return hostport
	}
	return net.JoinHostPort(h.Address, port)
}

func meansThisMachine(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.IsUnspecified() || ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// Package netstat reads the kernel's table of listening IPv4 TCP sockets.
// Sandbox hosts and their containers share the machine's network, so the
// table says which loopback addresses are taken, machine-wide.
package netstat

import (
	"encoding/binary"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"strings"
)

// Listener is one socket in state LISTEN.
type Listener struct {
	IP    net.IP
	Port  int
	Inode string // of the socket, as in /proc/PID/fd links "socket:[inode]"
}

// On says whether the listener takes address:port, itself or by listening
// on the wildcard address; port 0 stands for every port.
func (l Listener) On(address string, port int) bool {
	want := net.ParseIP(address).To4()
	return (port == 0 || l.Port == port) && (l.IP.Equal(want) || (port != 0 && l.IP.IsUnspecified()))
}

// Listening says whether a TCP socket listens on address:port (or on the
// wildcard address), from the kernel's table rather than by connecting.
func Listening(address string, port int) bool {
	for _, l := range Listeners() {
		if l.On(address, port) {
			return true
		}
	}
	return false
}

// AddressInUse says whether anything listens on address itself, on any
// port: a sandbox host or container owns its address.
func AddressInUse(address string) bool {
	return Listening(address, 0)
}

// Listeners parses /proc/net/tcp (IPv4) for sockets in state LISTEN.
func Listeners() []Listener {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	var found []Listener
	for _, line := range strings.Split(string(data), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 10 || fields[3] != "0A" { // 0A is TCP_LISTEN
			continue
		}
		if l, ok := ParseAddress(fields[1]); ok {
			l.Inode = fields[9]
			found = append(found, l)
		}
	}
	return found
}

// ParseAddress parses "0100007F:0016": the kernel prints the address's
// in-memory (network order) bytes as a native-endian number, the port as a
// plain number.
func ParseAddress(s string) (Listener, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	if !ok || err != nil || len(raw) != 4 {
		return Listener{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return Listener{}, false
	}
	ip := make(net.IP, 4)
	binary.NativeEndian.PutUint32(ip, binary.BigEndian.Uint32(raw))
	return Listener{IP: ip, Port: int(port)}, true
}

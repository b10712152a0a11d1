package sandbox

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// listening says whether a TCP socket listens on address:port (or on the
// wildcard address), from the kernel's table rather than by connecting.
func listening(address string, port int) bool {
	want := net.ParseIP(address).To4()
	for _, l := range tcpListeners() {
		if l.port == port && (l.ip.Equal(want) || l.ip.IsUnspecified()) {
			return true
		}
	}
	return false
}

type listener struct {
	ip    net.IP
	port  int
	inode string // of the socket, as in /proc/PID/fd links "socket:[inode]"
}

// listenersAmong returns the processes among procs that hold a socket
// listening on address:port.
func listenersAmong(procs []process, address string, port int) []process {
	sockets := map[string]bool{}
	want := net.ParseIP(address).To4()
	for _, l := range tcpListeners() {
		if l.port == port && (l.ip.Equal(want) || l.ip.IsUnspecified()) {
			sockets["socket:["+l.inode+"]"] = true
		}
	}
	var holders []process
	for _, p := range procs {
		if len(sockets) > 0 && holdsAny(p.pid, sockets) {
			holders = append(holders, p)
		}
	}
	return holders
}

// holdsAny says whether one of the process's file descriptors is among the
// given link targets.
func holdsAny(pid int, targets map[string]bool) bool {
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(fdDir)
	for _, e := range entries {
		if target, err := os.Readlink(fdDir + "/" + e.Name()); err == nil && targets[target] {
			return true
		}
	}
	return false
}

// tcpListeners parses /proc/net/tcp (IPv4) for sockets in state LISTEN.
func tcpListeners() []listener {
	data, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	var found []listener
	for _, line := range strings.Split(string(data), "\n")[1:] {
		fields := strings.Fields(line)
		if len(fields) < 10 || fields[3] != "0A" { // 0A is TCP_LISTEN
			continue
		}
		if l, ok := parseProcNetAddress(fields[1]); ok {
			l.inode = fields[9]
			found = append(found, l)
		}
	}
	return found
}

// parseProcNetAddress parses "0100007F:0016": the kernel prints the
// address's in-memory (network order) bytes as a native-endian number, the
// port as a plain number.
func parseProcNetAddress(s string) (listener, bool) {
	ipHex, portHex, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(ipHex)
	if !ok || err != nil || len(raw) != 4 {
		return listener{}, false
	}
	port, err := strconv.ParseUint(portHex, 16, 16)
	if err != nil {
		return listener{}, false
	}
	ip := make(net.IP, 4)
	binary.NativeEndian.PutUint32(ip, binary.BigEndian.Uint32(raw))
	return listener{ip: ip, port: int(port)}, true
}

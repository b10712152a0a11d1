package sandbox

import (
	"fmt"
	"net"
	"strconv"
)

// pickAddresses returns n loopback addresses whose port 22 is free: from
// 127.0.0.first on, or, with first = 0, the lowest free ones from .2 on.
func pickAddresses(first, n int) ([]string, error) {
	if first > 0 {
		return consecutiveAddresses(first, n)
	}
	var picked []string
	for i := firstAutoAddress; i <= maxHostAddressN && len(picked) < n; i++ {
		if address := loopback(i); portFree(address) {
			picked = append(picked, address)
		}
	}
	if len(picked) < n {
		return nil, fmt.Errorf("sandbox: only %d loopback addresses with a free port %d, %d wanted", len(picked), sshPort, n)
	}
	return picked, nil
}

func consecutiveAddresses(first, n int) ([]string, error) {
	if first+n-1 > maxHostAddressN {
		return nil, fmt.Errorf("sandbox: %d hosts from 127.0.0.%d run past 127.0.0.%d", n, first, maxHostAddressN)
	}
	var addresses []string
	for i := first; i < first+n; i++ {
		address := loopback(i)
		if !portFree(address) {
			return nil, fmt.Errorf("sandbox: %s:%d is already in use", address, sshPort)
		}
		addresses = append(addresses, address)
	}
	return addresses, nil
}

func loopback(n int) string { return "127.0.0." + strconv.Itoa(n) }

// portFree tries to bind address:22, the same thing sshd will do.
func portFree(address string) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(sshPort)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

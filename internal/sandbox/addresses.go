package sandbox

import (
	"fmt"
	"net"
	"strconv"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
)

// pickAddresses returns n loopback addresses that are free: from
// 127.0.0.first on, or, with first = 0, the lowest free ones from .2 on.
func pickAddresses(first, n int) ([]string, error) {
	if first > 0 {
		return consecutiveAddresses(first, n)
	}
	var picked []string
	for i := firstAutoAddress; i <= maxHostAddressN && len(picked) < n; i++ {
		if address := loopback(i); addressFree(address) {
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
		if !addressFree(address) {
			return nil, fmt.Errorf("sandbox: %s:%d, or another port of that address, is already in use", address, sshPort)
		}
		addresses = append(addresses, address)
	}
	return addresses, nil
}

func loopback(n int) string { return "127.0.0." + strconv.Itoa(n) }

// addressFree says whether a host can have the address: nothing listens on
// it, on any port (a container's services, say), and sshd can bind port 22.
func addressFree(address string) bool {
	if netstat.AddressInUse(address) {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort(address, strconv.Itoa(sshPort)))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}

package sandbox

import (
	"fmt"
	"net"
	"strconv"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
)

// pickAddresses returns n loopback addresses that are free: from
// 127.0.0.first on, or, with first = 0, the lowest free ones from .2 on.
// Each stays reserved machine-wide until release is called, which is once
// the hosts' sshds listen on them: fleets coming up at once (test packages
// run in parallel) never pick the same address.
func pickAddresses(first, n int) (addresses []string, release func(), err error) {
	var held reservations
	defer func() {
		if err != nil {
			held.release()
		}
	}()
	if first > 0 {
		for i := first; i < first+n; i++ {
			if i > maxHostAddressN {
				return nil, nil, fmt.Errorf("sandbox: %d hosts from 127.0.0.%d run past 127.0.0.%d", n, first, maxHostAddressN)
			}
			if !held.take(loopback(i)) {
				return nil, nil, fmt.Errorf("sandbox: %s:%d, or another port of that address, is already in use", loopback(i), sshPort)
			}
			addresses = append(addresses, loopback(i))
		}
		return addresses, held.release, nil
	}
	for i := firstAutoAddress; i <= maxHostAddressN && len(addresses) < n; i++ {
		if held.take(loopback(i)) {
			addresses = append(addresses, loopback(i))
		}
	}
	if len(addresses) < n {
		return nil, nil, fmt.Errorf("sandbox: only %d loopback addresses with a free port %d, %d wanted", len(addresses), sshPort, n)
	}
	return addresses, held.release, nil
}

// reservations are addresses held while a fleet comes up: an abstract unix
// socket per address, which exists once per network namespace (all fleets
// share the machine's) and vanishes with its holder, even one that crashed.
type reservations []net.Listener

// take reserves address if no other fleet has and it is free.
func (r *reservations) take(address string) bool {
	l, err := net.Listen("unix", "@fediversity-sandbox/host-address/"+address)
	if err != nil {
		return false
	}
	if !addressFree(address) {
		_ = l.Close()
		return false
	}
	*r = append(*r, l)
	return true
}

func (r *reservations) release() {
	for _, l := range *r {
		_ = l.Close()
	}
	*r = nil
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

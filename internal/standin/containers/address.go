package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

// Containers take their addresses from 127.0.1.0/24 on, from the top of
// each /24 down, then the next, up to 127.0.255.0/24, all of it loopback:
// never from 127.0.0.0/24, which is sandbox hosts'. A host picks its
// address by what listens, and a container whose services are stopped
// listens on nothing, so sharing a range let a new host take a container's
// address (and fail to start its mail server beside the container's).
const (
	highestAddress = 254
	lowestAddress  = 2
	firstSubnet    = 1
	lastSubnet     = 255
)

// addressLock is an abstract unix socket: one exists per network namespace,
// which sandbox hosts and containers share with the machine, and it goes
// with its holder. Holding it makes picking an address and recording it in
// a conf one step machine-wide.
const addressLock = "@fediversity-sandbox/nixos-container-addresses"

// lockAddresses waits for the machine-wide address lock.
func lockAddresses(ctx context.Context) (release func(), err error) {
	for {
		l, err := net.Listen("unix", addressLock)
		if err == nil {
			return func() { _ = l.Close() }, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for another nixos-container create: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pickLocalAddress returns the first loopback address in the order above
// that no sandbox host or container claims and on which nothing listens.
func pickLocalAddress() (string, error) {
	claimed := claimedAddresses()
	for address := range candidateAddresses {
		if !claimed[address] && !netstat.AddressInUse(address) {
			return address, nil
		}
	}
	return "", errors.New("out of IP addresses")
}

// candidateAddresses yields the addresses containers may take, in order.
func candidateAddresses(yield func(string) bool) {
	for subnet := firstSubnet; subnet <= lastSubnet; subnet++ {
		for n := highestAddress; n >= lowestAddress; n-- {
			if !yield("127.0." + strconv.Itoa(subnet) + "." + strconv.Itoa(n)) {
				return
			}
		}
	}
}

// claimedAddresses are the addresses of every running sandbox host and
// container on the machine, and those of every container configured on a
// running host (started or not), read in each namespace through /proc. A
// running container's namespace is skipped: its host's conf names its
// address, and its /etc shows its host's confs again, which in a fleet of
// a thousand containers made every create read millions of files.
func claimedAddresses() map[string]bool {
	claimed := map[string]bool{}
	for _, pid := range mountns.All() {
		root := fmt.Sprintf("/proc/%d/root", pid)
		if _, err := os.Stat(root + instanceFile); err == nil {
			continue
		}
		if h, err := hostaddr.Load(root + hostaddr.MarkerFile); err == nil && h.Address != "" {
			claimed[h.Address] = true
		}
		confs, _ := filepath.Glob(root + confDir + "/*.conf")
		for _, path := range confs {
			if c, err := readConf(path); err == nil && c.localAddress != "" {
				claimed[c.localAddress] = true
			}
		}
	}
	return claimed
}

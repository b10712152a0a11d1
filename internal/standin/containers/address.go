package containers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/netstat"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/hostaddr"
)

// Containers take their addresses from the top of 127.0.0.0/24 down, away
// from sandbox hosts, which take theirs from the bottom up.
const (
	highestAddress = 254
	lowestAddress  = 2
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

// pickLocalAddress returns the highest loopback address that no sandbox
// host or container claims and on which nothing listens.
func pickLocalAddress() (string, error) {
	claimed := claimedAddresses()
	for n := highestAddress; n >= lowestAddress; n-- {
		address := "127.0.0." + strconv.Itoa(n)
		if !claimed[address] && !netstat.AddressInUse(address) {
			return address, nil
		}
	}
	return "", errors.New("out of IP addresses")
}

// claimedAddresses are the addresses of every running sandbox host and
// container on the machine, and those of every container configured on a
// running host (started or not), read in each namespace through /proc.
func claimedAddresses() map[string]bool {
	claimed := map[string]bool{}
	for _, pid := range mountns.All() {
		root := fmt.Sprintf("/proc/%d/root", pid)
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

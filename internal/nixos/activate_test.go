package nixos_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// host is a sandbox host with its own profile for one test, so tests do
// not see each other's generations.
type host struct {
	t       *testing.T
	sandbox sandbox.Host
	pool    *remote.Pool
	ep      remote.Endpoint
	profile nixos.Profile
}

func newHost(t *testing.T) *host {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	// A profile of its own, activated like the host's: the fake systems
	// these tests switch to are no container systems.
	name := fmt.Sprintf("t%d", time.Now().UnixNano()%1e9)
	profile := nixos.Profile{Path: "/nix/var/nix/profiles/fediversity-test/" + name + "/system", Lock: "/run/fediversity/locks/test-" + name + ".lock"}
	return &host{t: t, sandbox: h, pool: acctest.HostPool(t, f, remote.Config{}), ep: acctest.Endpoint(t, h, h.Address, h.Port), profile: profile}
}

func (h *host) connect(ctx context.Context) (nixos.Remote, error) {
	return h.pool.Client(ctx, h.ep)
}

func (h *host) run(script string, args ...string) string {
	h.t.Helper()
	c, err := h.connect(context.Background())
	if err == nil {
		var out []byte
		out, err = c.Output(context.Background(), append([]string{"sh", "-c", script, "sh"}, args...)...)
		if err == nil {
			return string(out)
		}
	}
	h.t.Fatal(err)
	return ""
}

// fakeSystem puts a system into the host's store whose
// switch-to-configuration logs its run to /run/fake-switches, sleeps for
// the seconds in /run/fake-sleep-NAME and exits with the status in
// /run/fake-exit-NAME (0 when absent), like a real switch that fails with 4
// when units fail.
func (h *host) fakeSystem(name string) string {
	const script = `
set -eu
dir=$(mktemp -d)/nixos-system-$1
mkdir -p "$dir/bin"
cat >"$dir/bin/switch-to-configuration" <<EOS
#!/bin/sh
echo "start $1 \$1" >>/run/fake-switches
[ -e /run/fake-daemon-$1 ] && setsid sleep 30 </dev/null >/dev/null 2>&1 &
sleep "\$(cat /run/fake-sleep-$1 2>/dev/null || echo 0)"
echo "end $1" >>/run/fake-switches
exit "\$(cat /run/fake-exit-$1 2>/dev/null || echo 0)"
EOS
chmod 755 "$dir/bin/switch-to-configuration"
nix-store --add "$dir"
`
	return strings.TrimSpace(h.run(script, name))
}

func (h *host) set(file, content string) {
	h.run(`printf '%s\n' "$2" >"$1"`, file, content)
}

func (h *host) current() nixos.Generation {
	h.t.Helper()
	c, err := h.connect(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	gens, err := nixos.Generations(context.Background(), c, h.profile)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, g := range gens {
		if g.Current {
			return g
		}
	}
	return nixos.Generation{}
}

func (h *host) activate(system string, health func(context.Context, string) error) error {
	_, err := nixos.Activate(context.Background(), h.connect, nixos.Switch{
		Profile: h.profile, Toplevel: system, Health: health, Keep: 2, LockWait: 2 * time.Second, Timeout: time.Minute,
	})
	return err
}

func TestActivateKeepsBoundedGenerations(t *testing.T) {
	h := newHost(t)
	a, b, c := h.fakeSystem("a"), h.fakeSystem("b"), h.fakeSystem("c")
	for _, system := range []string{a, b, c} {
		if err := h.activate(system, nil); err != nil {
			t.Fatal(err)
		}
	}
	c1, err := h.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	gens, err := nixos.Generations(context.Background(), c1, h.profile)
	if err != nil {
		t.Fatal(err)
	}
	if len(gens) != 2 || gens[0].System != b || gens[1].System != c || !gens[1].Current || gens[1].Number != 3 {
		t.Fatalf("want generations 2 (b) and 3 (c, current), got %+v", gens)
	}
}

// RELIABILITY 9: a switch that fails (exit 4) rolls back and says so.
func TestActivateRollsBackWhenUnitsFail(t *testing.T) {
	h := newHost(t)
	good, bad := h.fakeSystem("good9"), h.fakeSystem("bad9")
	h.set("/run/fake-exit-bad9", "4")
	if err := h.activate(good, nil); err != nil {
		t.Fatal(err)
	}
	err := h.activate(bad, nil)
	var failed *nixos.ActivationError
	if !errors.As(err, &failed) || failed.Stage != nixos.StageSwitch || failed.ExitStatus != "4" || failed.RolledBackTo != good {
		t.Fatalf("want a switch failure with status 4 rolled back to %s, got %v", good, err)
	}
	if !strings.Contains(err.Error(), "rolled back to "+good) || !strings.Contains(err.Error(), "some units failed") {
		t.Errorf("message does not say what happened: %v", err)
	}
	if cur := h.current(); cur.System != good {
		t.Fatalf("current system %s, want the good one %s", cur.System, good)
	}
	if log := h.run(`cat /run/fake-switches`); !strings.Contains(log, "start bad9 switch\nend bad9\nstart good9 switch") {
		t.Errorf("the good system was not switched to again after the failure:\n%s", log)
	}
}

// RELIABILITY 10: a health check that fails after a good switch rolls back
// and names what answered.
func TestActivateRollsBackWhenUnhealthy(t *testing.T) {
	h := newHost(t)
	good, sick := h.fakeSystem("good10"), h.fakeSystem("sick10")
	if err := h.activate(good, nil); err != nil {
		t.Fatal(err)
	}
	err := h.activate(sick, func(context.Context, string) error {
		return errors.New("mastodon at social.example.org answered 503: database not ready")
	})
	var failed *nixos.ActivationError
	if !errors.As(err, &failed) || failed.Stage != nixos.StageHealth || failed.RolledBackTo != good {
		t.Fatalf("want a health failure rolled back to %s, got %v", good, err)
	}
	if !strings.Contains(err.Error(), "mastodon at social.example.org answered 503") {
		t.Errorf("message does not carry the health answer: %v", err)
	}
	if cur := h.current(); cur.System != good {
		t.Fatalf("current system %s, want %s", cur.System, good)
	}
}

// The very first system has nothing to roll back to: the error says so.
func TestActivateFirstFailureCannotRollBack(t *testing.T) {
	h := newHost(t)
	bad := h.fakeSystem("first")
	h.set("/run/fake-exit-first", "4")
	err := h.activate(bad, nil)
	var failed *nixos.ActivationError
	if !errors.As(err, &failed) || failed.RollbackErr == nil || !strings.Contains(err.Error(), "NOT rolled back") {
		t.Fatalf("want an unrollbackable failure, got %v", err)
	}
}

// RELIABILITY 11: the SSH session drops during the switch; the switch
// finishes on the host and the provider reconnects to learn the outcome.
func TestActivateSurvivesDroppedSession(t *testing.T) {
	h := newHost(t)
	acctest.SandboxOnly(t)
	proxy := acctest.NewProxy(t, h.ep.HostPort())
	h.ep = acctest.Endpoint(t, h.sandbox, "127.0.0.1", proxy.Port())
	slow := h.fakeSystem("slow11")
	h.set("/run/fake-sleep-slow11", "3")
	go func() {
		time.Sleep(time.Second)
		proxy.Refuse() // cut every connection mid-switch
		time.Sleep(1500 * time.Millisecond)
		proxy.Forward()
	}()
	if err := h.activate(slow, nil); err != nil {
		t.Fatalf("activation did not survive the dropped session: %v", err)
	}
	if cur := h.current(); cur.System != slow {
		t.Fatalf("current system %s, want %s", cur.System, slow)
	}
	if log := h.run(`cat /run/fake-switches`); !strings.Contains(log, "start slow11 switch\nend slow11") {
		t.Errorf("the switch did not run to its end:\n%s", log)
	}
}

// RELIABILITY 12: a leftover process holding the lock makes the activation
// fail with who holds it, changing nothing and leaving no process behind.
func TestActivateRefusesWhileLocked(t *testing.T) {
	h := newHost(t)
	old, next := h.fakeSystem("old12"), h.fakeSystem("next12")
	if err := h.activate(old, nil); err != nil {
		t.Fatal(err)
	}
	h.run(`mkdir -p "$(dirname "$1")"; printf 'pid 4242 since yesterday\n' >"$1.holder"; setsid -f flock "$1" sleep 20 </dev/null >/dev/null 2>&1`, h.profile.Lock)
	err := h.activate(next, nil)
	var failed *nixos.ActivationError
	if !errors.As(err, &failed) || failed.Stage != nixos.StageLock || !strings.Contains(err.Error(), "pid 4242 since yesterday") {
		t.Fatalf("want a lock failure naming the holder, got %v", err)
	}
	if cur := h.current(); cur.System != old {
		t.Fatalf("a locked activation changed the system to %s", cur.System)
	}
	// The bracket keeps the pattern from matching this check's own command
	// line; hosts share the machine's pids, so only this host's count.
	const runnersHere = `for p in $(pgrep -f '[f]lock -w'); do [ "$(readlink /proc/$p/ns/mnt)" = "$(readlink /proc/self/ns/mnt)" ] && echo "$p"; done | wc -l`
	if n := strings.TrimSpace(h.run(runnersHere)); n != "0" {
		t.Errorf("%s runner processes still waiting for the lock", n)
	}
	h.run(`pkill -f "[f]lock $1 sleep" || true`, h.profile.Lock)
}

// RELIABILITY 13: two activations of one profile at once are serialised by
// the host lock; both succeed and never overlap.
func TestConcurrentActivationsSerialise(t *testing.T) {
	h := newHost(t)
	x, y := h.fakeSystem("x13"), h.fakeSystem("y13")
	h.set("/run/fake-sleep-x13", "1")
	h.set("/run/fake-sleep-y13", "1")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, system := range []string{x, y} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = nixos.Activate(context.Background(), h.connect, nixos.Switch{Profile: h.profile, Toplevel: system, Keep: 3, LockWait: time.Minute, Timeout: time.Minute})
		}()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("concurrent activations: %v / %v", errs[0], errs[1])
	}
	log := h.run(`grep -E '(x13|y13)' /run/fake-switches`)
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "start") || !strings.HasPrefix(lines[1], "end") || !strings.HasPrefix(lines[2], "start") {
		t.Fatalf("switches overlapped:\n%s", log)
	}
}

// A daemon started by a switch (the supervisor, a service) must not inherit
// the profile's lock: the next activation would wait for it forever.
func TestDaemonsStartedBySwitchDoNotHoldTheLock(t *testing.T) {
	h := newHost(t)
	first, second := h.fakeSystem("daemon1"), h.fakeSystem("daemon2")
	h.set("/run/fake-daemon-daemon1", "yes")
	if err := h.activate(first, nil); err != nil {
		t.Fatal(err)
	}
	if err := h.activate(second, nil); err != nil {
		t.Fatalf("the second activation waited on a lock the first switch's daemon kept: %v", err)
	}
}

package nixos_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// ReadRuntimes reads every runtime of a host in one command and finds the
// same facts as ReadRuntime does for each: the running system and its
// generation, each fragment on disk and as the system runs it.
func TestReadRuntimesMatchesEachRuntimesOwnRead(t *testing.T) {
	h := newHost(t)
	root := fmt.Sprintf("/etc/fediversity/test-read-%d", time.Now().UnixNano()%1e9)
	// Two container runtimes whose profiles point at fake systems: "a" runs
	// what is on disk, "b" has a fragment changed since its system was built.
	h.run(`set -eu
root=$1
for rt in a b; do
  c=$(basename "$root")-$rt
  mkdir -p "$root/$rt/fragments" "$root/systems/$rt/etc/fediversity/fragments" "/nix/var/nix/profiles/per-container/$c"
  printf '%s\n' "$c" >"$root/$rt/container"
  printf '{"name":"%s","kind":"container"}' "$rt" | tee "$root/$rt/fragments/runtime.json" >"$root/systems/$rt/etc/fediversity/fragments/runtime.json"
  printf '{"name":"club","domain":"club.example"}' | tee "$root/$rt/fragments/operator-club.json" >"$root/systems/$rt/etc/fediversity/fragments/operator-club.json"
  ln -sfn "$root/systems/$rt" "/nix/var/nix/profiles/per-container/$c/system-3-link"
  ln -sfn system-3-link "/nix/var/nix/profiles/per-container/$c/system"
done
printf '{"name":"club","domain":"changed.example"}' >"$root/b/fragments/operator-club.json"
mkdir -p /etc/nixos-containers
printf 'PRIVATE_NETWORK=0\nLOCAL_ADDRESS=127.0.0.99/32\n' >"/etc/nixos-containers/$(basename "$root")-a.conf"
`, root)
	t.Cleanup(func() { h.run(`rm -f "/etc/nixos-containers/$(basename "$1")-a.conf"`, root) })
	c, err := h.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	all, err := nixos.ReadRuntimes(context.Background(), c, root)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 { // a, b, and the systems directory, which has no fragments
		t.Fatalf("read %d runtimes, want a, b and systems: %v", len(all), all)
	}
	a, b := all["a"], all["b"]
	if a.Generation != 3 || a.System != root+"/systems/a" || a.Container == "" || a.Address != "127.0.0.99" {
		t.Fatalf("runtime a: %+v", a)
	}
	if !maps.Equal(a.OnDisk, a.Running) || len(a.OnDisk) != 2 {
		t.Fatalf("runtime a runs what is on disk: disk %v, running %v", a.OnDisk, a.Running)
	}
	if string(a.Deployed["operator-club.json"]) != `{"name":"club","domain":"club.example"}` {
		t.Fatalf("runtime a's deployed operator: %q", a.Deployed["operator-club.json"])
	}
	if maps.Equal(b.OnDisk, b.Running) {
		t.Fatal("runtime b's changed fragment went unseen")
	}
	for name, want := range map[string]nixos.RuntimeFacts{"a": a, "b": b} {
		own, err := nixos.ReadRuntime(context.Background(), c, root+"/"+name, root+"/"+name+"/fragments")
		if err != nil {
			t.Fatal(err)
		}
		if own.System != want.System || own.Generation != want.Generation || !maps.Equal(own.OnDisk, want.OnDisk) ||
			!maps.Equal(own.Running, want.Running) || own.Container != want.Container || own.Address != want.Address ||
			own.ContainerUp != want.ContainerUp || string(own.Deployed["operator-club.json"]) != string(want.Deployed["operator-club.json"]) {
			t.Fatalf("runtime %s read on its own: %+v, with its host's: %+v", name, own, want)
		}
	}
}

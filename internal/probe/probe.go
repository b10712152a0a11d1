// Package probe learns what a host is (Nix version, system, CPU, memory, disk,
// current system generation) with one remote command, and judges whether the
// provider can deploy to it.
package probe

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goversion "github.com/hashicorp/go-version"

	"github.com/fediversity/terraform-provider-fediversity/internal/nixos"
)

// script prints one key=value line per fact. It takes no input, so nothing
// user-supplied ever reaches the remote shell through it.
const script = `
nixdir=/nix; [ -d /nix ] || nixdir=/
printf 'kernel=%s\n' "$(uname -s)"
printf 'machine=%s\n' "$(uname -m)"
if command -v nix-store >/dev/null 2>&1; then
  printf 'nix=%s\n' "$(nix-store --version 2>/dev/null | head -n 1)"
fi
printf 'cpus=%s\n' "$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc)"
awk '/^MemTotal:/ { print "mem_kib=" $2 }' /proc/meminfo
df -Pk "$nixdir" | awk 'NR == 2 { print "nix_free_kib=" $4 }'
profile=/nix/var/nix/profiles/system
if [ -L "$profile" ]; then
  printf 'profile_link=%s\n' "$(readlink "$profile")"
  printf 'system_path=%s\n' "$(readlink -f "$profile")"
fi
if [ -e /etc/NIXOS ]; then echo os=nixos
elif [ -e /etc/fediversity/sandbox-host ]; then echo os=sandbox
else echo os=other
fi
`

// Runner runs one remote command and returns its standard output.
type Runner interface {
	Output(ctx context.Context, args ...string) ([]byte, error)
}

// Facts are what a host reports about itself.
type Facts struct {
	NixVersion        string // empty when Nix is missing
	System            string // Nix system double, e.g. x86_64-linux
	CPUCount          int64
	MemoryBytes       int64
	DiskFreeBytes     int64 // free space of the file system holding /nix
	CurrentGeneration int64 // 0 when the system profile has no generation yet
	CurrentSystem     string
	OS                string // nixos, sandbox or other
}

// Run probes a host with a single remote command.
func Run(ctx context.Context, r Runner) (Facts, error) {
	out, err := r.Output(ctx, "sh", "-c", script)
	if err != nil {
		return Facts{}, err
	}
	return Parse(string(out))
}

// Parse reads the script's key=value lines.
func Parse(out string) (Facts, error) {
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			kv[k] = v
		}
	}
	var f Facts
	var err error
	if f.CPUCount, err = parseCount(kv, "cpus", 1); err != nil {
		return Facts{}, err
	}
	if f.MemoryBytes, err = parseCount(kv, "mem_kib", 1024); err != nil {
		return Facts{}, err
	}
	if f.DiskFreeBytes, err = parseCount(kv, "nix_free_kib", 1024); err != nil {
		return Facts{}, err
	}
	f.NixVersion = nixVersion(kv["nix"])
	f.System = nixSystem(kv["machine"], kv["kernel"])
	f.CurrentGeneration = nixos.GenerationOf(kv["profile_link"])
	f.CurrentSystem = kv["system_path"]
	f.OS = kv["os"]
	return f, nil
}

func parseCount(kv map[string]string, key string, unit int64) (int64, error) {
	n, err := strconv.ParseInt(kv[key], 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("host probe: unexpected %s value %q", key, kv[key])
	}
	return n * unit, nil
}

// nixVersion takes the last word of `nix-store --version`, which is the
// version for Nix ("nix-store (Nix) 2.8.0") and for Lix alike.
func nixVersion(line string) string {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return ""
	}
	return fields[len(fields)-1]
}

// nixSystem maps uname output to Nix's system double.
func nixSystem(machine, kernel string) string {
	if machine == "arm64" {
		machine = "aarch64"
	}
	return machine + "-" + strings.ToLower(kernel)
}

// MinimumFreeDisk is the space under /nix below which a build is likely to fail.
const MinimumFreeDisk = 1 << 30

// NotReadyReasons lists why the provider cannot deploy to a host, or nothing
// when it can.
func NotReadyReasons(f Facts, minimumNix *goversion.Version) []string {
	var reasons []string
	if f.NixVersion == "" {
		reasons = append(reasons, "Nix is not installed: no nix-store on the SSH user's PATH")
	} else if v, err := goversion.NewVersion(f.NixVersion); err != nil {
		reasons = append(reasons, fmt.Sprintf("Nix reports an unreadable version %q", f.NixVersion))
	} else if v.LessThan(minimumNix) {
		reasons = append(reasons, fmt.Sprintf("Nix %s is older than the minimum %s", v, minimumNix))
	}
	if !strings.HasSuffix(f.System, "-linux") {
		reasons = append(reasons, fmt.Sprintf("system %s is not Linux", f.System))
	}
	if f.OS != "nixos" && f.OS != "sandbox" {
		reasons = append(reasons, "not a NixOS machine (no /etc/NIXOS) nor a fediversity sandbox host")
	}
	if f.DiskFreeBytes < MinimumFreeDisk {
		reasons = append(reasons, fmt.Sprintf("only %d MiB free under /nix, at least %d MiB needed", f.DiskFreeBytes>>20, MinimumFreeDisk>>20))
	}
	return reasons
}

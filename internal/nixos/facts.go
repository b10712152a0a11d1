package nixos

import (
	"context"
	"encoding/base64"
	"fmt"
	"path"
	"strings"
)

// RuntimeFacts is everything a refresh needs of one runtime, read in one
// remote command.
type RuntimeFacts struct {
	System       string            // the running system, empty when none
	Generation   int64             // its generation number
	SystemDigest string            // digest of the fragments it was built from
	DiskDigest   string            // digest of the fragments on disk now
	OnDisk       map[string]string // fragment file name -> sha256 of its content
	Deployed     map[string][]byte // fragment file name -> content in the running system
	// Of a container runtime: its name, its address and whether it runs.
	Container   string
	Address     string
	ContainerUp bool
}

// InSync reports whether the running system was built from exactly the
// fragments on disk, and, for a container, whether it runs.
func (f RuntimeFacts) InSync() bool {
	return f.System != "" && f.SystemDigest == f.DiskDigest && (f.Container == "" || f.ContainerUp)
}

// containerMarker, in a runtime's directory, names its NixOS container.
const containerMarker = "container"

// ContainerMarker is the file in runtimeDir that makes it a container
// runtime's: it holds the container's name.
func ContainerMarker(runtimeDir string) string {
	return path.Join(runtimeDir, containerMarker)
}

// ReadRuntime reads the facts of the runtime whose desired state is in
// runtimeDir (its fragments in fragmentsDir).
func ReadRuntime(ctx context.Context, r Remote, runtimeDir, fragmentsDir string) (RuntimeFacts, error) {
	out, err := r.Output(ctx, "sh", "-c", runtimeFactsScript, "sh", systemProfile, containerProfiles, runtimeDir, fragmentsDir)
	if err != nil {
		return RuntimeFacts{}, fmt.Errorf("reading runtime facts: %w", err)
	}
	return parseRuntimeFacts(string(out))
}

// SystemFragments returns the fragments a system was built from, by name.
func SystemFragments(ctx context.Context, r Remote, system string) (map[string][]byte, error) {
	out, err := r.Output(ctx, "sh", "-c", systemFragmentsScript, "sh", system)
	if err != nil {
		return nil, fmt.Errorf("reading the fragments of %s: %w", system, err)
	}
	f, err := parseRuntimeFacts(string(out))
	return f.Deployed, err
}

func parseRuntimeFacts(out string) (RuntimeFacts, error) {
	f := RuntimeFacts{OnDisk: map[string]string{}, Deployed: map[string][]byte{}}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			f.setField(k, v)
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		switch fields[0] {
		case "disk":
			f.OnDisk[fields[1]] = fields[2]
		case "deployed":
			content, err := base64.StdEncoding.DecodeString(fields[2])
			if err != nil {
				return f, fmt.Errorf("runtime facts: fragment %s: %w", fields[1], err)
			}
			f.Deployed[fields[1]] = content
		}
	}
	return f, nil
}

func (f *RuntimeFacts) setField(key, value string) {
	switch key {
	case "system":
		f.System = value
	case "link":
		f.Generation = GenerationOf(value)
	case "system_digest":
		f.SystemDigest = value
	case "disk_digest":
		f.DiskDigest = value
	case "container":
		f.Container = value
	case "address":
		f.Address = value
	case "status":
		f.ContainerUp = value == "up"
	}
}

// GenerationOf reads N from a profile link named PROFILE-N-link (0 when it
// is not one).
func GenerationOf(link string) int64 {
	trimmed := strings.TrimSuffix(link, "-link")
	i := strings.LastIndex(trimmed, "-")
	var n int64
	if _, err := fmt.Sscan(trimmed[i+1:], &n); err != nil {
		return 0
	}
	return n
}

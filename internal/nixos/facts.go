package nixos

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"path"
	"strings"
)

// RuntimeFacts is everything a refresh needs of one runtime, read in one
// remote command.
type RuntimeFacts struct {
	System     string            // the running system, empty when none
	Generation int64             // its generation number
	OnDisk     map[string]string // fragment file name -> sha256 of its content on disk
	Running    map[string]string // fragment file name -> sha256 of its content in the running system
	Deployed   map[string][]byte // fragment file name -> content in the running system
	// Of a container runtime: its name, its address and whether it runs.
	Container   string
	Address     string
	ContainerUp bool
}

// InSync reports whether the running system was built from exactly the
// fragments on disk, and, for a container, whether it runs.
func (f RuntimeFacts) InSync() bool {
	return f.System != "" && maps.Equal(f.OnDisk, f.Running) && (f.Container == "" || f.ContainerUp)
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
	body, hashes, _ := strings.Cut(string(out), hashesMarker)
	f, err := parseRuntimeFacts(body)
	if err != nil {
		return f, err
	}
	takeHashes(hashes, map[string]*RuntimeFacts{fragmentsDir: &f})
	return f, nil
}

// ReadRuntimes reads the facts of every runtime whose desired state is
// under runtimesRoot on a host, by runtime name, in one remote command: a
// refresh of many runtimes costs one round trip per host.
func ReadRuntimes(ctx context.Context, r Remote, runtimesRoot string) (map[string]RuntimeFacts, error) {
	out, err := r.Output(ctx, "sh", "-c", hostRuntimesScript, "sh", systemProfile, containerProfiles, runtimesRoot)
	if err != nil {
		return nil, fmt.Errorf("reading the facts of the host's runtimes: %w", err)
	}
	body, hashes, _ := strings.Cut("\n"+string(out), hashesMarker)
	byDir := map[string]*RuntimeFacts{}
	for _, section := range strings.Split(body, "\nruntime=")[1:] {
		name, text, _ := strings.Cut(section, "\n")
		f, err := parseRuntimeFacts(text)
		if err != nil {
			return nil, fmt.Errorf("runtime %s: %w", name, err)
		}
		byDir[path.Join(runtimesRoot, name, "fragments")] = &f
	}
	takeHashes(hashes, byDir)
	facts := map[string]RuntimeFacts{}
	for dir, f := range byDir {
		facts[path.Base(path.Dir(dir))] = *f
	}
	return facts, nil
}

// hashesMarker comes before sha256sum's lines in the facts scripts' output.
const hashesMarker = "\nhashes:\n"

// takeHashes files each of sha256sum's "HASH  PATH" lines under the
// runtime (by its fragments dir) whose fragment it is: on disk, or in its
// running system.
func takeHashes(out string, byDir map[string]*RuntimeFacts) {
	bySystem := map[string][]*RuntimeFacts{}
	for _, f := range byDir {
		if f.System != "" {
			bySystem[f.System] = append(bySystem[f.System], f)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		hash, file, ok := strings.Cut(line, "  ")
		if !ok {
			continue
		}
		dir, name := path.Split(file)
		dir = strings.TrimSuffix(dir, "/")
		if f, ok := byDir[dir]; ok {
			f.OnDisk[name] = hash
			continue
		}
		for _, f := range bySystem[strings.TrimSuffix(dir, "/etc/fediversity/fragments")] {
			f.Running[name] = hash
		}
	}
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
	f := RuntimeFacts{OnDisk: map[string]string{}, Running: map[string]string{}, Deployed: map[string][]byte{}}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.Contains(k, " ") {
			f.setField(k, v)
			continue
		}
		fields := strings.SplitN(line, " ", 3)
		if len(fields) != 3 {
			continue
		}
		if err := f.setFragment(fields[0], fields[1], fields[2]); err != nil {
			return f, err
		}
	}
	return f, nil
}

// setFragment takes one "KIND NAME VALUE" line about a fragment.
func (f *RuntimeFacts) setFragment(kind, name, value string) error {
	switch kind {
	case "fragment":
		f.Deployed[name] = []byte(value)
	case "deployed":
		content, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return fmt.Errorf("runtime facts: fragment %s: %w", name, err)
		}
		f.Deployed[name] = content
	}
	return nil
}

func (f *RuntimeFacts) setField(key, value string) {
	switch key {
	case "system":
		f.System = value
	case "link":
		f.Generation = GenerationOf(value)
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

package sandbox

import (
	"encoding/json"
	"os"
	"path/filepath"
)

// record is what the machine remembers about a host's current launch, in
// its state dir, so that Down can find its processes even after a crash.
type record struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// Instance is random per launch and also written into the host's /run.
	Instance string `json:"instance"`
	// PID and StartTime identify the launch process (unshare → sh → sshd).
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	// MountNS is the host's mount namespace, as readlink /proc/PID/ns/mnt.
	MountNS string `json:"mount_namespace"`
}

func readRecord(stateDir string) (record, error) {
	var r record
	data, err := os.ReadFile(filepath.Join(stateDir, recordFile))
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(data, &r)
}

// writeRecord replaces the record atomically: a crash mid-write must not
// leave Down without the means to find the host's processes.
func writeRecord(stateDir string, r record) error {
	return writeJSONAtomic(filepath.Join(stateDir, recordFile), r)
}

func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// hostRecords reads the records of all hosts under a fleet dir; hosts whose
// record is missing or unreadable never got launched.
func hostRecords(dir string) []record {
	entries, _ := os.ReadDir(filepath.Join(dir, hostsDir))
	var records []record
	for _, e := range entries {
		if r, err := readRecord(filepath.Join(dir, hostsDir, e.Name())); err == nil {
			records = append(records, r)
		}
	}
	return records
}

package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox/mountns"
	"github.com/fediversity/terraform-provider-fediversity/internal/standin/containers"
)

// record is what the machine remembers about a host's current launch, in
// its state dir, so that Down can find its processes even after a crash.
type record struct {
	mountns.Launch
	Address  string `json:"address"`
	stateDir string // where it is kept
}

func newRecord(h Host) record {
	return record{
		Launch:   mountns.Launch{Name: h.Name, Instance: randomID(), InstanceFile: inHostInstance},
		Address:  h.Address,
		stateDir: h.StateDir,
	}
}

func readRecord(stateDir string) (record, error) {
	r := record{stateDir: stateDir}
	data, err := os.ReadFile(filepath.Join(stateDir, recordFile))
	if err != nil {
		return r, err
	}
	err = json.Unmarshal(data, &r)
	r.InstanceFile = inHostInstance // also in records written before it was recorded
	return r, err
}

// save replaces the record atomically: a crash mid-write must not leave
// Down without the means to find the host's processes.
func (r *record) save() error {
	return mountns.WriteJSON(filepath.Join(r.stateDir, recordFile), r)
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

// launches are the host's launch and those of its containers: these run
// in namespaces of their own, started from the host's but detached from
// its processes, and belong to the host all the same.
func (r record) launches() []mountns.Launch {
	return append([]mountns.Launch{r.Launch}, containers.Launches(r.stateDir)...)
}

// processes finds every live process of the host and of its containers.
func (r record) processes() []mountns.Process {
	return mountns.Processes(r.launches()...)
}

// kill ends every process of the host and of its containers.
func (r record) kill() error {
	if err := mountns.Kill(r.launches()...); err != nil {
		return fmt.Errorf("host %s: %w", r.Name, err)
	}
	return nil
}

package apps

import (
	"bufio"
	"os"
	"strings"
)

// FaultsFile lets a test make one version of one application misbehave,
// to prove that the provider's health gate and rollback work: a line
// "refuse-start KIND VERSION" makes that version refuse to start, as an
// app with a broken release does; "unhealthy KIND VERSION" makes it start
// but fail its health checks. Other versions are unaffected, so the
// generation rolled back to runs again. Real hosts have no such file.
var FaultsFile = "/etc/fediversity-sandbox/faults"

// injectedFault reports the faults FaultsFile sets for this app.
func injectedFault(kind, version string) (refuseStart, unhealthy bool) {
	f, err := os.Open(FaultsFile)
	if err != nil {
		return false, false
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) != 3 || fields[1] != kind || fields[2] != version {
			continue
		}
		refuseStart = refuseStart || fields[0] == "refuse-start"
		unhealthy = unhealthy || fields[0] == "unhealthy"
	}
	return refuseStart, unhealthy
}

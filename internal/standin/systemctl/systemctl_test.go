package systemctl

import (
	"strings"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/standin/supervisor"
)

func TestParseUnit(t *testing.T) {
	for in, want := range map[string]unit{
		"postgresql":                {name: "postgresql"},
		"postgresql.service":        {name: "postgresql"},
		"container@ct1":             {name: "container@ct1", container: "ct1"},
		"container@ct1.service":     {name: "container@ct1", container: "ct1"},
		"fediversity-standin-app@x": {name: "fediversity-standin-app@x"},
	} {
		if got := parseUnit(in); got != want {
			t.Errorf("parseUnit(%q) = %+v, want %+v", in, got, want)
		}
	}
}

func TestVerbs(t *testing.T) {
	t.Setenv(supervisor.RootEnv, t.TempDir()) // no supervisor runs there
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"daemon-reload"}, 1, "", "Unknown command verb 'daemon-reload'"},
		{nil, 1, "", "usage: systemctl"},
		{[]string{"start"}, 1, "", "Too few arguments"},
		{[]string{"is-active", "postgresql"}, 3, "inactive\n", ""},
		{[]string{"is-active", "-q", "postgresql"}, 3, "", ""},
		{[]string{"reload", "postgresql.service"}, 1, "", "Failed to reload postgresql.service: Job type reload is not applicable"},
		{[]string{"start", "postgresql"}, 1, "", "Failed to start postgresql.service"},
		{[]string{"reload", "container@Bad"}, 1, "", "invalid container name"},
	} {
		var stdout, stderr strings.Builder
		code := Main(t.Context(), c.args, &stdout, &stderr)
		if code != c.code || stdout.String() != c.stdout || !strings.Contains(stderr.String(), c.stderr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", c.args, code, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
		}
	}
}

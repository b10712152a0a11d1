package acctest

import (
	"os"
	"testing"
)

// Tofu is the OpenTofu binary for tests that run the CLI themselves, as a
// panel's backend does: $FEDIVERSITY_TOFU, which scripts/env.sh sets to the
// OpenTofu that scripts/setup.sh builds. Without one the test skips, and
// fails in CI.
func Tofu(t *testing.T) string {
	t.Helper()
	cli := os.Getenv("FEDIVERSITY_TOFU")
	if cli == "" {
		reason := "FEDIVERSITY_TOFU is not set: source scripts/env.sh (make test does)"
		if InCI() {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	return cli
}

package nixpkgs

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/catalogue"
)

var update = flag.Bool("update", false, "rewrite generated files (pkgs/catalogue.json)")

const catalogueFile = "pkgs/catalogue.json"

// catalogueJSON is what the stand-in packages need of the catalogue: each
// kind's versions, the first being the default.
func catalogueJSON(t *testing.T) []byte {
	t.Helper()
	kinds := map[string]any{}
	for _, app := range catalogue.All() {
		kinds[app.Kind] = map[string]any{"versions": app.Versions}
	}
	data, err := json.MarshalIndent(kinds, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(data, '\n')
}

// The stand-in packages take their versions from the catalogue, through a
// generated file (Nix cannot read Go).
func TestCatalogueFileIsCurrent(t *testing.T) {
	want := catalogueJSON(t)
	if *update {
		if err := os.WriteFile(catalogueFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got, err := os.ReadFile(catalogueFile); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s does not match the catalogue (%v): run `go generate ./internal/sandbox/nixpkgs`", catalogueFile, err)
	}
}

package migrate_test

import (
	"testing"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
)

func TestMain(m *testing.M) {
	acctest.Main(m, 2)
}

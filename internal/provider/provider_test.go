package provider_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/fediversity/terraform-provider-fediversity/internal/acctest"
)

// The provider authenticates with an inline key and with an SSH agent
// holding the key, as well as with a key file (every other test).
func TestAccProvider_credentialForms(t *testing.T) {
	f := acctest.Fleet(t)
	h := f.Hosts[0]
	t.Setenv("SSH_AUTH_SOCK", serveAgent(t, f.ClientKeyPath))
	resourceBlock := fmt.Sprintf(`
resource "fediversity_host" "test" {
  address  = %q
  host_key = %q
}
`, h.Address, h.HostKeys[0])
	ready := []statecheck.StateCheck{
		statecheck.ExpectKnownValue(hostAddr, tfjsonpath.New("ready"), knownvalue.Bool(true)),
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { acctest.PreCheck(t) },
		ProtoV6ProviderFactories: acctest.ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:            fmt.Sprintf("provider \"fediversity\" {\n  private_key = file(%q)\n}\n", f.ClientKeyPath) + resourceBlock,
				ConfigStateChecks: ready,
			},
			{
				Config:            "provider \"fediversity\" {\n  ssh_agent = true\n}\n" + resourceBlock,
				ConfigStateChecks: ready,
			},
			{
				// With no key given, the agent is used when SSH_AUTH_SOCK is set.
				Config:            "provider \"fediversity\" {}\n" + resourceBlock,
				ConfigStateChecks: ready,
			},
		},
	})
}

// serveAgent runs an SSH agent holding the key at keyPath on a unix socket.
func serveAgent(t *testing.T, keyPath string) string {
	t.Helper()
	pem, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_ = agent.ServeAgent(keyring, conn)
			}()
		}
	}()
	return socket
}

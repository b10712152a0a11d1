package acctest

import (
	"os"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
	"github.com/fediversity/terraform-provider-fediversity/internal/sandbox"
)

// HostPool is a connection pool authenticated with the fleet's client key,
// for tests that drive a host below the provider. cfg's Auth is filled in.
func HostPool(t *testing.T, f *sandbox.Fleet, cfg remote.Config) *remote.Pool {
	t.Helper()
	pem, err := os.ReadFile(f.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	pool := remote.NewPool(cfg)
	t.Cleanup(func() { pool.Close() })
	return pool
}

// Endpoint is h as root with its ed25519 key pinned, reached at address
// and port (the host's own, or a proxy's).
func Endpoint(t *testing.T, h sandbox.Host, address string, port int) remote.Endpoint {
	t.Helper()
	key, err := remote.ParseAuthorizedKey(h.HostKeys[0])
	if err != nil {
		t.Fatal(err)
	}
	return remote.Endpoint{Address: address, Port: port, User: "root", HostKeys: []ssh.PublicKey{key}}
}

// Package secrets creates application secrets on the host that needs them
// (Mastodon's keys, Synapse's signing key, Pixelfed's OAuth keys, DKIM keys,
// database passwords). Secrets are generated there and never leave it: they
// do not travel over SSH, enter Terraform state or land in the Nix store.
// Only public halves (a DKIM public key for DNS) are read back.
package secrets

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/fediversity/terraform-provider-fediversity/internal/modules"
)

// Kind says how a secret is generated.
type Kind string

const (
	// RandomBase64 is Size random bytes, base64-encoded on one line.
	RandomBase64 Kind = "random-base64"
	// SynapseSigningKey is a Matrix server signing key in Synapse's format:
	// "ed25519 a_XXXX <unpadded base64 seed>".
	SynapseSigningKey Kind = "synapse-signing-key"
	// LaravelAppKey is an environment file holding a Laravel application's
	// encryption key, "APP_KEY=base64:<32 random bytes in base64>", as
	// Pixelfed's secretFile is.
	LaravelAppKey Kind = "laravel-app-key"
	// RSAPrivateKey is a PEM private key of Size bits (DKIM, OAuth).
	RSAPrivateKey Kind = "rsa-private-key"
)

// Spec is one secret file on the host.
type Spec struct {
	Path         string
	Owner, Group string
	Mode         fs.FileMode
	Kind         Kind
	Size         int // bytes for RandomBase64, bits for RSAPrivateKey
}

// Remote runs one command on a host; *remote.Client is one.
type Remote interface {
	Output(ctx context.Context, args ...string) ([]byte, error)
}

// Ensure creates every secret that does not exist yet, in one remote
// command, and leaves existing ones untouched so that services are not
// restarted for nothing. Each new file gets its owner and mode before the
// first byte of the secret is written, and is renamed into place. An owner
// or group that does not exist is an error, never a silent root. It
// returns the paths it created.
func Ensure(ctx context.Context, r Remote, specs []Spec) ([]string, error) {
	args := []string{"sh", "-c", modules.EnsureSecretsScript, "sh"}
	for _, s := range specs {
		if err := s.validate(); err != nil {
			return nil, err
		}
		args = append(args, s.Path, s.Owner, s.Group, fmt.Sprintf("%04o", s.Mode.Perm()), string(s.Kind), strconv.Itoa(s.Size))
	}
	out, err := r.Output(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("creating secrets: %w", err)
	}
	return lines(out), nil
}

func (s Spec) validate() error {
	switch {
	case !path.IsAbs(s.Path) || path.Clean(s.Path) != s.Path:
		return fmt.Errorf("secret path %q must be absolute and clean", s.Path)
	case s.Owner == "" || s.Group == "" || strings.HasPrefix(s.Owner, "-") || strings.HasPrefix(s.Group, "-"):
		return fmt.Errorf("secret %s needs a plain owner and group, got %q:%q", s.Path, s.Owner, s.Group)
	case s.Mode.Perm()&0o007 != 0:
		return fmt.Errorf("secret %s must not be readable by others (mode %04o)", s.Path, s.Mode.Perm())
	case s.Kind == RandomBase64 && (s.Size < 16 || s.Size > 1024),
		s.Kind == RSAPrivateKey && (s.Size < 2048 || s.Size > 8192):
		return fmt.Errorf("secret %s: size %d out of range for %s", s.Path, s.Size, s.Kind)
	case !slices.Contains([]Kind{RandomBase64, RSAPrivateKey, SynapseSigningKey, LaravelAppKey}, s.Kind):
		return fmt.Errorf("secret %s: unknown kind %q", s.Path, s.Kind)
	}
	return nil
}

// Missing returns the paths that are absent or empty on the host: a
// migration refuses to start while an app's indispensable secret is missing.
func Missing(ctx context.Context, r Remote, paths []string) ([]string, error) {
	out, err := r.Output(ctx, append([]string{"sh", "-c", missingScript, "sh"}, paths...)...)
	if err != nil {
		return nil, fmt.Errorf("checking secrets: %w", err)
	}
	return lines(out), nil
}

// PublicKey returns the PEM public half of an RSA private key on the host,
// e.g. for a DKIM DNS record. The private key stays where it is.
func PublicKey(ctx context.Context, r Remote, privateKeyPath string) (string, error) {
	out, err := r.Output(ctx, "openssl", "pkey", "-pubout", "-in", privateKeyPath)
	if err != nil {
		return "", fmt.Errorf("reading the public key of %s: %w", privateKeyPath, err)
	}
	return string(out), nil
}

func lines(out []byte) []string {
	var result []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			result = append(result, l)
		}
	}
	return result
}

// Package modules holds the provider's own NixOS modules, embedded in the
// provider binary, and installs them on a host. They are written against
// real NixOS option names; the desired state reaches them only as JSON
// fragments (see nixos/entry.nix).
package modules

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sync"

	"github.com/fediversity/terraform-provider-fediversity/internal/remote"
)

//go:embed nixos
var files embed.FS

// Entry is the file nix-build evaluates, relative to an installed copy.
const Entry = "entry.nix"

// EnsureSecretsScript is the secret generator that both the provider (over
// SSH) and the system's activation run: one script, two callers.
var EnsureSecretsScript = mustRead("nixos/ensure-secrets.sh")

// Runner runs one remote command; *remote.Client is one.
type Runner interface {
	Run(ctx context.Context, cmd remote.Cmd) error
}

// Install puts this provider version's modules on the host under
// root/<digest>, once: a directory named by its content is never changed,
// so several provider versions can deploy to one host side by side. It
// returns the directory.
func Install(ctx context.Context, r Runner, root string) (string, error) {
	archive, digest := bundle()
	dir := path.Join(root, digest)
	err := r.Run(ctx, remote.Cmd{
		Args:  []string{"sh", "-c", installScript, "sh", dir},
		Stdin: bytes.NewReader(archive),
	})
	if err != nil {
		return "", fmt.Errorf("installing the provider's NixOS modules in %s: %w", dir, err)
	}
	return dir, nil
}

// installScript unpacks the archive on stdin into dir unless it is there
// already, through a temp dir and a rename so a half-written copy is
// never used. Arguments: dir.
const installScript = `
set -eu
dir=$1
[ -d "$dir" ] && exit 0
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$dir.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -x -C "$tmp"
chmod -R go-w "$tmp"
chmod 755 "$tmp"
mv "$tmp" "$dir" 2>/dev/null || [ -d "$dir" ]
trap - EXIT
`

var (
	bundleOnce    sync.Once
	bundleArchive []byte
	bundleDigest  string
)

// bundle is the modules as a tar archive and the digest of their content.
func bundle() ([]byte, string) {
	bundleOnce.Do(func() {
		var buf bytes.Buffer
		sum := sha256.New()
		tw := tar.NewWriter(&buf)
		err := fs.WalkDir(files, "nixos", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			content := mustRead(name)
			rel := name[len("nixos/"):]
			fmt.Fprintf(sum, "%s\x00%d\x00%s", rel, len(content), content)
			return writeFile(tw, rel, content)
		})
		if err == nil {
			err = tw.Close()
		}
		if err != nil {
			panic(err) // embedded files: cannot fail at run time
		}
		bundleArchive, bundleDigest = buf.Bytes(), hex.EncodeToString(sum.Sum(nil))[:32]
	})
	return bundleArchive, bundleDigest
}

func writeFile(tw *tar.Writer, name, content string) error {
	mode := int64(0o644)
	if path.Ext(name) == ".sh" {
		mode = 0o755
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write([]byte(content))
	return err
}

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

#!/usr/bin/env bash
# Installs the provider, built from this checkout with a semver version,
# once into a read-only filesystem mirror in OpenTofu's unpacked layout, and
# writes a CLI configuration that installs it from there and from nowhere
# else (no dev_overrides, no registry, no plugin cache):
#
#   DIR/providers/registry.opentofu.org/fediversity/fediversity/VERSION/OS_ARCH/terraform-provider-fediversity_vVERSION
#   DIR/cli.tfrc
#
# Every working directory's `tofu init` (with TF_CLI_CONFIG_FILE=DIR/cli.tfrc)
# then links the provider from the mirror into its own .terraform, reading
# the mirror and never writing it, so concurrent inits have nothing to race
# on. A version in a mirror never changes: to install another build, use
# another version or another DIR.
#
# The version must be semver. A prerelease (0.1.0-dev) is only chosen by a
# configuration that pins it exactly, so a development build is labelled
# with build metadata instead (0.1.0+dev), which any constraint admits.
#
# Usage: scripts/provider-mirror.sh DIR [VERSION]   (VERSION: 0.1.0+dev)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then echo "usage: provider-mirror.sh DIR [VERSION]" >&2; exit 2; fi
version="${2:-0.1.0+dev}"
# OpenTofu reads the version from the directory name.
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] || {
  echo "provider-mirror: version must be semver such as 0.1.0 or 0.1.0+dev, not $version" >&2
  exit 2
}
mkdir -p "$1"
dir="$(cd "$1" && pwd)"
platform="$(cd "$repo" && go env GOOS)_$(cd "$repo" && go env GOARCH)"
package="$dir/providers/registry.opentofu.org/fediversity/fediversity/$version/$platform"
if [ -e "$package" ]; then
  echo "provider-mirror: $version is already in $dir; a version in a mirror never changes: use another version or another dir" >&2
  exit 1
fi

# Built beside the mirror first, so that a failed build leaves no version
# directory behind.
binary="$dir/.terraform-provider-fediversity.$$"
trap 'rm -f "$binary"' EXIT
(cd "$repo" && go build -ldflags "-s -w -X main.version=$version" -o "$binary" .)
mkdir -p "$package"
mv "$binary" "$package/terraform-provider-fediversity_v$version"

cat >"$dir/cli.tfrc" <<CONF
# Written by scripts/provider-mirror.sh: the fediversity provider comes from
# this read-only mirror only; nothing is downloaded and nothing is cached.
provider_installation {
  filesystem_mirror {
    path    = "$dir/providers"
    include = ["registry.opentofu.org/fediversity/fediversity"]
  }
}
CONF

chmod -R a-w "$dir"
echo "provider-mirror: fediversity $version ($platform) in $dir/providers; use TF_CLI_CONFIG_FILE=$dir/cli.tfrc" >&2

#!/usr/bin/env bash
# Prepares this machine for the demo and the tests: Debian packages, a cached
# OpenTofu built from its Go module, the provider binary, and a CLI config with
# dev_overrides. Idempotent and quiet when everything is already in place.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/env.sh
source "$repo/scripts/env.sh"

log() { printf 'setup: %s\n' "$*" >&2; }

install_debian_packages() {
  local wanted=(nix-bin openssh-server postgresql nftables iproute2 util-linux procps openssl curl)
  local missing=()
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || { log "need root to install: ${missing[*]}"; exit 1; }
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # policy-rc.d keeps Debian from starting the machine-wide sshd and postgres:
  # the sandbox starts its own, one per host.
  local policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_opentofu() {
  [ -x "$FEDIVERSITY_TOFU" ] && return 0
  log "building OpenTofu $OPENTOFU_VERSION from its Go module (a few minutes, once per version)"
  local dir
  dir="$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/opentofu/opentofu@$OPENTOFU_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir" ] || { log "could not download the OpenTofu module"; exit 1; }
  mkdir -p "$(dirname "$FEDIVERSITY_TOFU")"
  (cd "$dir" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$FEDIVERSITY_TOFU.tmp" ./cmd/tofu)
  mv "$FEDIVERSITY_TOFU.tmp" "$FEDIVERSITY_TOFU"
}

# go_tool_install MODULE@VERSION BINARY_PATH: builds a Go tool once per version
# into the cache, outside the repo and outside the provider's go.mod.
go_tool_install() {
  local target="$2"
  [ -x "$target" ] && return 0
  log "building $1 (once per version)"
  mkdir -p "$(dirname "$target")"
  GOBIN="$(dirname "$target")" go install "$1"
}

build_tools() {
  go_tool_install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION" "$FEDIVERSITY_GOLANGCI_LINT"
  go_tool_install "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@$TFPLUGINDOCS_VERSION" "$FEDIVERSITY_TFPLUGINDOCS"
}

build_provider() {
  mkdir -p "$FEDIVERSITY_PLUGIN_DIR"
  (cd "$repo" && go build -o "$FEDIVERSITY_PLUGIN_DIR/terraform-provider-fediversity" .)
}

write_cli_config() {
  local tmp="$TF_CLI_CONFIG_FILE.tmp"
  mkdir -p "$(dirname "$TF_CLI_CONFIG_FILE")"
  cat >"$tmp" <<CONF
provider_installation {
  dev_overrides {
    "registry.opentofu.org/fediversity/fediversity" = "$FEDIVERSITY_PLUGIN_DIR"
    "registry.terraform.io/fediversity/fediversity" = "$FEDIVERSITY_PLUGIN_DIR"
  }
  direct {}
}
CONF
  mv "$tmp" "$TF_CLI_CONFIG_FILE"
}

case "${1:-all}" in
  packages) install_debian_packages ;;
  tofu) build_opentofu ;;
  tools) build_tools ;;
  provider) build_provider; write_cli_config ;;
  all) install_debian_packages; build_opentofu; build_provider; write_cli_config ;;
  dev) install_debian_packages; build_opentofu; build_tools; build_provider; write_cli_config ;;
  *) log "usage: setup.sh [all|dev|packages|tofu|tools|provider]"; exit 2 ;;
esac

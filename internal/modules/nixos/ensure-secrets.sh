#!/bin/sh
# Creates missing secret files. Arguments come in groups of six:
#   path owner group mode kind size
# The secret is generated straight into a temp file that already has its
# final owner and mode, then renamed: it is never readable by anyone else,
# and nothing of it passes through argv. Existing secrets are left alone.
# Run by the provider over SSH and by the system's activation (secrets.nix).
set -eu
umask 077
while [ $# -ge 6 ]; do
  path=$1 owner=$2 group=$3 mode=$4 kind=$5 size=$6
  shift 6
  [ -s "$path" ] && continue
  id -u -- "$owner" >/dev/null 2>&1 || { echo "unknown owner $owner for $path" >&2; exit 3; }
  getent group -- "$group" >/dev/null 2>&1 || { echo "unknown group $group for $path" >&2; exit 3; }
  dir=$(dirname -- "$path")
  (umask 066 && mkdir -p -- "$dir")
  tmp=$(mktemp -- "$dir/.secret.XXXXXX")
  trap 'rm -f -- "$tmp"' EXIT
  chown -- "$owner:$group" "$tmp"
  chmod -- "$mode" "$tmp"
  case $kind in
    random-base64) head -c "$size" /dev/urandom | base64 -w 0 >>"$tmp" ;;
    synapse-signing-key)
      id=$(head -c 64 /dev/urandom | base64 -w 0 | tr -dc 'a-zA-Z0-9' | cut -c 1-4)
      seed=$(head -c 32 /dev/urandom | base64 -w 0 | tr -d '=')
      printf 'ed25519 a_%s %s\n' "$id" "$seed" >>"$tmp" ;;
    laravel-app-key) { printf 'APP_KEY=base64:'; head -c 32 /dev/urandom | base64 -w 0; echo; } >>"$tmp" ;;
    rsa-private-key) openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$size" 2>/dev/null >>"$tmp" ;;
    *) echo "unknown secret kind $kind" >&2; exit 3 ;;
  esac
  [ -s "$tmp" ] || { echo "generating $path produced nothing" >&2; exit 3; }
  mv -f -- "$tmp" "$path"
  trap - EXIT
  printf '%s\n' "$path"
done

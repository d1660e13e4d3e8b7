#!/usr/bin/env bash
# Builds sops (the operator decrypts SOPS files in Git with it at render time, issue 17) and age-keygen (the tests make
# their age keys with it) from the Go module beside this script, into the same cache as the control plane, keyed by
# everything that shapes the binaries. The operator image builds sops from this same module (Dockerfile).
#
#   bash test/sops/build.sh              build if needed; the last line printed is the bin directory
#   SLUICE_CACHE=/somewhere bash ...     put the cache elsewhere (default: $XDG_CACHE_HOME/sluice or ~/.cache/sluice)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}

command -v go >/dev/null || { echo "sops/build.sh: Go is required to build sops; none on PATH" >&2; exit 1; }
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly

version=$(awk '$1 == "github.com/getsops/sops/v3" { print $2; exit }' "$here/go.mod")
[[ "$version" =~ ^v3\. ]] || { echo "sops/build.sh: cannot read the sops version from go.mod (got '$version')" >&2; exit 1; }
ldflags="-s -w"

key=$(
  {
    go version
    echo "$ldflags"
    cd "$here" && sha256sum go.mod go.sum
  } | sha256sum | cut -c1-16
)
dir="$cache/sops-$version-$key"
complete() { [[ -x "$dir/bin/sops" && -x "$dir/bin/age-keygen" ]]; }

if ! complete; then
  mkdir -p "$cache"
  # One build at a time per cache (two test runs starting together must not both build).
  exec 9>"$cache/.sops-build.lock"
  flock 9
  if ! complete; then
    tmp=$(mktemp -d "$cache/.sops-build-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    echo "sops/build.sh: building sops $version and age-keygen into $dir (cold: a few minutes on 2 cores)" >&2
    (cd "$here" && go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp/bin/" \
      github.com/getsops/sops/v3/cmd/sops filippo.io/age/cmd/age-keygen) >&2
    "$tmp/bin/sops" --version --disable-version-check >&2
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
    echo "sops/build.sh: built in $(( $(date +%s) - start ))s" >&2
  fi
  flock -u 9
fi
echo "$dir/bin"

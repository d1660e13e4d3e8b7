#!/usr/bin/env bash
# Builds Traefik (a real Gateway API implementation, for the data-plane work of issue 15) from the Go module beside
# this script, into the same cache as the control plane, keyed by everything that shapes the binary. Nothing calls it
# yet: `npm test` does not build it. Traefik v3.6 is the newest the Go module proxy can serve whole: from v3.7 on,
# Traefik's go.mod replaces github.com/traefik/traefik/dynamic/ext with a directory of its repository that is a module
# of its own, which the proxy does not serve. The replace lines in go.mod are upstream's (forks it builds with).
#
#   bash test/dataplane/traefik/build.sh     build if needed; the last line printed is the bin directory
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}

command -v go >/dev/null || { echo "traefik/build.sh: Go is required to build Traefik; none on PATH" >&2; exit 1; }
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly

version=$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/traefik/traefik/v3") { print $(i + 1); exit } }' "$here/go.mod")
[[ "$version" =~ ^v3\. ]] || { echo "traefik/build.sh: cannot read the traefik version from go.mod (got '$version')" >&2; exit 1; }
ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=${version#v}"

key=$(
  {
    go version
    echo "$ldflags"
    cd "$here" && find . -maxdepth 1 -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
dir="$cache/traefik-$version-$key"

if [[ ! -x "$dir/bin/traefik" ]]; then
  mkdir -p "$cache"
  exec 9>"$cache/.traefik-build.lock"
  flock 9
  if [[ ! -x "$dir/bin/traefik" ]]; then
    tmp=$(mktemp -d "$cache/.traefik-build-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    echo "traefik/build.sh: building Traefik $version into $dir (cold: about 10 minutes on 2 cores)" >&2
    (cd "$here" && go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$tmp/bin/" github.com/traefik/traefik/v3/cmd/traefik) >&2
    "$tmp/bin/traefik" version >&2
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
    echo "traefik/build.sh: built in $(( $(date +%s) - start ))s" >&2
  fi
  flock -u 9
fi
echo "$dir/bin"

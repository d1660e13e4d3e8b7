#!/usr/bin/env bash
# Builds the benchmark's peer controllers from the Go modules beside this script, into the same cache as the control
# plane (test/cluster/build.sh), keyed by everything that shapes the binaries. Only `npm run bench` calls it; `npm test`
# never does. The last line printed is the directory of the binaries; a second line before it names the module
# directory of Argo Rollouts (its CRDs come from there).
#
#   bash test/bench/peers/build.sh        build if needed; prints "argo-module <dir>" then the bin directory
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}

command -v go >/dev/null || { echo "peers/build.sh: Go is required to build the benchmark's peers; none on PATH" >&2; exit 1; }
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly

argo_version=$(awk '$1 == "github.com/argoproj/argo-rollouts" { print $2; exit }' "$here/argo-rollouts/go.mod")
[[ "$argo_version" =~ ^v1\. ]] || { echo "peers/build.sh: cannot read the argo-rollouts version from argo-rollouts/go.mod (got '$argo_version')" >&2; exit 1; }
# As upstream's Makefile stamps it, so the controller's /version and its log line are true.
v=github.com/argoproj/argo-rollouts/utils/version
argo_ldflags="-s -w -X $v.version=${argo_version#v} -X $v.gitTag=$argo_version -X $v.gitTreeState=clean"

key=$(
  {
    go version
    echo "$argo_ldflags"
    cd "$here" && find argo-rollouts -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
dir="$cache/peers-argo-rollouts-$argo_version-$key"

if [[ ! -x "$dir/bin/rollouts-controller" ]]; then
  mkdir -p "$cache"
  exec 9>"$cache/.peers-build.lock"
  flock 9
  if [[ ! -x "$dir/bin/rollouts-controller" ]]; then
    tmp=$(mktemp -d "$cache/.peers-build-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    echo "peers/build.sh: building Argo Rollouts $argo_version (rollouts-controller) into $dir (cold: about 10 minutes on 2 cores)" >&2
    (cd "$here/argo-rollouts" && go build -trimpath -buildvcs=false -ldflags "$argo_ldflags" -o "$tmp/bin/" github.com/argoproj/argo-rollouts/cmd/rollouts-controller) >&2
    "$tmp/bin/rollouts-controller" --version >&2 || true
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
    echo "peers/build.sh: built in $(( $(date +%s) - start ))s" >&2
  fi
  flock -u 9
fi
# The module's own manifests (CRDs) live in the module cache, which the build just filled.
module_dir=$(cd "$here/argo-rollouts" && go list -m -f '{{.Dir}}' github.com/argoproj/argo-rollouts)
[[ -d "$module_dir/manifests/crds" ]] || { echo "peers/build.sh: no manifests/crds in $module_dir" >&2; exit 1; }
echo "argo-module $module_dir"
echo "$dir/bin"

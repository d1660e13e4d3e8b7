#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl), kwok and
# helm (for the chart tests) from the Go modules beside this script, into a cache directory outside the repository
# keyed by everything that shapes the binaries. A warm machine skips the build; the last line printed is always the
# directory of the binaries.
#
#   bash test/cluster/build.sh            build if needed, print the directory
#   SLUICE_CACHE=/somewhere bash ...      put the cache elsewhere (default: $XDG_CACHE_HOME/sluice or ~/.cache/sluice)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SLUICE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice}

# The Kubernetes version is the one the wrapper module requires: stamped into the binaries so /version is true.
k8s_version=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$here/controlplane/go.mod")
[[ "$k8s_version" =~ ^v1\.([0-9]+)\.[0-9]+$ ]] || { echo "build.sh: cannot read k8s.io/kubernetes version from controlplane/go.mod (got '$k8s_version')" >&2; exit 1; }
k8s_minor=${BASH_REMATCH[1]}

command -v go >/dev/null || { echo "build.sh: Go is required to build the control plane (go.dev/doc/install); none on PATH" >&2; exit 1; }
export GOTOOLCHAIN=local GOWORK=off CGO_ENABLED=0 GOFLAGS=-mod=readonly

v=k8s.io/component-base/version
ldflags="-s -w -X $v.gitVersion=$k8s_version -X $v.gitMajor=1 -X $v.gitMinor=$k8s_minor -X $v.gitTreeState=clean"
ldflags+=" -X $v.gitCommit=0000000000000000000000000000000000000000 -X $v.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1"
ldflags+=" -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
tags=notest,grpcnotrace

# Helm: its version from the wrapper module, and the Kubernetes version its client-go speaks (as Helm's Makefile
# stamps them), so `helm version` and the default .Capabilities.KubeVersion are true.
helm_version=$(awk '$1 == "helm.sh/helm/v3" { print $2; exit }' "$here/helm/go.mod")
helm_k8s_minor=$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$here/helm/go.mod" | sed -n 's/^v0\.\([0-9]*\)\..*/\1/p')
[[ "$helm_version" =~ ^v3\. && -n "$helm_k8s_minor" ]] || { echo "build.sh: cannot read the helm or client-go version from helm/go.mod (got '$helm_version', '$helm_k8s_minor')" >&2; exit 1; }
h=helm.sh/helm/v3
helm_ldflags="-s -w -X $h/internal/version.version=$helm_version -X $h/internal/version.gitTreeState=clean"
helm_ldflags+=" -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$helm_k8s_minor"
helm_ldflags+=" -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$helm_k8s_minor"

key=$(
  {
    go version
    echo "$ldflags $tags"
    echo "$helm_ldflags"
    cd "$here" && find controlplane kwok helm -type f \( -name go.mod -o -name go.sum -o -name '*.go' \) -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
)
dir="$cache/controlplane-$k8s_version-$key"
bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwok-default-stages helm)

complete() { for b in "${bins[@]}"; do [[ -x "$dir/bin/$b" ]] || return 1; done; [[ -s "$dir/kwok-default-stages.yaml" ]]; }

if ! complete; then
  mkdir -p "$cache"
  # One build at a time per cache (two test runs starting together must not both spend 20 minutes).
  exec 9>"$cache/.build.lock"
  flock 9
  if ! complete; then
    tmp=$(mktemp -d "$cache/.build-XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    echo "build.sh: building Kubernetes $k8s_version control plane, kwok and helm $helm_version into $dir (cold: about 15-25 minutes on 2 cores)" >&2
    (cd "$here/controlplane" && go build -trimpath -buildvcs=false -tags="$tags" -ldflags "$ldflags" -o "$tmp/bin/" ./cmd/...) >&2
    (cd "$here/kwok" && go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$tmp/bin/" sigs.k8s.io/kwok/cmd/kwok ./cmd/...) >&2
    (cd "$here/helm" && go build -trimpath -buildvcs=false -ldflags "$helm_ldflags" -o "$tmp/bin/" helm.sh/helm/v3/cmd/helm) >&2
    "$tmp/bin/kwok-default-stages" >"$tmp/kwok-default-stages.yaml"
    "$tmp/bin/helm" version --short >&2
    "$tmp/bin/kube-apiserver" --version >&2
    rm -rf "$dir"
    mv "$tmp" "$dir"
    trap - EXIT
    echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
  fi
  flock -u 9
fi
echo "$dir/bin"

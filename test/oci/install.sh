#!/usr/bin/env bash
# Makes an OCI registry binary available for the Helm-from-OCI tests: Debian's `docker-registry` package (the CNCF
# distribution registry, 2.8). Idempotent: when /usr/bin/docker-registry exists it prints its path and exits at once.
# The tests never use the system service: test/support/registry.ts starts its own process on 127.0.0.1.
set -euo pipefail

bin=/usr/bin/docker-registry
if [ -x "$bin" ]; then
  echo "docker-registry: $bin"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || { echo "docker-registry is missing and apt-get is not available" >&2; exit 1; }
[ "$(id -u)" = "0" ] || { echo "docker-registry is missing and this user cannot run apt-get (not root)" >&2; exit 1; }

# The package's postinst would start a system service on :5000: policy-rc.d forbids starting services during the
# install (only the binary is wanted).
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

apt-get update -qq
apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
[ -x "$bin" ] || { echo "apt-get installed docker-registry but $bin is missing" >&2; exit 1; }
echo "docker-registry: $bin"

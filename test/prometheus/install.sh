#!/usr/bin/env bash
# Makes a `prometheus` server binary available for the integration tests. Idempotent: when one is already on the
# PATH (or at /usr/bin/prometheus) it prints its path and exits at once, without touching apt.
# Debian's package (bookworm ships 2.42) is used; the harness (test/prometheus/harness.ts) never uses the system
# service: it starts its own process on 127.0.0.1 with a temporary config and storage.
set -euo pipefail

found() {
  command -v prometheus 2>/dev/null || { [ -x /usr/bin/prometheus ] && echo /usr/bin/prometheus; } || true
}

bin="$(found)"
if [ -n "$bin" ]; then
  echo "prometheus: $bin"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "prometheus is missing and apt-get is not available; install Prometheus >= 2.42 on the PATH" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "prometheus is missing and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
  fi
fi

# The package's postinst would start a system service on :9090; policy-rc.d forbids starting services during the
# install (we only want the binary), and the service is disabled when systemd is around.
export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ "$SUDO" = "" ] && [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
bin="$(found)"
if [ -z "$bin" ]; then
  echo "apt-get installed prometheus but no binary was found" >&2
  exit 1
fi
echo "prometheus: $bin ($("$bin" --version 2>&1 | head -1))"

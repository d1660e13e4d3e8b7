#!/usr/bin/env bash
# Makes a `chromium` binary available for the dashboard's browser tests (driven by puppeteer-core). Idempotent: when
# one is already on the PATH it prints its path and exits at once, without touching apt. Debian's package is used.
set -euo pipefail

found() {
  for c in chromium chromium-browser; do command -v "$c" 2>/dev/null && return 0; done
  [ -x /usr/bin/chromium ] && echo /usr/bin/chromium
  return 0
}

bin="$(found)"
if [ -n "$bin" ]; then
  echo "chromium: $bin"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium is missing and apt-get is not available; install Chromium on the PATH" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "chromium is missing and this user cannot run apt-get (not root, no sudo)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
bin="$(found)"
if [ -z "$bin" ]; then
  echo "apt-get installed chromium but no binary was found" >&2
  exit 1
fi
echo "chromium: $bin"

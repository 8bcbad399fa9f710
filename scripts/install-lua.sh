#!/usr/bin/env bash
# Installs Lua 5.1 (the Debian `lua5.1` package, binary `lua5.1`) when it is not on PATH, for
# test/argocd/health-checks.test.ts, which runs the Argo CD health checks in argocd/resource_customizations/
# through a real Lua 5.1 interpreter (Argo CD runs them in gopher-lua, which implements Lua 5.1).
# Prints the path of lua5.1 on stdout; everything else goes to stderr.
#
# Needs root (or sudo without a password) and the Debian archive; when Lua cannot be installed it exits
# non-zero and says why. Idempotent: with lua5.1 already present it only prints its path.
set -euo pipefail

say() { echo "install-lua: $*" >&2; }

if found="$(command -v lua5.1 2>/dev/null)"; then
  echo "$found"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "lua5.1 is not installed and this machine has no apt-get; install Lua 5.1 (binary lua5.1) and try again"
  exit 1
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    say "lua5.1 is not installed, and installing the Debian package needs root (or sudo without a password)"
    exit 1
  fi
fi

say "lua5.1 not found; installing the Debian package 'lua5.1'"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq \
  && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends lua5.1; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  say "apt-get could not install the 'lua5.1' package (output above); install Lua 5.1 by hand and try again"
  exit 1
fi

# The package must give a working Lua 5.1, the language version Argo CD's interpreter speaks.
if ! found="$(command -v lua5.1 2>/dev/null)" || ! "$found" -e 'assert(_VERSION == "Lua 5.1")' >/dev/null 2>&1; then
  say "the 'lua5.1' package is installed but lua5.1 does not run Lua 5.1"
  exit 1
fi
say "installed: $("$found" -v 2>&1 | head -n 1)"
echo "$found"

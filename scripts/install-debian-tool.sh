#!/usr/bin/env bash
# Usage: install-debian-tool.sh <binary> <debian-package> <check-args...>
# Installs the Debian package when <binary> is not on PATH, then checks that `<binary> <check-args...>` runs.
# Prints the binary's path on stdout; everything else goes to stderr. Shared by install-lua.sh and
# install-ansible.sh, which say what each tool is for.
#
# Needs root (or sudo without a password) and the Debian archive; when the package cannot be installed it
# exits non-zero and says why. Idempotent: with the binary already present it only prints its path.
set -euo pipefail

binary="$1" package="$2"
shift 2
say() { echo "install-$package: $*" >&2; }

if found="$(command -v "$binary" 2>/dev/null)"; then
  echo "$found"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "$binary is not installed and this machine has no apt-get; install it (Debian package $package) and try again"
  exit 1
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    say "$binary is not installed, and installing the Debian package needs root (or sudo without a password)"
    exit 1
  fi
fi

say "$binary not found; installing the Debian package '$package'"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq \
  && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$package"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  say "apt-get could not install the '$package' package (output above); install $binary by hand and try again"
  exit 1
fi

if ! found="$(command -v "$binary" 2>/dev/null)" || ! "$found" "$@" >/dev/null 2>&1; then
  say "the '$package' package is installed but '$binary $*' does not run"
  exit 1
fi
say "installed: $found"
echo "$found"

#!/usr/bin/env bash
# Installs Ansible (the Debian `ansible` package: ansible-core plus the community collections) when
# `ansible-playbook` is not on PATH, for bench/agent-fanout.ts, which runs the same script fan-out with
# Ansible beside Shipway. Prints the path of ansible-playbook on stdout; everything else goes to stderr.
#
# Needs root (or sudo without a password) and the Debian archive; when Ansible cannot be installed it exits
# non-zero and says why. Idempotent: with ansible-playbook already present it only prints its path.
set -euo pipefail

say() { echo "install-ansible: $*" >&2; }

if found="$(command -v ansible-playbook 2>/dev/null)"; then
  echo "$found"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "ansible-playbook is not installed and this machine has no apt-get; install Ansible (e.g. pipx install ansible-core) and try again"
  exit 1
fi

sudo=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    say "ansible-playbook is not installed, and installing the Debian package needs root (or sudo without a password)"
    exit 1
  fi
fi

say "ansible-playbook not found; installing the Debian package 'ansible' (this takes a minute)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq \
  && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ansible; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  say "apt-get could not install the 'ansible' package (output above); install Ansible by hand and try again"
  exit 1
fi

if ! found="$(command -v ansible-playbook 2>/dev/null)" || ! "$found" --version >/dev/null 2>&1; then
  say "the 'ansible' package is installed but ansible-playbook does not run"
  exit 1
fi
say "installed: $("$found" --version | head -n 1)"
echo "$found"

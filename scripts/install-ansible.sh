#!/usr/bin/env bash
# Installs Ansible (the Debian `ansible` package: ansible-core plus the community collections) when
# `ansible-playbook` is not on PATH, for bench/agent-fanout.ts, which runs the same script fan-out with
# Ansible beside Shipway. Prints the path of ansible-playbook on stdout; everything else goes to stderr.
# Needs root or passwordless sudo; installing takes a minute.
set -euo pipefail
exec "$(dirname "$0")/install-debian-tool.sh" ansible-playbook ansible --version

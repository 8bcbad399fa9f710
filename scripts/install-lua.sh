#!/usr/bin/env bash
# Installs Lua 5.1 (the Debian `lua5.1` package, binary `lua5.1`) when it is not on PATH, for
# test/argocd/health-checks.test.ts, which runs the Argo CD health checks in argocd/resource_customizations/
# through a real Lua 5.1 interpreter (Argo CD runs them in gopher-lua, which implements Lua 5.1).
# Prints the path of lua5.1 on stdout; everything else goes to stderr. Needs root or passwordless sudo.
set -euo pipefail
# The check: a working Lua 5.1, the language version Argo CD's interpreter speaks.
exec "$(dirname "$0")/install-debian-tool.sh" lua5.1 lua5.1 -e 'assert(_VERSION == "Lua 5.1")'

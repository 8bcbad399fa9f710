#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh <command...>
#
# Runs <command> with DATABASE_URL pointing at a PostgreSQL server:
#   - DATABASE_URL already set: the command uses that server, nothing is started;
#   - otherwise, when the PostgreSQL server binaries are installed (/usr/lib/postgresql/<version>/bin), a
#     throwaway cluster is created in a temporary directory, started on a free loopback port, and stopped and
#     deleted when the command ends, fails or is interrupted;
#   - binaries missing: with REQUIRE_POSTGRES=1 this is an error; otherwise the command runs without
#     DATABASE_URL and the PostgreSQL tests skip themselves.
# The command's exit code is preserved.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command...>" >&2
  exit 2
fi

if [[ -n "${DATABASE_URL:-}" ]]; then
  exec "$@"
fi

bindir=""
for candidate in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
  [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]] && bindir="$candidate"
done

if [[ -z "$bindir" ]]; then
  if [[ "${REQUIRE_POSTGRES:-}" == "1" ]]; then
    echo "with-postgres: REQUIRE_POSTGRES=1 but no PostgreSQL server binaries were found (/usr/lib/postgresql/*/bin/initdb)." >&2
    echo "with-postgres: install them (Debian: apt-get install postgresql) or set DATABASE_URL." >&2
    exit 1
  fi
  echo "with-postgres: no PostgreSQL server binaries found; running without DATABASE_URL (PostgreSQL tests will skip)." >&2
  exec "$@"
fi

# initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres user.
as_owner=()
if [[ "$(id -u)" -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "with-postgres: running as root and there is no 'postgres' user to own the cluster." >&2
    exit 1
  fi
  as_owner=(runuser -u postgres --)
fi

dir="$(mktemp -d "${TMPDIR:-/tmp}/shipway-pg.XXXXXX")"
data="$dir/data"
log="$dir/server.log"
if [[ ${#as_owner[@]} -gt 0 ]]; then
  chown postgres: "$dir"
fi
chmod 700 "$dir"

stopped=0
cleanup() {
  [[ $stopped -eq 1 ]] && return
  stopped=1
  if [[ -f "$data/postmaster.pid" ]]; then
    "${as_owner[@]}" "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

if ! "${as_owner[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust --no-locale --encoding=UTF8 >"$dir/initdb.log" 2>&1; then
  echo "with-postgres: initdb failed:" >&2
  cat "$dir/initdb.log" >&2
  exit 1
fi

# The port is free when picked but another process may take it before the server binds: retry a few times.
port=""
for _attempt in 1 2 3; do
  candidate="$(free_port)"
  # setsid: the server must not receive the terminal's Ctrl-C; the trap stops it in order.
  if "${as_owner[@]}" setsid -w "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $candidate -k $dir -c listen_addresses=127.0.0.1" start >/dev/null 2>&1; then
    port="$candidate"
    break
  fi
done
if [[ -z "$port" ]]; then
  echo "with-postgres: the PostgreSQL server did not start:" >&2
  cat "$log" >&2 || true
  exit 1
fi

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $(basename "$(dirname "$bindir")") on 127.0.0.1:$port (data in $data)" >&2

set +e
"$@"
status=$?
set -e
exit "$status"

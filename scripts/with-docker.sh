#!/usr/bin/env bash
# Usage: scripts/with-docker.sh <command...>
#
# Runs <command> with a throwaway Docker engine and a local image registry for the Docker tests:
#   - a dockerd of its own (own socket, data-root, exec-root and pidfile in a temporary directory; no iptables,
#     no bridge, vfs storage), so nothing of a Docker already on the machine is touched;
#   - a registry (Debian docker-registry) on a free 127.0.0.1 port, which the engine pulls from over plain HTTP
#     (loopback registries need no TLS);
#   - a tiny image built from busybox-static (`docker import` of a root filesystem, no base image needed):
#     the repository $SHIPWAY_TEST_IMAGE with tags
#       v1, v2  `httpd` on 127.0.0.1:$HTTP_PORT (default 8080) serving /www: /health ("ok"), /version (the
#               tag), /env (the container's environment, written at start);
#       broken  the same server with an empty /www, so every health check gets 404.
#     The tags are pushed and then removed from the engine, so a test's pull really goes to the registry.
# Exported to the command: DOCKER_HOST, SHIPWAY_TEST_REGISTRY (host:port), SHIPWAY_TEST_IMAGE (repository),
# SHIPWAY_TEST_IMAGE_TAGS, SHIPWAY_TEST_DOCKER_TLS_HOST (the same engine on tcp://127.0.0.1:<port> with
# --tlsverify) and SHIPWAY_TEST_DOCKER_TLS_DIR (client ca.pem, cert.pem, key.pem). Everything is stopped and deleted when the command ends, fails or is interrupted;
# the command's exit code is preserved.
#   - SHIPWAY_TEST_REGISTRY already set: the command uses what is there, nothing is started;
#   - dockerd, docker, docker-registry or a static busybox missing, or not root (dockerd needs it), or the
#     engine does not start: with REQUIRE_DOCKER=1 this is an error; otherwise the command runs without these
#     variables and the Docker tests skip themselves.
# Debian packages: docker.io docker-registry busybox-static.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command...>" >&2
  exit 2
fi

if [[ -n "${SHIPWAY_TEST_REGISTRY:-}" ]]; then
  exec "$@"
fi

# unavailable <why> <command...>
unavailable() {
  local why="$1"
  shift
  if [[ "${REQUIRE_DOCKER:-}" == "1" ]]; then
    echo "with-docker: REQUIRE_DOCKER=1 but $why" >&2
    echo "with-docker: install them (Debian: apt-get install docker.io docker-registry busybox-static) and run as root." >&2
    exit 1
  fi
  echo "with-docker: $why; running without a Docker engine (Docker tests will skip)." >&2
  exec "$@"
}

missing=()
for tool in dockerd docker docker-registry; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
busybox=""
for candidate in /bin/busybox /usr/bin/busybox; do
  # The image has no libc: only a statically linked busybox runs in it.
  if [[ -x "$candidate" ]] && ! ldd "$candidate" >/dev/null 2>&1; then
    busybox="$candidate"
    break
  fi
done
[[ -n "$busybox" ]] || missing+=("busybox-static")
if [[ ${#missing[@]} -gt 0 ]]; then
  unavailable "missing: ${missing[*]}" "$@"
fi
if [[ "$(id -u)" -ne 0 ]]; then
  unavailable "dockerd needs root and this is uid $(id -u)" "$@"
fi

# Short path: containerd's and the shims' unix sockets live under the exec-root and must fit in 108 bytes.
dir="$(mktemp -d /tmp/shipway-docker.XXXXXX)"
chmod 700 "$dir"
socket="$dir/docker.sock"
dockerd_pid=""
registry_pid=""

stopped=0
cleanup() {
  [[ $stopped -eq 1 ]] && return
  stopped=1
  if [[ -n "$dockerd_pid" ]] && kill -0 "$dockerd_pid" 2>/dev/null; then
    # Containers first: a running container's shim would outlive the engine.
    local ids
    ids="$(DOCKER_HOST="unix://$socket" timeout 20 docker ps -aq 2>/dev/null || true)"
    if [[ -n "$ids" ]]; then
      # shellcheck disable=SC2086
      DOCKER_HOST="unix://$socket" timeout 30 docker rm -f $ids >/dev/null 2>&1 || true
    fi
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$dockerd_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$dockerd_pid" 2>/dev/null || true
    wait "$dockerd_pid" 2>/dev/null || true
  fi
  # The containerd that dockerd started for itself goes with it, unless dockerd was killed.
  local containerd_pid
  containerd_pid="$(cat "$dir/exec/containerd/containerd.pid" 2>/dev/null || true)"
  if [[ -n "$containerd_pid" ]] && kill -0 "$containerd_pid" 2>/dev/null; then
    kill -TERM "$containerd_pid" 2>/dev/null || true
    sleep 1
    kill -KILL "$containerd_pid" 2>/dev/null || true
  fi
  if [[ -n "$registry_pid" ]]; then
    kill -TERM "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  # dockerd leaves its network namespace (and, when killed, container mounts) mounted under the exec-root.
  local mounts
  mounts="$(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)"
  for mount in $mounts; do
    umount -l "$mount" 2>/dev/null || true
  done
  rm -rf "$dir" 2>/dev/null || true
}
# The command runs in the background and the script waits for it: bash runs a trap only after the foreground
# command ends, so a signal would otherwise leave the engine up until the tests finish by themselves.
child=""
on_signal() {
  if [[ -n "$child" ]]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  cleanup
  exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

free_port() {
  node -e "const s = require('node:net').createServer(); s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

started_at=$SECONDS

# A second, TLS-verified listener on loopback, as a remote engine behind tcp://…:2376 would be: the docker
# executor's engine.tls (a Target's tlsSecretRef) is tested against it. Client PEMs in $dir/tls.
tls="$dir/tls"
mkdir -p "$tls"
(
  cd "$tls"
  ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -days 2 -subj /CN=shipway-test-docker-ca -keyout ca-key.pem -out ca.pem
  openssl req "${ec[@]}" -subj /CN=127.0.0.1 -keyout server-key.pem -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile server.ext -out server-cert.pem
  openssl req "${ec[@]}" -subj /CN=shipway-agent -keyout key.pem -out client.csr
  printf 'extendedKeyUsage=clientAuth\n' >client.ext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 -extfile client.ext -out cert.pem
) >"$dir/tls.log" 2>&1 || { echo "with-docker: making the TLS certificates failed:" >&2; cat "$dir/tls.log" >&2; exit 1; }
tls_port="$(free_port)"

# setsid: the engine must not receive the terminal's Ctrl-C; the trap stops it in order.
setsid dockerd \
  --host "unix://$socket" \
  --host "tcp://127.0.0.1:$tls_port" --tlsverify --tlscacert "$tls/ca.pem" --tlscert "$tls/server-cert.pem" --tlskey "$tls/server-key.pem" \
  --data-root "$dir/data" \
  --exec-root "$dir/exec" \
  --pidfile "$dir/dockerd.pid" \
  --iptables=false --ip-masq=false --bridge=none --storage-driver=vfs \
  >"$dir/dockerd.log" 2>&1 &
dockerd_pid=$!

export DOCKER_HOST="unix://$socket"
ready=0
for _ in $(seq 1 150); do
  if ! kill -0 "$dockerd_pid" 2>/dev/null; then
    break
  fi
  if [[ -S "$socket" ]] && docker version >/dev/null 2>&1; then
    ready=1
    break
  fi
  sleep 0.2
done
if [[ $ready -ne 1 ]]; then
  echo "with-docker: dockerd did not start:" >&2
  tail -n 30 "$dir/dockerd.log" >&2 || true
  if [[ "${REQUIRE_DOCKER:-}" == "1" ]]; then
    exit 1
  fi
  cleanup
  unset DOCKER_HOST
  echo "with-docker: running without a Docker engine (Docker tests will skip)." >&2
  trap - EXIT INT TERM
  exec "$@"
fi

registry_port=""
for _attempt in 1 2 3; do
  candidate="$(free_port)"
  cat >"$dir/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$candidate
EOF
  setsid docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  registry_pid=$!
  for _ in $(seq 1 50); do
    kill -0 "$registry_pid" 2>/dev/null || break
    if node -e "fetch('http://127.0.0.1:$candidate/v2/').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))" 2>/dev/null; then
      registry_port="$candidate"
      break
    fi
    sleep 0.1
  done
  [[ -n "$registry_port" ]] && break
  # Someone else took the port (or the registry failed): stop this one and try another port.
  kill -TERM "$registry_pid" 2>/dev/null || true
  wait "$registry_pid" 2>/dev/null || true
  registry_pid=""
done
if [[ -z "$registry_port" ]]; then
  echo "with-docker: the registry did not start:" >&2
  cat "$dir/registry.log" >&2 || true
  exit 1
fi

registry="127.0.0.1:$registry_port"
image="$registry/shipway-test/web"
tags=(v1 v2 broken)

build_tag() {
  local tag="$1" rootfs="$dir/rootfs-$1"
  mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/data" "$rootfs/tmp"
  cp "$busybox" "$rootfs/bin/busybox"
  for applet in sh httpd env cat echo ls sleep true false touch mkdir rm wget; do
    ln -s busybox "$rootfs/bin/$applet"
  done
  if [[ "$tag" != "broken" ]]; then
    echo ok >"$rootfs/www/health"
    echo "$tag" >"$rootfs/www/version"
  fi
  # The environment is written where httpd serves it, so a test can see what reached the process. httpd as
  # PID 1 would ignore SIGTERM (no handler) and make every `docker stop` wait for its kill timeout: the shell
  # stays PID 1 and passes SIGTERM on.
  tar -C "$rootfs" -c . | docker import \
    -c "ENV PATH=/bin" \
    -c 'CMD ["/bin/sh", "-c", "env > /www/env 2>/dev/null; httpd -f -p 127.0.0.1:${HTTP_PORT:-8080} -h /www & trap \"kill $!; exit 0\" TERM INT; wait"]' \
    - "$image:$tag" >/dev/null
  docker push "$image:$tag" >/dev/null
  docker rmi "$image:$tag" >/dev/null
  rm -rf "$rootfs"
}
for tag in "${tags[@]}"; do
  if ! build_tag "$tag"; then
    echo "with-docker: building or pushing $image:$tag failed" >&2
    tail -n 20 "$dir/dockerd.log" "$dir/registry.log" >&2 || true
    exit 1
  fi
done

export SHIPWAY_TEST_REGISTRY="$registry"
export SHIPWAY_TEST_DOCKER_TLS_HOST="tcp://127.0.0.1:$tls_port"
export SHIPWAY_TEST_DOCKER_TLS_DIR="$tls"
export SHIPWAY_TEST_IMAGE="$image"
export SHIPWAY_TEST_IMAGE_TAGS="${tags[*]}"
echo "with-docker: dockerd $(docker version --format '{{.Server.Version}}') at $DOCKER_HOST, registry $registry with $image:{$(IFS=,; echo "${tags[*]}")} (ready in $((SECONDS - started_at)) s)" >&2

set +e
"$@" &
child=$!
wait "$child"
status=$?
child=""
set -e
exit "$status"

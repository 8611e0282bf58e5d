#!/usr/bin/env bash
# The Execution Environment of ee/execution-environment.yml (ansible-builder v3):
#   scripts/ee.sh create        build the collection tarball into build/ee/ and write the build context to build/ee/context
#   scripts/ee.sh build [TAG]   the same, then `ansible-builder build` (needs podman or docker, and a registry that serves
#                               the base image and Galaxy for community.docker / community.postgresql)
# CI runs `create` only (tests/integration/foundation/test_artifact.py): no registry is reachable there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${NODEOPS_VENV:-$ROOT/.venv}/bin"
OUT="$ROOT/build/ee"   # ee/execution-environment.yml takes the tarball from here
CONTEXT="${EE_CONTEXT:-$OUT/context}"

case "${1:-}" in
  create | build) ;;
  *) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
rm -rf "$OUT/dist" "$CONTEXT"
mkdir -p "$OUT/dist"
"$BIN/ansible-galaxy" collection build --output-path "$OUT/dist" "$ROOT" >/dev/null
# one stable name, so the EE definition does not follow galaxy.yml's version
mv "$OUT"/dist/nodeops-chainlink-*.tar.gz "$OUT/nodeops-chainlink.tar.gz" && rmdir "$OUT/dist"
if [ "$1" = create ]; then
  exec "$BIN/ansible-builder" create -f "$ROOT/ee/execution-environment.yml" -c "$CONTEXT" --output-filename Containerfile
fi
exec "$BIN/ansible-builder" build -f "$ROOT/ee/execution-environment.yml" -c "$CONTEXT" -t "${2:-nodeops-chainlink-ee:latest}"

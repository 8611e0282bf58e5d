#!/usr/bin/env bash
# Produce the lab's base image, $LAB_BASE_IMAGE (default nodeops-lab/base:bookworm).
#  - Online path: tag a present or pullable debian:bookworm-slim.
#  - Offline path (forced with LAB_OFFLINE=1, as CI does): debootstrap a minimal bookworm from the
#    machine's own Debian mirror and `docker import` it.
# Cached: when the image exists, nothing is done.
set -euo pipefail

IMAGE="${LAB_BASE_IMAGE:-nodeops-lab/base:bookworm}"
say() { printf 'lab: %s\n' "$*"; }

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  say "base image $IMAGE cached"
  exit 0
fi

if [ "${LAB_OFFLINE:-0}" != "1" ]; then
  if docker image inspect debian:bookworm-slim >/dev/null 2>&1 || timeout 60 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
    docker tag debian:bookworm-slim "$IMAGE"
    say "base image $IMAGE tagged from debian:bookworm-slim"
    exit 0
  fi
  say "debian:bookworm-slim is not available; building the base with debootstrap"
fi

command -v debootstrap >/dev/null 2>&1 || { echo "lab: ERROR: debootstrap is missing: apt-get install -y debootstrap (or run scripts/bootstrap.sh)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "lab: ERROR: debootstrap needs root to build the base image" >&2; exit 1; }

# The mirror this machine's apt already uses (deb822 or one-line sources), so no other host is needed.
mirror="${LAB_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)"
fi
if [ -z "$mirror" ]; then
  mirror="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n 1 || true)"
fi
[ -n "$mirror" ] || { echo "lab: ERROR: no Debian mirror found in /etc/apt; set LAB_DEBIAN_MIRROR" >&2; exit 1; }

rootfs="$(mktemp -d /tmp/nodeops-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
say "debootstrap bookworm from $mirror (about a minute)"
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  echo "lab: ERROR: debootstrap failed; last lines of $rootfs.log:" >&2; tail -n 20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
# Keep the image small and make apt inside builds use the same mirror.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
echo "deb $mirror bookworm main" >"$rootfs/etc/apt/sources.list"
tar -C "$rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
say "base image $IMAGE imported"

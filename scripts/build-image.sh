#!/usr/bin/env bash
# Builds the default sandbox image ssr-sandbox:bookworm without a registry:
# debootstrap a minimal Debian root file system from the machine's own apt
# mirror, then `docker import` it. Skips the work when the image exists
# (pass --force to rebuild). Needs root, debootstrap and a running engine.
set -euo pipefail
IMAGE="${SSR_IMAGE:-ssr-sandbox:bookworm}"
SUITE="${SSR_SUITE:-bookworm}"
PACKAGES="bash,python3,python3-pytest,git,ca-certificates,nodejs,patch,procps"
force=0
[ "${1:-}" = "--force" ] && force=1

docker_() { if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi; }

if ! docker_ info >/dev/null 2>&1; then
  echo "build-image: no Docker engine is reachable. Start one (scripts/start-docker.sh) or set DOCKER_HOST." >&2
  exit 2
fi
if [ "$force" = 0 ] && docker_ image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "build-image: $IMAGE already present (use --force to rebuild)"
  exit 0
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  else
    echo "build-image: debootstrap is missing: sudo apt-get install debootstrap" >&2
    exit 2
  fi
fi
# The mirror this machine already uses (never a host name written into the repo).
MIRROR="${SSR_DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
  MIRROR=$(grep -hE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v security | head -n1 | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//; s/[[:space:]].*$//' || true)
fi
if [ -z "$MIRROR" ]; then
  echo "build-image: no Debian mirror found in /etc/apt; set SSR_DEBIAN_MIRROR" >&2
  exit 2
fi
ROOTFS=$(mktemp -d /tmp/ssr-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "build-image: debootstrap $SUITE from the configured mirror into $ROOTFS (about a minute)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 || {
  tail -n 30 "$ROOTFS.log" >&2; echo "build-image: debootstrap failed (log above)" >&2; exit 2; }
rm -rf "$ROOTFS/var/cache/apt/archives/"*.deb "$ROOTFS/var/lib/apt/lists/"* 
tar -C "$ROOTFS" -c . | docker_ import \
  --change 'ENV LANG=C.UTF-8' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/bash"]' - "$IMAGE" >/dev/null
rm -f "$ROOTFS.log"
echo "build-image: built $IMAGE"

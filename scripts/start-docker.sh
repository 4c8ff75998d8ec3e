#!/usr/bin/env bash
# Makes sure a Docker engine answers: installs Debian's docker.io and starts
# dockerd when none runs (root only), else says what to do.
set -euo pipefail
docker_() { if [ -x /usr/bin/docker ]; then /usr/bin/docker "$@"; else docker "$@"; fi; }
if docker_ info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "start-docker: no Docker engine answers; start Docker (or podman's socket) and set DOCKER_HOST if needed" >&2
  exit 2
fi
if ! command -v dockerd >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
setsid dockerd >/tmp/ssr-dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker_ info >/dev/null 2>&1; then echo "start-docker: engine ready"; exit 0; fi
  sleep 1
done
echo "start-docker: dockerd did not come up; see /tmp/ssr-dockerd.log" >&2
tail -n 20 /tmp/ssr-dockerd.log >&2 || true
exit 2

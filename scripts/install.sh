#!/usr/bin/env bash
# Installs everything SSR needs on a Debian/Ubuntu machine (root, or sudo):
# the Docker engine, debootstrap, Debian's PyTorch and ONNX for the trainer,
# Chromium for the end-to-end test, the npm dependencies, the sandbox image
# and the bundle. Idempotent: what is there already is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

APT_PACKAGES=(docker.io debootstrap python3-torch python3-onnx python3-pytest python3-pyflakes python3-numpy chromium
  libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev ripgrep)
missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install: apt packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "install: npm dependencies"
# onnxruntime-node's install script downloads CUDA binaries; the CPU ones ship in the package.
export ONNXRUNTIME_NODE_INSTALL=skip npm_config_onnxruntime_node_install=skip
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; else npm install --no-audit --no-fund --loglevel=error; fi

bash scripts/start-docker.sh
bash scripts/build-image.sh
if [ -x scripts/install-code-server.sh ]; then bash scripts/install-code-server.sh; fi
npm run --silent build
echo "install: done"

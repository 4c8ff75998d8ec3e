#!/usr/bin/env bash
# Installs code-server (VS Code 1.100 served to a browser, from npm) into a
# cache folder for the end-to-end test, plus Debian's Chromium to drive it.
# VS Code desktop cannot be downloaded offline; code-server can. Follows
# ../shared/notes/offline-recipes.md. Idempotent: skipped when the cache
# holds a working install (marker file written last).
#
#   scripts/install-code-server.sh [CACHE_DIR]      (default .cache/code-server)
#
# Prints the path of entry.js on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${SSR_CODE_SERVER_VERSION:-4.100.3}
CACHE=${1:-${SSR_CODE_SERVER_DIR:-.cache/code-server}}
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
MARKER="$CACHE/.installed-$VERSION"
ENTRY="$CACHE/node_modules/code-server/out/node/entry.js"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export npm_config_yes=true npm_config_audit=false npm_config_fund=false npm_config_loglevel=error

need_apt=()
for p in libkrb5-dev libsecret-1-dev libx11-dev libxkbfile-dev ripgrep chromium g++ make; do
  dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "install-code-server: apt packages: ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ -f "$MARKER" ] && [ -f "$ENTRY" ]; then
  echo "install-code-server: code-server $VERSION already in $CACHE" >&2
  echo "$ENTRY"
  exit 0
fi

echo "install-code-server: installing code-server $VERSION into $CACHE (a few minutes)" >&2
cd "$CACHE"
[ -f package.json ] || echo '{"name":"ssr-code-server-cache","private":true}' > package.json
npm install --ignore-scripts "code-server@$VERSION" >&2
cd node_modules/code-server/lib/vscode
npm install --omit=dev --ignore-scripts >&2
mkdir -p node_modules/@vscode/ripgrep/bin
cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
npm rebuild kerberos node-pty @parcel/watcher @vscode/spdlog native-watchdog @vscode/deviceid >&2
(cd extensions && npm install --omit=dev --ignore-scripts >&2)
ln -sfn node_modules node_modules.asar
(cd bin/remote-cli && ln -sf code-linux.sh code-server)
(cd bin/helpers && ln -sf browser-linux.sh browser.sh)
cd "$CACHE"
npm rebuild argon2 >&2
node "$ENTRY" --version >&2
touch "$MARKER"
echo "install-code-server: done" >&2
echo "$ENTRY"

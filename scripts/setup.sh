#!/usr/bin/env bash
# The README's first command: install everything, then run the main job, a
# short self-play session on the example repository bundled with the project
# (test/fixtures/repos/pyledger), with the bootstrap proposer: no model needed.
#
# The main job writes nothing into the project's own tree: the session runs on
# a copy of the example in a scratch folder (SSR_WORK_DIR, default a fresh
# folder under ${TMPDIR:-/tmp}), and its run directory lives there too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
EXAMPLE=${SSR_EXAMPLE_REPO:-test/fixtures/repos/pyledger}
WORK=${SSR_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ssr-example.XXXXXX")}
mkdir -p "$WORK"
REPO="$WORK/$(basename "$EXAMPLE")"
rm -rf "$REPO"
# A copy of the example without any .ssr/ folder a previous run may have left.
tar -C "$EXAMPLE" --exclude=./.ssr -cf - . | { mkdir -p "$REPO" && tar -C "$REPO" -xf -; }
echo
echo "setup: running a short self-play session on a copy of $EXAMPLE in $REPO (bootstrap proposer, no model)"
node dist/cli.js selfplay --repo "$REPO" --rounds "${SSR_ROUNDS:-3}"

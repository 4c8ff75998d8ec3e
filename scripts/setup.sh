#!/usr/bin/env bash
# The README's first command: install everything, then run the main job, a
# short self-play session on the example repository bundled with the project
# (test/fixtures/repos/pyledger), with the bootstrap proposer: no model needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
EXAMPLE=${SSR_EXAMPLE_REPO:-test/fixtures/repos/pyledger}
echo
echo "setup: running a short self-play session on $EXAMPLE (bootstrap proposer, no model)"
node dist/cli.js selfplay --repo "$EXAMPLE" --rounds "${SSR_ROUNDS:-3}"

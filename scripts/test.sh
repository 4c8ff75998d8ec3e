#!/usr/bin/env bash
# The test command (`npm test`): type check, unit tests, integration tests
# against the real Docker engine, the Python runtime's tests, and the
# end-to-end test in a real VS Code. Prints one closing line
# "tests: N passed, M failed" over every suite.
#
# Every suite runs under scripts/watchdog.cjs: a suite that printed its
# result but does not exit within SSR_WATCHDOG_GRACE seconds (default 60), or
# runs past its limit below, is stopped with the handles that held it open
# (scripts/handle-report.cjs) and one clear line, and counts as failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1 ONNXRUNTIME_NODE_INSTALL=skip
LOG_DIR=${SSR_TEST_LOG_DIR:-test-results}
mkdir -p "$LOG_DIR"
passed=0; failed=0; status=0

suite() { # name, limit in seconds, command...
  local name=$1 limit=$2; shift 2
  echo; echo "=== $name"
  local log="$LOG_DIR/$name.log"
  node scripts/watchdog.cjs --name "$name" --limit "$limit" -- "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f
  # mocha: "N passing", "N failing"; pytest: "N passed", "N failed"
  p=$(grep -Eo '^ *[0-9]+ passing' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)
  f=$(grep -Eo '^ *[0-9]+ failing' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)
  if [ -z "$p$f" ]; then
    p=$(grep -Eo '[0-9]+ passed' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)
    f=$(grep -Eo '[0-9]+ failed' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)
  fi
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" != 0 ]; then
    status=1
    [ -z "$f" ] || [ "$f" = 0 ] && failed=$((failed + 1))  # a suite that crashed counts as a failure
    [ "$rc" = 124 ] || echo "=== $name FAILED (exit $rc)"
  fi
}

# Node suites load scripts/handle-report.cjs, which names what keeps them alive when the watchdog asks.
MOCHA=(node_modules/.bin/mocha --config .mocharc.json --require ./scripts/handle-report.cjs)
suite typecheck 900 node_modules/.bin/tsc -p . --noEmit
suite unit 1200 "${MOCHA[@]}" 'test/unit/**/*.test.ts'
if bash scripts/start-docker.sh && bash scripts/build-image.sh; then
  suite integration 3300 "${MOCHA[@]}" --timeout 600000 'test/integration/**/*.test.ts'
else
  echo "no Docker engine or image: integration tests cannot run"; status=1; failed=$((failed + 1))
fi
# The Python SSR runs inside sandboxes: linted (pyflakes) and unit-tested as Python.
PY=${SSR_PYTHON:-/usr/bin/python3}
suite python-lint 300 "$PY" -m pyflakes src/core/sandbox/py src/core/bootstrap/py src/core/environment/py src/core/judge/py runtime test/python
suite python 600 env "$PY" -m pytest -q -p no:cacheprovider test/python
if [ -d runtime/tests ]; then
  PY=${SSR_PYTHON:-/usr/bin/python3}
  suite runtime 1200 env PYTHONPATH=runtime "$PY" -m pytest -q -p no:cacheprovider runtime/tests
fi
if [ -f test/e2e/run.ts ]; then
  suite e2e 2400 node --import tsx --require ./scripts/text-loader.cjs --require ./scripts/handle-report.cjs test/e2e/run.ts
fi
echo
echo "tests: $passed passed, $failed failed"
exit $status

"""Unit tests of the judge's Node reporter (src/core/judge/js/ssr_judge_node.sandbox.cjs)
and of how SSR's runner folds its records (src/core/sandbox/py/runner/): real mocha
(the project's own, from node_modules) and node:test runs on the host, the reporter
preloaded the way the runner preloads it (node_reporter_env: NODE_OPTIONS, the pipe's
descriptor and inode) with a pipe passed as an open descriptor."""
import os
import pathlib
import sys
import subprocess
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPORTER = ROOT / "src/core/judge/js/ssr_judge_node.sandbox.cjs"
MOCHA = ROOT / "node_modules/mocha/bin/mocha.js"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from runner_modules import load_runner  # noqa: E402

runner = load_runner()

LIB = "exports.add = (a, b) => a + b;\n"

MOCHA_SPEC = '''
const assert = require('node:assert/strict');
const { add } = require('../lib');
describe('add', () => {
  it('adds', () => assert.equal(add(1, 2), 3));
  it('is wrong', () => assert.equal(add(1, 2), 4));
  it.skip('later', () => {});
  describe('nested', () => {
    it('still adds', () => assert.equal(add(2, 2), 4));
  });
});
describe('broken setup', () => {
  beforeEach(() => { throw new Error('setup'); });
  it('never runs', () => {});
});
'''

NODE_TEST = '''
const { describe, it, test } = require('node:test');
const assert = require('node:assert/strict');
const { add } = require('../lib');
describe('add', () => {
  it('adds', () => assert.equal(add(1, 2), 3));
  it('is wrong', () => assert.equal(add(1, 2), 4));
  it('later', { skip: true }, () => {});
  describe('nested', () => {
    it('still adds', () => assert.equal(add(2, 2), 4));
  });
});
test('top level', () => {});
'''

# Library code that reaches mocha's Runner through the module cache (mocha up to 11, CommonJS) or,
# for any version, through the event emitter every Runner inherits, and reports every failure as a pass.
EMIT_FLIP = """
const events = require('events');
const emit = events.EventEmitter.prototype.emit;
events.EventEmitter.prototype.emit = function (ev, ...a) {
  const mocha = this.constructor && Object.getPrototypeOf(this.constructor).constants;
  return emit.call(this, ev === 'fail' && (this.constructor.constants || mocha) ? 'pass' : ev, ...a);
};
"""


def run_node(tmp_path, files, argv):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    r, w = os.pipe()
    env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
    env = runner.node_reporter_env(env, str(REPORTER), w)
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, pass_fds=(w,), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    out = proc.communicate()[0].decode()
    return runner.reporter_summary(data), data, out


def mocha(*args):
    return ["node", str(MOCHA), "--reporter", "dot", *args]


@pytest.mark.skipif(not MOCHA.exists(), reason="mocha is a dev dependency of SSR; run npm ci")
def test_mocha_outcomes_are_the_runner_s_own(tmp_path):
    summary, _, out = run_node(tmp_path, {"lib.js": LIB, "test/a.spec.js": MOCHA_SPEC}, mocha("test/a.spec.js"))
    assert summary["complete"] and summary["sessions"] == 1 and summary["identityChanged"] == [], out
    assert summary["tests"] == {
        "test/a.spec.js::add > adds": "passed",
        "test/a.spec.js::add > is wrong": "failed",
        "test/a.spec.js::add > nested > still adds": "passed",
        'test/a.spec.js::broken setup > "before each" hook for "never runs"': "failed",
    }
    assert [p["key"] for p in summary["plugins"]] == ["ssr_judge_node"]


@pytest.mark.skipif(not MOCHA.exists(), reason="mocha is a dev dependency of SSR; run npm ci")
def test_mocha_started_through_another_node_process_keeps_the_channel(tmp_path):
    # What npx, pnpm exec and yarn do: node spawns node, stdio inherited, no other descriptor.
    hop = "const c = require('child_process').spawn(process.execPath, process.argv.slice(1), {stdio: 'inherit'}); c.on('exit', (code) => process.exit(code));"
    summary, _, out = run_node(tmp_path, {"lib.js": LIB, "test/a.spec.js": MOCHA_SPEC}, ["node", "-e", hop, *mocha("test/a.spec.js")[1:]])
    assert summary["complete"] and summary["sessions"] == 1, out
    assert summary["tests"]["test/a.spec.js::add > is wrong"] == "failed"


@pytest.mark.skipif(not MOCHA.exists(), reason="mocha is a dev dependency of SSR; run npm ci")
def test_mocha_runner_s_events_patched_by_library_code_are_seen(tmp_path):
    lib = LIB + EMIT_FLIP
    summary, _, out = run_node(tmp_path, {"lib.js": lib, "test/a.spec.js": MOCHA_SPEC}, mocha("test/a.spec.js"))
    assert " passing" in out and "failing" not in out, out  # the log is fooled
    assert any(c.startswith("events.EventEmitter.prototype.emit (") and "-> replaced:" in c for c in summary["identityChanged"]), summary["identityChanged"]
    # The test's own state, read at "test end", still says failed.
    assert summary["tests"]["test/a.spec.js::add > is wrong"] == "failed"


def test_node_test_outcomes_in_process_and_under_node_test(tmp_path):
    files = {"lib.js": LIB, "test/a.test.js": NODE_TEST}
    want = {
        "test/a.test.js::add > adds": "passed",
        "test/a.test.js::add > is wrong": "failed",
        "test/a.test.js::add > nested > still adds": "passed",
        "test/a.test.js::top level": "passed",
    }
    for argv in (["node", "test/a.test.js"], ["node", "--test", "test/a.test.js"]):
        summary, _, out = run_node(tmp_path, files, argv)
        assert summary["complete"] and summary["sessions"] == 1 and summary["identityChanged"] == [], (argv, out)
        leaves = {k: v for k, v in summary["tests"].items() if k in want}
        assert leaves == want, (argv, summary["tests"])
        # Parents are reported too (the parser leaves them out); the skipped test is not.
        assert "test/a.test.js::add > later" not in summary["tests"]


def test_node_test_file_that_dies_on_import_is_a_collect_error(tmp_path):
    files = {"lib.js": "throw new Error('broken');\n", "test/a.test.js": NODE_TEST}
    summary, _, _ = run_node(tmp_path, files, ["node", "test/a.test.js"])
    assert summary["collectErrors"] == ["test/a.test.js"] and summary["tests"] == {} and summary["complete"]


def test_assert_made_a_no_op_by_library_code_is_an_identity_change(tmp_path):
    lib = LIB + "const s = require('node:assert/strict'); s.equal = () => {};\n"
    summary, _, _ = run_node(tmp_path, {"lib.js": lib, "test/a.test.js": NODE_TEST}, ["node", "test/a.test.js"])
    assert summary["tests"]["test/a.test.js::add > is wrong"] == "passed"
    assert [c.split(" ")[0] for c in summary["identityChanged"]] == ["node:assert/strict.equal"], summary["identityChanged"]


def test_node_processes_without_a_runner_write_nothing_and_a_foreign_descriptor_is_never_written(tmp_path):
    summary, data, _ = run_node(tmp_path, {"lib.js": LIB}, ["node", "-e", "require('./lib')"])
    assert summary is None and data == b""
    # The descriptor's number holds another file (a child that did not inherit the pipe): nothing is written to it.
    victim = tmp_path / "victim"
    with open(victim, "wb") as fh:
        env = {k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"}
        env = runner.node_reporter_env(env, str(REPORTER), fh.fileno())
        env["SSR_REPORTER_INO"] = "1"
        (tmp_path / "test").mkdir(exist_ok=True)
        (tmp_path / "test/a.test.js").write_text(NODE_TEST)
        subprocess.run(["node", "test/a.test.js"], cwd=tmp_path, env=env, pass_fds=(fh.fileno(),), capture_output=True)
    assert victim.read_bytes() == b""


def test_reporters_env_loads_each_runner_s_reporter():
    r, w = os.pipe()
    try:
        env = runner.node_reporter_env({"NODE_OPTIONS": "--max-old-space-size=100"}, "/ssr/reporter/x.cjs", w)
        assert env["NODE_OPTIONS"] == "--require=/ssr/reporter/x.cjs --max-old-space-size=100"
        assert env[runner.REPORTER_FD_VAR] == str(w) and env["SSR_REPORTER_INO"] == str(os.fstat(w).st_ino)
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(ValueError):
        runner.reporters_env({}, [{"runner": "cobol", "module": "x", "source": ""}], 9)
    with pytest.raises(ValueError):
        runner.reporters_env({}, {"runner": "node", "module": "../x", "source": ""}, 9)

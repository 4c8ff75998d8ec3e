"""Unit tests of the judge's pytest reporter (src/core/judge/py/ssr_judge_pytest.py)
and of how SSR's runner folds its records (src/core/sandbox/py/runner/): real
pytest runs on the host, the plugin loaded the way the runner loads it (PYTEST_ADDOPTS,
PYTEST_PLUGINS, PYTHONPATH) with a pipe passed as an open descriptor."""
import json
import os
import pathlib
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLUGIN_DIR = ROOT / "src/core/judge/py"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from runner_modules import load_runner  # noqa: E402

runner = load_runner()

TESTS = '''
import unittest
import pytest


def test_pass():
    assert True


def test_fail():
    assert 1 == 2


def test_skip():
    pytest.skip("no")


@pytest.mark.xfail(reason="known")
def test_xfail():
    assert False


@pytest.mark.xfail(strict=True)
def test_xpass_strict():
    assert True


@pytest.mark.xfail
def test_xpass():
    assert True


@pytest.mark.xfail(raises=KeyError)
def test_xfail_wrong_exception():
    raise ValueError()


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup")


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown")


def test_setup_error(broken_setup):
    pass


def test_teardown_error(broken_teardown):
    pass


@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    assert x == 1


class TestUnit(unittest.TestCase):
    def test_ok(self):
        self.assertTrue(True)

    def test_bad(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise KeyError("x")

    @unittest.skip("why")
    def test_skipped(self):
        pass

    @unittest.expectedFailure
    def test_expected(self):
        self.assertEqual(1, 2)

    @unittest.expectedFailure
    def test_unexpected_success(self):
        pass
'''


def run_pytest(tmp_path, files, args=(), env_extra=None):
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    r, w = os.pipe()
    env = dict(os.environ)
    for k in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTHONPATH"):
        env.pop(k, None)
    env.update(env_extra or {})
    env = runner.reporter_env(env, "ssr_judge_pytest", w)
    env["PYTHONPATH"] = env["PYTHONPATH"].replace(runner.REPORTER_DIR, str(PLUGIN_DIR))
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *args], cwd=tmp_path, env=env,
                            pass_fds=(w,), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.close(w)
    with os.fdopen(r, "rb") as fh:
        data = fh.read()
    out = proc.communicate()[0].decode()
    return runner.reporter_summary(data), data, out


def test_outcomes_are_pytest_s_own(tmp_path):
    summary, _, out = run_pytest(tmp_path, {"tests/test_a.py": TESTS})
    assert summary["complete"] and summary["sessions"] == 1 and summary["identityChanged"] == []
    t = summary["tests"]
    base = "tests/test_a.py::"
    assert t == {
        base + "test_pass": "passed",
        base + "test_fail": "failed",
        base + "test_xpass_strict": "failed",
        base + "test_xfail_wrong_exception": "failed",
        base + "test_setup_error": "failed",
        base + "test_teardown_error": "failed",
        base + "test_param[1]": "passed",
        base + "test_param[2]": "failed",
        base + "TestUnit::test_ok": "passed",
        base + "TestUnit::test_bad": "failed",
        base + "TestUnit::test_error": "failed",
        base + "TestUnit::test_unexpected_success": "failed",
    }, out
    # Every id is the one pytest's -rA summary prints.
    for tid in t:
        assert tid in out


def test_the_plugin_list_names_entry_point_and_conftest_plugins(tmp_path):
    summary, _, _ = run_pytest(tmp_path, {"tests/test_a.py": "def test_x():\n    pass\n", "tests/conftest.py": "X = 1\n"})
    keys = [p["key"] for p in summary["plugins"]]
    assert any(k.startswith("ssr_judge_pytest=") for k in keys)
    assert any(k.endswith("tests/conftest.py=conftest") or "conftest" in k for k in keys), keys
    assert not any(k.isdigit() for k in keys)


def test_a_replaced_reporting_function_changes_the_identity_and_the_outcome_stays(tmp_path):
    tamper = '''
    import sys
    name = "_py" + "test." + "reports"
    mod = sys.modules[name]
    real = vars(mod)["TestReport"].from_item_and_call

    def fake(item, call):
        rep = real(item, call)
        rep.outcome = "passed"
        rep.longrepr = None
        return rep

    vars(mod)["TestReport"].from_item_and_call = staticmethod(fake)
    '''
    summary, _, out = run_pytest(tmp_path, {"pkg.py": tamper, "tests/test_a.py": "import pkg\n\ndef test_x():\n    assert False\n"}, env_extra={"PYTHONPATH": str(tmp_path)})
    assert "1 passed" in out  # the log says passed
    assert summary["tests"] == {"tests/test_a.py::test_x": "failed"}
    assert any(c.startswith("_pytest.reports:TestReport.from_item_and_call") for c in summary["identityChanged"])


def test_a_collection_error_is_recorded(tmp_path):
    summary, _, _ = run_pytest(tmp_path, {"tests/test_a.py": "import nowhere_module\n", "tests/test_b.py": "def test_y():\n    pass\n"},
                               args=("--continue-on-collection-errors",))
    assert summary["collectErrors"] == ["tests/test_a.py"]
    assert summary["tests"] == {"tests/test_b.py::test_y": "passed"}


def test_no_records_means_no_pytest_and_a_session_that_never_ended_is_incomplete():
    assert runner.reporter_summary(b"") is None
    lines = [{"t": "load", "pid": 5, "ident": {"f": "a"}}, {"t": "phase", "pid": 5, "id": "t::x", "when": "setup", "outcome": "passed"}]
    s = runner.reporter_summary("\n".join(json.dumps(x) for x in lines).encode())
    assert s["complete"] is False and s["tests"] == {}
    s = runner.reporter_summary(b'{"t":"load","pid":1,"ident":{}}\n{"t":"end","pid":1,"ident":{}}\nFAILED t::x\n')
    assert s["complete"] is False  # a line that is not a record


def test_identity_compares_load_with_end_per_process():
    lines = [{"t": "load", "pid": 1, "ident": {"f": "a", "g": "b"}}, {"t": "end", "pid": 1, "ident": {"f": "a", "g": "c"}}]
    s = runner.reporter_summary("\n".join(json.dumps(x) for x in lines).encode())
    assert s["complete"] and s["identityChanged"] == ["g (b -> c)"]


def test_reporter_env_puts_the_judge_first():
    env = runner.reporter_env({"PYTHONPATH": "src", "PYTEST_ADDOPTS": "-x"}, "mod", 9)
    assert env["PYTHONPATH"] == runner.REPORTER_DIR + ":src"
    assert env["PYTEST_ADDOPTS"] == "-p mod -x" and env["PYTEST_PLUGINS"] == "mod" and env[runner.REPORTER_FD_VAR] == "9"


def test_a_record_written_later_cannot_turn_a_failure_into_a_pass_or_hide_a_change():
    lines = [{"t": "load", "pid": 1, "ident": {"f": "a"}},
             {"t": "phase", "pid": 1, "id": "t::x", "when": "call", "outcome": "failed"},
             {"t": "end", "pid": 1, "ident": {"f": "b"}},
             {"t": "phase", "pid": 1, "id": "t::x", "when": "call", "outcome": "passed"},
             {"t": "load", "pid": 1, "ident": {"f": "b"}},
             {"t": "end", "pid": 1, "ident": {"f": "a"}}]
    s = runner.reporter_summary("\n".join(json.dumps(x) for x in lines).encode())
    assert s["tests"] == {"t::x": "failed"}
    assert s["identityChanged"] == ["f (a -> b)"]

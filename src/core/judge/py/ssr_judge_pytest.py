# SSR's judge reporter: a pytest plugin that records each test's outcome from
# pytest's own objects and writes it to a channel outside the test log.
#
# SSR's runner installs this file in a root-owned folder the test user cannot
# write, and loads it in the judged run through PYTEST_ADDOPTS ("-p", before
# entry-point plugins and conftest.py files) and PYTEST_PLUGINS, with that
# folder first on PYTHONPATH; the artifact's test_script.sh is unchanged. The
# channel is a pipe the root runner created and passed as an open file
# descriptor (its number in SSR_REPORTER_FD); nothing can open it by path.
#
# Records, one JSON object a line:
#   {"t": "load", "pid": P, "ident": {...}}          when pytest imports this plugin
#   {"t": "start", "pid": P, "plugins": [...]}        at session start
#   {"t": "phase", "pid": P, "id": ID, "when": W, "outcome": O}
#   {"t": "collect", "pid": P, "id": ID, "outcome": "failed"}
#   {"t": "end", "pid": P, "plugins": [...], "ident": {...}}
# O is passed, failed, skipped, xfailed or xpassed, decided as pytest decides
# it but from call.excinfo (and a unittest item's own recorded errors), not
# from the TestReport the tested code could rebuild. "ident" is the identity
# (module, qualname, hash of the code) of the functions pytest reports through:
# a change between load and end means the tested code replaced one.
#
# docs/judging.md says what this sees and what it cannot: tested code runs in
# the same process and can patch this plugin too.
import hashlib
import importlib
import json
import os
import sys
import types

import pytest

FD_VAR = "SSR_REPORTER_FD"
# The functions a test's outcome passes through on its way to a report.
CORE = (
    "_pytest.runner:call_and_report",
    "_pytest.runner:call_runtest_hook",
    "_pytest.runner:runtestprotocol",
    "_pytest.runner:pytest_runtest_protocol",
    "_pytest.runner:pytest_runtest_makereport",
    "_pytest.runner:CallInfo.from_call",
    "_pytest.runner:check_interactive_exception",
    "_pytest.reports:TestReport.from_item_and_call",
    "_pytest.reports:TestReport.__init__",
    "_pytest.reports:BaseReport.passed",
    "_pytest.reports:BaseReport.failed",
    "_pytest.skipping:pytest_runtest_makereport",
    "_pytest.unittest:pytest_runtest_makereport",
    "_pytest.unittest:TestCaseFunction.runtest",
    "_pytest.unittest:TestCaseFunction._addexcinfo",
    "_pytest.python:Function.runtest",
    "_pytest.python:pytest_pyfunc_call",
    "_pytest.main:pytest_runtestloop",
    "_pytest.terminal:TerminalReporter.pytest_runtest_logreport",
    "_pytest.terminal:TerminalReporter.short_test_summary",
    "_pytest.terminal:TerminalReporter.summary_stats",
    "pluggy._callers:_multicall",
    "pluggy._manager:PluginManager._hookexec",
    "pluggy._hooks:_HookCaller.__call__",
)


def _fd():
    try:
        return int(os.environ.get(FD_VAR, ""))
    except ValueError:
        return None


_FD = _fd()


def emit(record):
    """One line on the channel; a record that cannot be written is lost (the
    runner then sees an incomplete session)."""
    if _FD is None:
        return
    record["pid"] = os.getpid()
    data = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
    try:
        os.write(_FD, data)
    except OSError:
        pass


def resolve(spec):
    mod, _, path = spec.partition(":")
    obj = importlib.import_module(mod)
    for part in path.split("."):
        obj = vars(obj)[part] if isinstance(obj, type) else getattr(obj, part)
    return obj


def fingerprint(obj):
    """module, qualname and a hash of the code of a function (a classmethod,
    staticmethod or property is looked through)."""
    for attr in ("__func__", "fget"):
        obj = getattr(obj, attr, None) or obj
    code = getattr(obj, "__code__", None)
    digest = "no-code"
    if code is not None:
        h = hashlib.sha256(code.co_code)
        h.update(repr((code.co_consts, code.co_names, code.co_varnames)).encode())
        digest = h.hexdigest()[:16]
    return "%s:%s:%s" % (getattr(obj, "__module__", "?"), getattr(obj, "__qualname__", type(obj).__name__), digest)


def identity():
    out = {}
    for spec in CORE:
        try:
            out[spec] = fingerprint(resolve(spec))
        except Exception as exc:  # gone or unreachable: also evidence
            out[spec] = "missing:%s" % type(exc).__name__
    return out


def plugin_key(name, plugin):
    """A name that is the same in two runs of one suite (pluggy names some
    plugins by their id()); with the file the plugin's code lives in."""
    if isinstance(plugin, types.ModuleType):
        module, where = getattr(plugin, "__name__", str(name)), getattr(plugin, "__file__", None)
    else:
        cls = plugin if isinstance(plugin, type) else type(plugin)
        module = "%s.%s" % (cls.__module__, cls.__qualname__)
        mod = sys.modules.get(cls.__module__)
        where = getattr(mod, "__file__", None)
    label = module if str(name).isdigit() else "%s=%s" % (name, module)
    return {"key": label, "file": where}


def plugins(config):
    try:
        return [plugin_key(n, p) for n, p in config.pluginmanager.list_name_plugin() if p is not None]
    except Exception as exc:
        return [{"key": "unlisted:%s" % type(exc).__name__, "file": None}]


def xfail_mark(item):
    """The xfail mark as _pytest.skipping evaluated it for this item, or None
    (no mark, or --runxfail)."""
    try:
        from _pytest.skipping import xfailed_key
        if item.config.option.runxfail:
            return None
        store = item.stash if hasattr(item, "stash") else item._store  # pytest < 7: _store
        return store.get(xfailed_key, None)
    except Exception:
        return None


def phase_outcome(when, exc, xfailed):
    """pytest's outcome of one phase from the exception it raised (or None):
    skip and xfail as _pytest.skipping decides them."""
    if exc is not None and isinstance(exc, pytest.skip.Exception):
        return "skipped"
    if exc is not None and isinstance(exc, pytest.xfail.Exception):
        return "xfailed"
    if xfailed is not None:
        if exc is not None:
            raises = xfailed.raises
            return "failed" if raises is not None and not isinstance(exc, raises) else "xfailed"
        if when == "call":
            return "failed" if xfailed.strict else "xpassed"
    return "failed" if exc is not None else "passed"


def unittest_error(item):
    """The first error a unittest item recorded (TestCaseFunction._excinfo),
    for when pytest's unittest plugin has not moved it into call.excinfo."""
    for ei in list(getattr(item, "_excinfo", None) or []):
        value = getattr(ei, "value", None)
        if value is not None:
            return value
    return None


def test_id(item):
    try:
        return item.config.cwd_relative_nodeid(item.nodeid)
    except Exception:
        return item.nodeid


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    before = call.excinfo.value if call.excinfo is not None else unittest_error(item)
    yield
    after = call.excinfo.value if call.excinfo is not None else None
    # pytest's unittest plugin moves a unittest item's error into call.excinfo
    # (as a skip or an expected failure where it is one); an error seen
    # before the inner hooks ran that is gone after them stays an error.
    exc = after if after is not None else before
    emit({"t": "phase", "id": test_id(item), "when": call.when, "outcome": phase_outcome(call.when, exc, xfail_mark(item))})


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_make_collect_report(collector):
    outcome = yield
    try:
        rep = outcome.get_result()
        if rep.outcome == "failed":
            nodeid = collector.config.cwd_relative_nodeid(collector.nodeid) if collector.nodeid else ""
            emit({"t": "collect", "id": nodeid, "outcome": "failed"})
    except Exception:
        pass


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    emit({"t": "start", "plugins": plugins(session.config)})


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    emit({"t": "end", "plugins": plugins(session.config), "ident": identity()})


emit({"t": "load", "ident": identity()})

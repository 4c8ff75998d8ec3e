"""`detect`: the repository's language, test framework, runner and test files.
Python first (its test files, then pytest's own collection), then Go, then JavaScript."""
import json
import os
import shutil
import subprocess
from ssr_boot_declared import declared_commands
from ssr_boot_files import JS_TS_EXT, read, safe_parse, walk
from ssr_boot_jsdetect import JS_RUNNERS, NODE_TEST_IMPORT, js_declared_runner, js_is_test_path, js_package_manager, js_runner_files, package_json
from ssr_boot_pytests import declared_py_files, importable, py_is_test_path, py_test_kinds, pytest_collect, pytest_config


def detect(req):
    root = req["root"]
    files = walk(root)
    notes = []
    py = scan_py_tests(root, files)
    result = {"language": None, "framework": None, "runner": None, "testFiles": [], "runFiles": [], "notes": notes,
              "pytestAvailable": importable("pytest"), "nodeAvailable": shutil.which("node") is not None,
              "pythonTestFiles": len(py["run"]), "jsTestFiles": 0}
    src_layout = any(f.startswith("src/") and f.count("/") == 2 and f.endswith("/__init__.py") for f in files)
    result["srcLayout"] = src_layout
    decl = declared_commands(root, files)
    result["declared"] = ["%s: %s" % d for d in decl][:20]
    not_js = req.get("language") != "javascript"
    if not_js:
        add_declared_py(py, declared_py_files(root, decl), notes)
    if py["run"] and result["pytestAvailable"] and not_js:
        collect_py(root, py, src_layout, result, notes)
    if py["run"] and not_js:
        return python_result(root, files, py, result, notes)
    if "go.mod" in files and req.get("language") in (None, "go"):
        go = go_result(files, result, notes)
        if go is not None:
            return go
    return js_result(root, files, req, result, notes)


def scan_py_tests(root, files):
    """The Python test files, those that hold tests (run), and what kind of tests they are."""
    py_files = [f for f in files if f.endswith(".py")]
    py = {"tests": [f for f in py_files if py_is_test_path(f)], "run": [], "plain": False, "uses_pytest": False}
    for f in py["tests"]:
        name = f.rsplit("/", 1)[-1]
        if not (name.startswith("test_") or name.endswith("_test.py")):
            if name == "conftest.py":
                py["uses_pytest"] = True
            continue
        try:
            tree = safe_parse(read(root, f), f)
        except (OSError, UnicodeDecodeError):
            tree = None
        if tree is None:
            continue
        p, u, i = py_test_kinds(tree)
        if p or u:
            py["run"].append(f)
        py["plain"], py["uses_pytest"] = py["plain"] or p, py["uses_pytest"] or i
    return py


def add_declared_py(py, declared_py, notes):
    """The Python test files the repository's own test commands name run too."""
    if not declared_py:
        return
    notes.append("test files named by the repository's own test commands: " + ", ".join(declared_py))
    for p in declared_py:
        if p.endswith(".py") and p not in py["tests"]:
            py["tests"].append(p)
        if p.endswith(".py") and p not in py["run"]:
            py["run"].append(p)
            py["plain"] = True


def collect_py(root, py, src_layout, result, notes):
    """Lets pytest collect: a guess from file contents misses TestCase classes whose tests come from mixins."""
    candidates = sorted(set(py["run"]) | {f for f in py["tests"] if f.rsplit("/", 1)[-1] != "conftest.py" and
                                          (f.rsplit("/", 1)[-1].startswith("test") or f.endswith("_test.py"))})
    counts, errors = pytest_collect(root, candidates, src_layout)
    if counts is None or not counts:
        return
    collected = sorted(f for f in candidates if counts.get(f))
    left = [f for f in candidates if not counts.get(f)]
    added = [f for f in collected if f not in py["run"]]
    if added:
        notes.append("pytest collects tests the file contents did not show (e.g. from mixins) in: " + ", ".join(added))
    if left:
        why = "pytest collects no test from them" + (" (collection errors: %s)" % errors[:300] if errors else "")
        notes.append("left out: %s: %s" % (", ".join(left), why))
        result["leftOut"] = [{"file": f, "why": why} for f in left]
    py["run"] = collected
    result["collected"] = sum(counts.values())
    py["plain"] = True


def python_result(root, files, py, result, notes):
    cfg = pytest_config(root, files)
    framework = "pytest" if (cfg or py["plain"] or py["uses_pytest"]) else "unittest"
    if cfg:
        notes.append("pytest configuration found in " + cfg)
    runner = None
    if result["pytestAvailable"]:
        runner = "pytest"
        if framework == "unittest":
            notes.append("unittest tests, run with pytest (importable in the image), which runs them too")
    elif framework == "unittest":
        runner = "unittest"
    else:
        notes.append("the tests need pytest, which the image does not have")
    result.update(language="python", framework=framework, runner=runner, testFiles=sorted(py["tests"]), runFiles=sorted(py["run"]))
    return result


def go_result(files, result, notes):
    """go test ./... when the module has test files; None when it has none."""
    go_tests = [f for f in files if f.endswith("_test.go") and not (set(f.split("/")[:-1]) & {"vendor", "testdata"})]
    if not go_tests:
        return None
    have_go = shutil.which("go") is not None
    if not have_go:
        notes.append("Go tests found but the image has no Go: build the repository's environment first (ssr env build --repo DIR)")
    notes.append("go test -json ./... (%d test file(s) in %d package(s))" % (len(go_tests), len({f.rsplit("/", 1)[0] if "/" in f else "." for f in go_tests})))
    result.update(language="go", framework="go test", runner="go" if have_go else None, testFiles=sorted(go_tests),
                  runFiles=["./..."], goAvailable=have_go)
    return result


def js_result(root, files, req, result, notes):
    """The runner package.json declares (jest, vitest, mocha), else node:test files run directly."""
    js_tests = [f for f in files if js_is_test_path(f)]
    js_run = []
    for f in js_tests:
        try:
            if NODE_TEST_IMPORT.search(read(root, f)):
                js_run.append(f)
        except (OSError, UnicodeDecodeError):
            pass
    result["jsTestFiles"] = len(js_tests)
    pkg_test = ""
    if "package.json" in files:
        try:
            pkg_test = str((json.loads(read(root, "package.json")).get("scripts") or {}).get("test") or "")
        except (ValueError, OSError, AttributeError):
            pkg_test = ""
    pkg = package_json(root) if "package.json" in files else None
    runner_decl, runner_args, learned = js_declared_runner(root, pkg)
    if runner_decl in JS_RUNNERS and req.get("language") != "python":
        return js_runner_result(root, files, pkg, (runner_decl, runner_args, learned), result, notes)
    if js_run:
        if "node --test" not in pkg_test and pkg_test:
            notes.append("package.json's test script is %r; SSR runs the node:test files directly" % pkg_test)
        runner = "node" if result["nodeAvailable"] else None
        if runner is None:
            notes.append("the tests use node:test but the image has no node")
        result.update(language="javascript", framework="node:test", runner=runner, testFiles=sorted(js_tests), runFiles=sorted(js_run))
        return result
    if js_tests:
        notes.append("JavaScript test files found (%d) but none uses node:test (jest, mocha and others are not supported)" % len(js_tests))
        result.update(language="javascript", testFiles=sorted(js_tests))
    return result


def js_runner_result(root, files, pkg, declared, result, notes):
    """jest, vitest or mocha as package.json's test script calls it, through the repository's package manager."""
    runner_decl, runner_args, learned = declared
    all_files = [f for f in walk(root) if f.endswith(JS_TS_EXT) and not f.endswith(".d.ts")]
    run_files, more, flags = js_runner_files(root, runner_decl, runner_args, all_files)
    notes.extend(more)
    notes.append("runner %s, learned from %s" % (runner_decl, learned))
    pm = js_package_manager(root, pkg, files)
    have = os.path.exists(os.path.join(root, "node_modules/.bin", runner_decl))
    if not have and pm == "yarn" and (os.path.exists(os.path.join(root, ".pnp.cjs")) or os.path.exists(os.path.join(root, ".pnp.js"))):
        # yarn 2+ Plug'n'Play: no node_modules; yarn runs the runner.
        have = subprocess.run(["yarn", "bin", runner_decl], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    if pm != "npm":
        notes.append("the tests run through %s (the repository's package manager)" % pm)
    if not have:
        notes.append("%s is not installed in the image: build the repository's environment first (ssr env build --repo DIR)" % runner_decl)
    helpers = [f for f in all_files if (f.split("/")[0] in ("test", "tests", "__tests__", "spec")) and f not in run_files]
    result.update(language="javascript", framework=runner_decl, runner=runner_decl if have else None,
                  testFiles=sorted(set(run_files) | set(helpers)), runFiles=run_files, runnerArgs=flags, learnedFrom=learned,
                  jsTestFiles=len(run_files), packageManager=pm)
    return result

"""Python tests in a repository: which files are tests, what kind, pytest's configuration and its own collection."""
import ast
import os
import re
import subprocess
import sys
from ssr_boot_declared import DECL_SPLIT
from ssr_boot_files import PY_TEST_DIRS, read


def py_is_test_path(rel):
    parts = rel.split("/")
    name = parts[-1]
    if not name.endswith(".py"):
        return False
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(p in PY_TEST_DIRS for p in parts[:-1])


def py_test_kinds(tree):
    """(has pytest-style tests, has unittest TestCase classes, imports pytest)."""
    plain = unit = imports_pytest = False
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(n == "pytest" or n.startswith("pytest.") for n in names):
                imports_pytest = True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            plain = True
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            has_tests = any(isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) and b.name.startswith("test") for b in node.body)
            if any(b.endswith("TestCase") for b in bases):
                unit = unit or has_tests
            elif node.name.startswith("Test") and has_tests:
                plain = True
    return plain, unit, imports_pytest


def pytest_config(root, files):
    fs = set(files)
    if "pytest.ini" in fs:
        return "pytest.ini"
    for name, marker in (("pyproject.toml", "[tool.pytest"), ("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")):
        if name in fs:
            try:
                if marker in read(root, name):
                    return name
            except (OSError, UnicodeDecodeError):
                pass
    for f in files:
        if f.endswith("conftest.py"):
            return f
    return None


def importable(mod):
    try:
        import importlib.util
        return importlib.util.find_spec(mod) is not None
    except Exception:
        return False


def declared_py_files(root, commands):
    """Python test files or folders named by the declared test commands (e.g. `coverage run -m pytest test.py`)."""
    out = []
    for _src, cmd in commands:
        toks = DECL_SPLIT.split(cmd)
        if not any(t in ("pytest", "py.test", "unittest", "coverage", "nose2") or t.endswith(("python", "python3")) for t in toks):
            continue
        for t in toks:
            t = t.strip("'\"")
            if t.startswith("-") or "$" in t or "{" in t:
                continue
            p = os.path.normpath(t).replace(os.sep, "/")
            if p.startswith(".."):
                continue
            full = os.path.join(root, p)
            if p.endswith(".py") and os.path.isfile(full) and p not in ("setup.py", "noxfile.py") and p not in out:
                out.append(p)
            elif os.path.isdir(full) and p not in (".", "") and re.search(r"test", p) and p not in out:
                out.append(p)
    return out


def pytest_collect(root, targets, src_layout):
    """pytest's own collection: {file: number of tests} and the errors it reported."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if src_layout:
        env["PYTHONPATH"] = "src" + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                            "--continue-on-collection-errors", "--rootdir=."] + targets,
                           cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    except (subprocess.TimeoutExpired, OSError) as e:
        return None, str(e)
    counts = {}
    errors = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if "::" in line and not line.startswith(("ERROR", "FAILED", " ")):
            f = line.split("::", 1)[0]
            counts[f] = counts.get(f, 0) + 1
        elif line.startswith("ERROR "):
            errors.append(line[6:].strip())
    return counts, "\n".join(errors)

"""The repository as files: its walk (skipping tooling folders), reads, writes and a parse that never raises."""
import ast
import os

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".tox", ".nox", ".venv", "venv", "env",
             ".mypy_cache", ".pytest_cache", "site-packages", "build", "dist", ".eggs", ".ssr",
             "coverage", ".idea", ".vscode"}
PY_TEST_DIRS = {"tests", "test", "testing"}
JS_EXT = (".js", ".cjs", ".mjs")
JS_TS_EXT = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")


def walk(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith(".") and not x.endswith(".egg-info"))
        for f in sorted(files):
            out.append(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))
    return out


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as fh:
        return fh.read()


def write(root, rel, text):
    with open(os.path.join(root, rel), "w", encoding="utf-8") as fh:
        fh.write(text)


def safe_parse(text, name="<src>"):
    try:
        return ast.parse(text, name)
    except (SyntaxError, ValueError):
        return None

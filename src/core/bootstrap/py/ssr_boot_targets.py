"""`targets`: the Python functions a bug may go into, with coverage, test references and the strategies each allows."""
import ast
import json
import os
from ssr_boot_block import py_block_windows
from ssr_boot_branch import py_branch_variants
from ssr_boot_files import read, safe_parse, walk
from ssr_boot_pyast import body_stmts, deco_names, first_line, py_functions, trivial_body
from ssr_boot_pytests import py_is_test_path


def referenced_names(root, test_files):
    names = set()
    for f in test_files:
        if not f.endswith(".py"):
            continue
        try:
            tree = safe_parse(read(root, f), f)
        except (OSError, UnicodeDecodeError):
            tree = None
        if tree is None:
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Name):
                names.add(n.id)
            elif isinstance(n, ast.Attribute):
                names.add(n.attr)
            elif isinstance(n, ast.alias):
                names.add(n.name.split(".")[-1])
                if n.asname:
                    names.add(n.asname)
    return names


def load_py_coverage(cov_dir):
    covered = set()
    if not cov_dir or not os.path.isdir(cov_dir):
        return covered, False
    found = False
    for f in os.listdir(cov_dir):
        if not (f.startswith("py-") and f.endswith(".json")):
            continue
        try:
            with open(os.path.join(cov_dir, f)) as fh:
                for rel, line, name in json.load(fh):
                    covered.add((rel, int(line), name))
            found = True
        except (OSError, ValueError, TypeError):
            pass
    return covered, found


def py_targets(req):
    root = req["root"]
    tests = set(req["testFiles"])
    refs = referenced_names(root, tests)
    covered, have_cov = load_py_coverage(req.get("covDir"))
    out = []
    for rel in walk(root):
        if not rel.endswith(".py") or rel in tests or py_is_test_path(rel):
            continue
        base = rel.rsplit("/", 1)[-1]
        if base in ("setup.py", "noxfile.py", "conftest.py") or rel.startswith(("docs/", "doc/", "examples/")):
            continue
        try:
            src = read(root, rel)
        except (OSError, UnicodeDecodeError):
            continue
        tree = safe_parse(src, rel)
        if tree is None:
            continue
        seen_q = set()
        for qual, fn, cls in py_functions(tree):
            symbol = qual if qual not in seen_q else "%s@%d" % (qual, fn.lineno)
            seen_q.add(qual)
            stmts = body_stmts(fn)
            if trivial_body(stmts) or stmts[0].lineno == fn.lineno:
                continue
            decos = deco_names(fn)
            if "abstractmethod" in decos or "overload" in decos:
                continue
            branches = len(py_branch_variants(src, fn))
            blocks = len(py_block_windows(fn, src))
            is_cov = (rel, first_line(fn), fn.name) in covered or (rel, fn.lineno, fn.name) in covered
            ref = fn.name in refs or (fn.name.startswith("__") and cls is not None and cls in refs)
            out.append({"file": rel, "symbol": symbol, "line": fn.lineno, "covered": is_cov, "referenced": ref,
                        "strategies": {"body": True, "branch": branches, "block": blocks},
                        "size": fn.end_lineno - fn.lineno + 1})
    return {"targets": out, "coverage": have_cov}

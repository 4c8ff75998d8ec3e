"""`weaken`: Python tests deleted by id (pytest node ids or dotted unittest ids), with their decorators and comments."""
import ast
import re
from ssr_boot_files import read, safe_parse, write
from ssr_boot_pyast import first_line


def py_id_parts(test_id, test_files):
    """(file, [class names], function name) for a pytest node id or a dotted unittest id."""
    if "::" in test_id:
        parts = test_id.split("::")
        func = re.sub(r"\[.*$", "", parts[-1])
        return parts[0], parts[1:-1], func
    dotted = re.sub(r"\[.*$", "", test_id).split(".")
    for k in range(len(dotted) - 1, 0, -1):
        suffix = "/".join(dotted[:k]) + ".py"
        for f in test_files:
            if f == suffix or f.endswith("/" + suffix):
                return f, dotted[k:-1], dotted[-1]
    return None, [], dotted[-1]


def py_find_test(trees, rel, classes, func):
    """The function node to delete (decorators included), searching base classes too."""
    tree = trees.get(rel)
    if tree is None:
        return None, None
    if not classes:
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func:
                return rel, n
        return None, None
    body = tree.body
    cls = None
    for name in classes:
        cls = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if cls is None:
            return None, None
        body = cls.body
    seen = set()

    def in_class(f, c):
        if (f, c.name) in seen:
            return None, None
        seen.add((f, c.name))
        for n in c.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func:
                return f, n
        for b in c.bases:
            bname = b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else None
            if not bname:
                continue
            for f2 in [f] + [x for x in trees if x != f]:
                t2 = trees[f2]
                for n in t2.body:
                    if isinstance(n, ast.ClassDef) and n.name == bname:
                        r = in_class(f2, n)
                        if r[1] is not None:
                            return r
        return None, None
    return in_class(rel, cls)


def delete_py_nodes(src, nodes, tree, used_bases=frozenset()):
    """Deletes test functions (with decorators and attached comments). A test class whose
    tests all go is deleted whole unless another class derives from it; a class body
    left empty gets pass."""
    lines = src.splitlines(keepends=True)
    doomed = {id(n) for n in nodes}
    todo = list(nodes)
    classes = [c for c in ast.walk(tree) if isinstance(c, ast.ClassDef)]
    emptied = []
    for c in classes:
        tests = [x for x in c.body if isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef)) and x.name.startswith("test")]
        if not tests or not all(id(x) in doomed for x in tests):
            continue
        if c.name not in used_bases:
            todo.append(c)
            doomed.add(id(c))
        elif all(id(x) in doomed for x in c.body):
            emptied.append(c)
    spans = []
    for c in emptied:
        ind = lines[c.body[0].lineno - 1][: len(lines[c.body[0].lineno - 1]) - len(lines[c.body[0].lineno - 1].lstrip(" \t"))]
        spans.append((min(first_line(x) for x in c.body), c.body[-1].end_lineno, [ind + "pass\n"]))
    for n in todo:
        a, b = first_line(n), n.end_lineno
        while a > 1 and lines[a - 2].strip().startswith("#") and lines[a - 2].strip() != "#":
            a -= 1
        # also take the blank lines that follow, when a blank line precedes
        if a > 1 and (lines[a - 2].strip() == "" or lines[a - 2].rstrip().endswith(":")):
            while b < len(lines) and lines[b].strip() == "":
                b += 1
        spans.append((a, b, []))
    # outer spans swallow the ones inside them
    spans.sort(key=lambda r: (r[0], -r[1]))
    kept = []
    for sp in spans:
        if kept and sp[0] >= kept[-1][0] and sp[1] <= kept[-1][1]:
            continue
        kept.append(sp)
    for a, b, new in sorted(kept, key=lambda r: r[0], reverse=True):
        lines[a - 1:b] = new
    text = "".join(lines)
    return text.rstrip("\n") + "\n" if text.strip() else text


def weaken_py(req):
    root = req["root"]
    test_files = req["testFiles"]
    trees, sources = {}, {}
    for f in test_files:
        try:
            sources[f] = read(root, f)
        except (OSError, UnicodeDecodeError):
            continue
        t = safe_parse(sources[f], f)
        if t is not None:
            trees[f] = t
    doomed = {}
    removed, missing = [], []
    for tid in req["ids"]:
        rel, classes, func = py_id_parts(tid, test_files)
        if rel is None or not func:
            missing.append(tid)
            continue
        f, node = py_find_test(trees, rel, classes, func)
        if node is None:
            missing.append(tid)
            continue
        doomed.setdefault(f, {})[id(node)] = node
        removed.append(tid)
    used_bases = set()
    for t in trees.values():
        for c in ast.walk(t):
            if isinstance(c, ast.ClassDef):
                for b in c.bases:
                    used_bases.add(b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "")
    changed = []
    for f, nodes in doomed.items():
        new = delete_py_nodes(sources[f], list(nodes.values()), trees[f], used_bases)
        if safe_parse(new, f) is None:
            return {"ok": False, "reason": "weakened %s does not parse" % f}
        write(root, f, new)
        changed.append(f)
    return {"ok": not missing, "removed": removed, "missing": missing, "files": sorted(changed),
            "reason": ("tests not found in the test files: " + ", ".join(missing[:5])) if missing else None}

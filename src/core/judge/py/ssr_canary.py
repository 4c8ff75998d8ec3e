"""Plants canaries and twins into Python test modules (SSR's judge, run as root).

Reads a JSON plan (from the file argv[1], or standard input): for each test file, the tests to copy under fresh
names (twins; inverted twins must fail whenever the original passes) and the
canaries to add (one that must pass, one that must fail), each with a random
token from the judge. Every copy is made from the module's own source with
Python's ast (line ranges of the original definition, decorators included),
placed right after the original, in the same class when it is a method. The
planted module is parsed again; a file that would not parse is left as it was.
Prints JSON: {"planted": [{file, kind, name, of}], "skipped": [{file, of, why}]}.
"""
import ast
import json
import re
import sys


def find_tests(tree):
    """Qualified name ("test_x" or "TestC.test_y") -> (node, class node or None)."""
    out = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            out[node.name] = (node, None)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                    out[node.name + "." + item.name] = (item, node)
    return out


def first_line(node):
    return min([node.lineno] + [d.lineno for d in node.decorator_list])


def renamed(lines, node, name):
    """The definition's lines (decorators included) with the def renamed."""
    start = first_line(node)
    out = lines[start - 1:node.end_lineno]
    k = node.lineno - start
    pat = re.compile(r"^(\s*(?:async\s+)?def\s+)" + re.escape(node.name) + r"\b")
    if not pat.match(out[k]):
        return None
    out[k] = pat.sub(lambda m: m.group(1) + name, out[k], count=1)
    return out


class Returns(ast.NodeVisitor):
    """Whether the function's own body returns or yields (nested functions excepted)."""

    def __init__(self):
        self.found = False

    def visit_Return(self, node):
        self.found = True

    def visit_Yield(self, node):
        self.found = True

    def visit_YieldFrom(self, node):
        self.found = True

    def visit_FunctionDef(self, node):
        pass

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef
    visit_ClassDef = visit_FunctionDef


NAME_KEYED = {"request", "snapshot", "data_regression", "file_regression", "num_regression", "dataframe_regression", "image_regression"}


def why_not_copyable(node):
    """Why a test would not behave the same under another name; None when it would."""
    args = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    keyed = sorted(NAME_KEYED.intersection(args))
    if keyed:
        return "it takes %s, which can depend on the test's own name (snapshots, regression files)" % ", ".join(keyed)
    if any("dependency" in ast.unparse(d) for d in node.decorator_list):
        return "it is marked with a dependency on other tests by name"
    return None


def why_not_invertible(node):
    """Why the body cannot be wrapped as is; None when it can."""
    if node.body[0].lineno <= node.lineno or node.body[0].lineno > node.end_lineno:
        return "the body starts on the def line"
    r = Returns()
    for stmt in node.body:
        r.visit(stmt)
    if r.found:
        return "the body returns or yields (the wrapper would pass early)"
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Constant, ast.JoinedStr)) and isinstance(getattr(sub, "value", ""), (str, bytes)):
            if sub.lineno != sub.end_lineno:
                return "a string spans lines (indenting it would change it)"
    for d in node.decorator_list:
        if "xfail" in ast.unparse(d) or "skip" in ast.unparse(d):
            return "marked xfail or skip"
    return None


def indent_of(line):
    return line[: len(line) - len(line.lstrip())]


def inverted(lines, node, name):
    """The definition renamed, its body run in a try: it passes only if the body raises."""
    why = why_not_invertible(node)
    if why:
        return None, why
    head = renamed(lines, node, name)
    if head is None:
        return None, "the def line could not be renamed"
    cut = node.body[0].lineno - first_line(node)
    body_ind = indent_of(lines[node.body[0].lineno - 1])
    unit = body_ind[len(indent_of(lines[node.lineno - 1])):] or "    "
    body = [(unit + ln) if ln.strip() else ln for ln in head[cut:]]
    tail = [body_ind + "except BaseException:", body_ind + unit + "return",
            body_ind + "raise AssertionError(%r)" % ("expected " + node.name + " to fail")]
    return head[:cut] + [body_ind + "try:"] + body + tail, None


def canary(kind, name, cls, lines, token):
    """A small test, a module function or a method of cls, that must pass or fail."""
    n = sum(ord(c) for c in token) % 97 + 3
    want = n * 3 if kind == "pass" else n * 3 + 1
    if cls is None:
        return ["", "", "def %s():" % name, "    value = %d" % n, "    assert value * 3 == %d" % want, ""]
    last = cls.body[-1]
    ind = indent_of(lines[last.lineno - 1]) if hasattr(last, "lineno") else "    "
    unit = ind[len(indent_of(lines[cls.lineno - 1])):] or "    "
    bases = ast.unparse(cls).split("\n")[0]
    check = "self.assertEqual(value * 3, %d)" % want if "TestCase" in bases else "assert value * 3 == %d" % want
    return ["", ind + "def %s(self):" % name, ind + unit + "value = %d" % n, ind + unit + check]


def words_of(tests):
    words = [w for q in tests for w in q.split(".")[-1].split("_")[1:] if w.isalpha()]
    return words or ["case"]


def fresh_name(words, token):
    """A test name from the module's own words and the judge's random token (it holds no original name)."""
    return "test_%s_%s" % (words[sum(map(ord, token)) % len(words)], token)


def twin_inserts(spec, lines, tests, words, skip):
    """(after line, new lines, record) for each twin of the plan; skip(of, why) for the rest."""
    out = []
    for twin in spec.get("twins", []):
        of = twin["of"]
        if of not in tests:
            skip(of, "no such test function in the module")
            continue
        node, _ = tests[of]
        why = why_not_copyable(node)
        if why:
            skip(of, why)
            continue
        name = fresh_name(words, twin["token"])
        if twin.get("inverted"):
            new, why = inverted(lines, node, name)
        else:
            new, why = renamed(lines, node, name), "the def line could not be renamed"
        if new is None:
            skip(of, why)
            continue
        kind = "inverted" if twin.get("inverted") else "twin"
        out.append((node.end_lineno, [""] + new, {"file": spec["path"], "kind": kind, "name": name, "of": node.name}))
    return out


def canary_inserts(spec, lines, tests, words, skip):
    """(after line, new lines, record) for each canary: beside its `near` test, else a test of the module."""
    out = []
    module_level = any(c is None for _, c in tests.values())
    classes = [c for _, c in tests.values() if c is not None]
    for i, c in enumerate(spec.get("canaries", [])):
        tok = c["token"]
        near = tests.get(c.get("near") or "")
        cls = near[1] if near else None if module_level or not classes else classes[i % len(classes)]
        if cls is None and not module_level:
            skip(None, "no test in the module to stand beside")
            continue
        # Beside the last test of its kind (not at the end: a module may end in `unittest.main()`).
        after = max(n.end_lineno for n, owner in tests.values() if owner is None) if cls is None else cls.end_lineno
        name = fresh_name(words, tok)
        kind = "must-pass" if c["kind"] == "pass" else "must-fail"
        out.append((after, canary(c["kind"], name, cls, lines, tok), {"file": spec["path"], "kind": kind, "name": name, "of": None}))
    return out


def plant_file(spec, report):
    path = spec["path"]
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.split("\n")
    tests = find_tests(ast.parse(source))
    words = words_of(tests)

    def skip(of, why):
        report["skipped"].append({"file": path, "of": of, "why": why})

    inserts = twin_inserts(spec, lines, tests, words, skip) + canary_inserts(spec, lines, tests, words, skip)
    if not inserts:
        return
    out = list(lines)
    for after, new, _ in sorted(inserts, key=lambda x: -x[0]):
        out[after:after] = new
    text = "\n".join(out)
    try:
        ast.parse(text)
    except SyntaxError as e:
        skip(None, "the planted module does not parse (%s); left as it was" % e.msg)
        return
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    report["planted"].extend(rec for _, _, rec in inserts)


def main():
    if len(sys.argv) > 1:
        with open(sys.argv[1], encoding="utf-8") as f:
            plan = json.load(f)
    else:
        plan = json.load(sys.stdin)
    report = {"planted": [], "skipped": []}
    for spec in plan["files"]:
        try:
            plant_file(spec, report)
        except (OSError, SyntaxError, ValueError, UnicodeDecodeError) as e:
            report["skipped"].append({"file": spec["path"], "of": None, "why": "not planted: %s" % e})
    print(json.dumps(report))


if __name__ == "__main__":
    main()

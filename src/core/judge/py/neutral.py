"""Is a change to a Python file behaviour-neutral? SSR's judge runs this inside
the validation sandbox, as root, on file contents passed in as data (never
imported or run): a bug must change behaviour, so a `bug_inject.diff` whose
changed file is the same program once parsed is no bug.

Two versions are the same program when their syntax trees (`ast`, so comments
and formatting are gone) are equal once each is normalised:

1. statements that do nothing are removed: `pass`, a bare constant that is not
   a docstring, a bare name or `x = x` of a parameter, an assignment of a
   constant to a function local that nothing reads, `if CONSTANT:` with
   nothing in it, `while FALSY:`, a `try` with nothing to try;
2. in a function body, runs of simple assignments to locals (no call in
   them) are put in one canonical order that respects what each reads and
   writes, so two independent statements swapped read the same;
3. locals are renamed canonically (order of first binding): function locals,
   loop, `with`, `except` and comprehension variables, positional-only, `*args`
   and `**kwargs` parameters. Not renamed: parameters a caller can name by
   keyword, globals, attributes, class members, imported names, names of
   functions and classes, and every local of a function that looks at its own
   frame (`locals()`, `vars()`, `eval`, `exec`, `dir()`, frame attributes).

Docstrings are kept: `__doc__` and doctests read them.

    python3 -I neutral.py < {"files": [{"path", "before", "after"}]}
    -> {"results": [{"path", "neutral", "reasons", "error"?}]}

Its parts: the scopes and the walk (`neutral_scope.py`), the three normalisations
(`neutral_steps.py`), the comparison in words (here).
"""
import ast
import json
import os
import sys

# Its modules (neutral_*.py) lie beside it in one root-owned folder; `python3 -I` leaves that off sys.path.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # the sandbox keeps no __pycache__ of the judge

from neutral_steps import rename, reorder, strip_noops  # noqa: E402


# --- Comparing two versions.

STEPS = ("noops", "reorder", "rename")


def normal_form(source, steps):
    tree = ast.parse(source)
    for n in ast.walk(tree):
        if isinstance(n, ast.Constant):
            n.kind = None  # u"x" is "x"
    if "noops" in steps:
        strip_noops(tree)
    if "reorder" in steps:
        reorder(tree)
    names = rename(tree) if "rename" in steps else {}
    return ast.dump(tree), names


def same(before, after, steps):
    b, nb = normal_form(before, steps)
    a, na = normal_form(after, steps)
    return b == a, nb, na


def why(before, after, nb, na):
    """In words, what differs between two versions that are the same program."""
    if same(before, after, ())[0]:
        return ["only comments or formatting"]
    needed = [s for s in STEPS if not same(before, after, [t for t in STEPS if t != s])[0]]
    out = []
    if "noops" in needed:
        out.append("a statement that does nothing added or removed")
    if "reorder" in needed:
        out.append("independent statements reordered")
    if "rename" in needed:
        pairs = sorted("%s->%s" % (nb[c], na[c]) for c in nb if c in na and nb[c] != na[c])
        out.append("a consistent renaming of locals: " + ", ".join(pairs))
    return out or ["only comments or formatting"]


def compare(path, before, after):
    """{path, neutral, reasons, error?}: neutral when both versions are the same program."""
    try:
        ast.parse(before)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return {"path": path, "neutral": False, "reasons": [], "error": "the original does not parse: %s" % e}
    try:
        equal, nb, na = same(before, after, STEPS)
        reasons = why(before, after, nb, na) if equal else []
        return {"path": path, "neutral": equal, "reasons": reasons}
    except (SyntaxError, ValueError):
        return {"path": path, "neutral": False, "reasons": []}
    except (RecursionError, MemoryError) as e:
        return {"path": path, "neutral": False, "reasons": [], "error": "too deep to compare: %s" % type(e).__name__}


def main():
    data = json.load(sys.stdin)
    results = [compare(f["path"], f["before"], f["after"]) for f in data["files"]]
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()

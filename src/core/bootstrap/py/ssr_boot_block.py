"""The `block` mutation: a window of statements of a function deleted; and the statement-layout
helpers it shares with the branch mutation (a statement's parent body, alone on its lines, elif)."""
import ast
from ssr_boot_pyast import Lines, body_stmts, first_line, own_nodes


def find_parent_body(fn, target):
    for n in [fn] + list(own_nodes(fn)):
        for field in ("body", "orelse", "finalbody"):
            b = getattr(n, field, None)
            if isinstance(b, list) and any(x is target for x in b):
                return b
        if isinstance(n, ast.Try):
            for h in n.handlers:
                if any(x is target for x in h.body):
                    return h.body
    return None


def stmt_bodies(fn):
    bodies = [body_stmts(fn)]
    for n in own_nodes(fn):
        for field in ("body", "orelse", "finalbody"):
            b = getattr(n, field, None)
            if isinstance(b, list) and b and isinstance(b[0], ast.stmt) and not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bodies.append(b)
    return bodies


def stored_names(nodes):
    out = set()
    for s in nodes:
        for n in ast.walk(s):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                out.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(n.name)
            elif isinstance(n, ast.alias):
                out.add((n.asname or n.name).split(".")[0])
            elif isinstance(n, ast.ExceptHandler) and n.name:
                out.add(n.name)
    return out


def alone_on_lines(lines, first, last):
    """The statements start a line (after indentation) and end one (before a comment), so whole lines can go."""
    fl = first_line(first)
    if fl == first.lineno:
        head = lines[fl - 1].encode("utf-8")[:first.col_offset].decode("utf-8", "replace")
        if head.strip():
            return False
    tail = lines[last.end_lineno - 1].encode("utf-8")[last.end_col_offset:].decode("utf-8", "replace").strip()
    return tail == "" or tail.startswith("#")


def is_elif(lines, node):
    return isinstance(node, ast.If) and lines[node.lineno - 1].encode("utf-8")[node.col_offset:].startswith(b"elif")


def py_block_windows(fn, src=None):
    """Windows (body, i, j) of 1-3 whole-line statements whose removal leaves no name unbound."""
    lines = (src or "").splitlines(keepends=True)
    params = {a.arg for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
    if fn.args.vararg:
        params.add(fn.args.vararg.arg)
    if fn.args.kwarg:
        params.add(fn.args.kwarg.arg)
    all_nodes = list(own_nodes(fn))
    out = []
    for body in stmt_bodies(fn):
        n = len(body)
        for i in range(n):
            for j in range(i + 1, min(n, i + 3) + 1):
                win = body[i:j]
                if j - i == n:
                    continue  # emptying a body: the body and branch strategies do that
                if all(isinstance(s, (ast.Pass, ast.Global, ast.Nonlocal)) or isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in win):
                    continue
                if any(isinstance(s, (ast.Global, ast.Nonlocal)) for s in win):
                    continue
                prev_end = body[i - 1].end_lineno if i > 0 else None
                nxt = body[j] if j < n else None
                if prev_end is not None and first_line(win[0]) <= prev_end:
                    continue
                if nxt is not None and first_line(nxt) <= win[-1].end_lineno:
                    continue
                if lines and (not alone_on_lines(lines, win[0], win[-1]) or is_elif(lines, win[0])):
                    continue
                inside = set()
                for s in win:
                    for x in ast.walk(s):
                        inside.add(id(x))
                stored = stored_names(win)
                if stored:
                    loads, stores = set(), set(params)
                    for x in all_nodes:
                        if id(x) in inside:
                            continue
                        if isinstance(x, ast.Name):
                            if isinstance(x.ctx, ast.Load):
                                loads.add(x.id)
                            elif isinstance(x.ctx, ast.Store):
                                stores.add(x.id)
                        elif isinstance(x, ast.AugAssign) and isinstance(x.target, ast.Name):
                            loads.add(x.target.id)
                    if any(s in loads and s not in stores for s in stored):
                        continue
                    # a name stored only by augmented assignment elsewhere still reads the dropped value
                    aug_only = {x.target.id for x in all_nodes if id(x) not in inside and isinstance(x, ast.AugAssign) and isinstance(x.target, ast.Name)}
                    if stored & aug_only:
                        continue
                out.append((body, i, j))
    return out


def mutate_py_block(src, fn, rng):
    wins = py_block_windows(fn, src)
    if not wins:
        return None, "no removable statements"
    weights = [1 if (j - i == 1 and isinstance(b[i], ast.Return)) else {1: 3, 2: 2, 3: 1}[j - i] for (b, i, j) in wins]
    body, i, j = rng.choices(wins, weights=weights, k=1)[0]
    win = body[i:j]
    L = Lines(src)
    start, end = first_line(win[0]), win[-1].end_lineno
    desc = "; ".join(" ".join(L.segment(s).split())[:60] for s in win)
    if j - i == len(body):
        L.replace_lines(start, end, [L.indent_of(win[0].lineno) + "pass\n"])
    else:
        L.replace_lines(start, end, [])
    return L.text(), "removed %d statement(s) at line %d in %s: %s" % (j - i, win[0].lineno, fn.name, desc)

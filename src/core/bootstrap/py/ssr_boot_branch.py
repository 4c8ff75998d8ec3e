"""The `branch` mutation: one condition of a function inverted."""
import ast
import re
from ssr_boot_block import alone_on_lines, find_parent_body, is_elif
from ssr_boot_pyast import Lines, first_line, own_nodes


def is_main_guard(node):
    t = node.test
    return isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and t.left.id == "__name__"


FLIP = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not in", "not in": "in", "is": "is not", "is not": "is"}


def py_branch_variants(src, fn):
    L = Lines(src)
    out = []
    for n in own_nodes(fn):
        if not isinstance(n, ast.If) or is_main_guard(n):
            continue
        out.append(("invert", n))
        same_line = n.body[0].lineno == n.lineno
        if is_elif(L.lines, n):
            continue
        if not n.orelse and not same_line and alone_on_lines(L.lines, n, n):
            out.append(("drop-if", n))
        elif n.orelse and not same_line:
            o = n.orelse[0]
            elif_chain = isinstance(o, ast.If) and L.lines[o.lineno - 1][L.col(o.lineno, o.col_offset):].startswith("elif")
            if not elif_chain:
                out.append(("drop-then", n))
                out.append(("drop-else", n))
    return out


def invert_text(L, test):
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        left, right = test.left, test.comparators[0]
        a = L.col(left.end_lineno, left.end_col_offset)
        b = L.col(right.lineno, right.col_offset)
        if left.end_lineno == right.lineno:
            mid = L.lines[left.end_lineno - 1][a:b]
            op = " ".join(mid.split())
            if op in FLIP:
                new_mid = mid.replace(mid.strip(), FLIP[op]) if mid.strip() == op else " " + FLIP[op] + " "
                return ("span", left.end_lineno, left.end_col_offset, right.lineno, right.col_offset, new_mid)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return ("node", test, L.segment(test.operand))
    seg = L.segment(test)
    if isinstance(test, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)):
        return ("node", test, "not " + seg)
    return ("node", test, "not (" + seg + ")")


def mutate_py_branch(src, fn, rng):
    variants = py_branch_variants(src, fn)
    if not variants:
        return None, "no if statement"
    kind, n = rng.choice(variants)
    L = Lines(src)
    line = n.lineno
    if kind == "invert":
        how = invert_text(L, n.test)
        before = L.segment(n.test)
        if how[0] == "span":
            L.replace_span(*how[1:])
        else:
            t = how[1]
            L.replace_span(t.lineno, t.col_offset, t.end_lineno, t.end_col_offset, how[2])
        return L.text(), "inverted the condition %r of the if at line %d in %s" % (" ".join(before.split()), line, fn.name)
    if kind == "drop-if":
        parent_body = find_parent_body(fn, n)
        start, end = first_line(n), n.end_lineno
        if parent_body is not None and len(parent_body) == 1:
            L.replace_lines(start, end, [L.indent_of(n.lineno) + "pass\n"])
        else:
            L.replace_lines(start, end, [])
        return L.text(), "removed the if statement at line %d in %s" % (line, fn.name)
    if kind == "drop-then":
        b0, b1 = n.body[0], n.body[-1]
        L.replace_lines(first_line(b0), b1.end_lineno, [L.indent_of(b0.lineno) + "pass\n"])
        return L.text(), "emptied the if branch at line %d in %s" % (line, fn.name)
    # drop-else: the else: line through the end of the else body
    o0, o1 = n.orelse[0], n.orelse[-1]
    k = first_line(o0) - 1
    while k > n.body[-1].end_lineno and not L.lines[k - 1].strip().startswith("else"):
        k -= 1
    if k <= n.body[-1].end_lineno or not re.match(r"\s*else\s*:\s*(#.*)?$", L.lines[k - 1]):
        return None, "else clause not on its own line"
    L.replace_lines(k, o1.end_lineno, [])
    return L.text(), "removed the else branch of the if at line %d in %s" % (line, fn.name)

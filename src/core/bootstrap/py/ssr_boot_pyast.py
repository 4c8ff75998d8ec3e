"""Python syntax-tree helpers shared by targets, mutation and weakening, and Lines, the source edited by ast positions."""
import ast


def own_nodes(fn):
    """Nodes of a function body, not descending into nested functions, classes or lambdas."""
    stack = list(fn.body)
    while stack:
        n = stack.pop()
        yield n
        for c in ast.iter_child_nodes(n):
            if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(c)


def first_line(node):
    decos = getattr(node, "decorator_list", None) or []
    return min([node.lineno] + [d.lineno for d in decos])


def has_docstring(fn):
    b = fn.body
    return bool(b) and isinstance(b[0], ast.Expr) and isinstance(b[0].value, ast.Constant) and isinstance(b[0].value.value, str)


def deco_names(fn):
    out = []
    for d in fn.decorator_list:
        t = d.func if isinstance(d, ast.Call) else d
        if isinstance(t, ast.Name):
            out.append(t.id)
        elif isinstance(t, ast.Attribute):
            out.append(t.attr)
    return out


def trivial_body(stmts):
    if not stmts:
        return True
    if len(stmts) != 1:
        return False
    s = stmts[0]
    if isinstance(s, ast.Pass):
        return True
    if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
        return True
    if isinstance(s, ast.Raise) and s.exc is not None:
        t = s.exc.func if isinstance(s.exc, ast.Call) else s.exc
        return isinstance(t, ast.Name) and t.id == "NotImplementedError"
    if isinstance(s, ast.Return) and (s.value is None or isinstance(s.value, ast.Constant) and s.value.value is None):
        return True
    return False


def py_functions(tree):
    """(qualname, node, class name or None) for module-level functions and methods of (nested) classes."""
    out = []

    def visit(body, prefix, cls):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((prefix + node.name, node, cls))
            elif isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".", node.name)
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body, prefix, cls)
                visit(getattr(node, "orelse", []), prefix, cls)
    visit(tree.body, "", None)
    return out


def body_stmts(fn):
    return fn.body[1:] if has_docstring(fn) else list(fn.body)


class Lines:
    """Source as lines, with edits addressed by ast positions (col offsets are UTF-8 bytes)."""

    def __init__(self, src):
        self.lines = src.splitlines(keepends=True)

    def text(self):
        return "".join(self.lines)

    def col(self, lineno, col_bytes):
        line = self.lines[lineno - 1]
        return len(line.encode("utf-8")[:col_bytes].decode("utf-8", "replace"))

    def indent_of(self, lineno):
        line = self.lines[lineno - 1]
        return line[: len(line) - len(line.lstrip(" \t"))]

    def segment(self, node):
        a = self.col(node.lineno, node.col_offset)
        b = self.col(node.end_lineno, node.end_col_offset)
        if node.lineno == node.end_lineno:
            return self.lines[node.lineno - 1][a:b]
        parts = [self.lines[node.lineno - 1][a:]] + self.lines[node.lineno: node.end_lineno - 1] + [self.lines[node.end_lineno - 1][:b]]
        return "".join(parts)

    def replace_span(self, l1, c1, l2, c2, new):
        a = self.col(l1, c1)
        b = self.col(l2, c2)
        head = self.lines[l1 - 1][:a]
        tail = self.lines[l2 - 1][b:]
        merged = (head + new + tail).splitlines(keepends=True)
        self.lines[l1 - 1: l2] = merged

    def replace_lines(self, l1, l2, new_lines):
        self.lines[l1 - 1: l2] = new_lines

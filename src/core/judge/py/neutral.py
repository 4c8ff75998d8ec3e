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
"""
import ast
import copy
import json
import sys

FRAME_NAMES = {"locals", "vars", "eval", "exec", "dir"}
FRAME_ATTRS = {"_getframe", "f_locals", "f_back", "currentframe", "f_globals"}
COMPS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
PURE = (ast.Constant, ast.Name, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Tuple, ast.List,
        ast.Set, ast.Dict, ast.Attribute, ast.Subscript, ast.Slice, ast.Starred, ast.expr_context, ast.operator,
        ast.cmpop, ast.boolop, ast.unaryop)
MAX_RUN = 200  # longer runs keep their order (the canonical order costs the square of the length)
MATCH_BINDERS = tuple(getattr(ast, n) for n in ("MatchAs", "MatchStar") if hasattr(ast, n))
MATCH_MAPPING = getattr(ast, "MatchMapping", ())


class Scope:
    def __init__(self, node, kind, parent, index):
        self.node, self.kind, self.parent, self.index = node, kind, parent, index
        self.order = []  # names bound here, in order of first binding
        self.fixed = set()  # bound here, never renamed
        self.params = set()
        self.declared = {}  # name -> "global" | "nonlocal"
        self.used = set()  # names read (here or in nested scopes) that resolve here
        self.deleted = set()
        self.frame = False  # the scope looks at its own frame

    def bind(self, name, fixed=False):
        if name not in self.order:
            self.order.append(name)
        if fixed:
            self.fixed.add(name)

    def renamable(self, name):
        return (self.kind in ("function", "comp") and not self.frame and name in self.order
                and name not in self.fixed and name not in self.declared)

    def canon(self, name):
        return "%%%d.%d" % (self.index, self.order.index(name))


def resolve(scope, name):
    """The scope a name refers to from `scope` (None: a global or builtin)."""
    s, first = scope, True
    while s is not None:
        if s.kind == "class" and not first:
            s = s.parent
            continue
        d = s.declared.get(name)
        if d == "global":
            return None
        if d is None and name in s.order:
            return s if s.kind != "module" else None
        s, first = s.parent, False
    return None


def new_scope(node, parent, scopes):
    kind = "function" if isinstance(node, FUNCS) else "class" if isinstance(node, ast.ClassDef) else "comp"
    s = Scope(node, kind, parent, len(scopes))
    scopes[id(node)] = s
    if kind == "function":
        a = node.args
        named = set(x.arg for x in a.args + a.kwonlyargs)
        for x in a.posonlyargs + a.args + [a.vararg] + a.kwonlyargs + [a.kwarg]:
            if x is not None:
                s.bind(x.arg, fixed=x.arg in named)
                s.params.add(x.arg)
    return s


def scope_children(node):
    """(child, evaluated in the node's own scope?) for a scope-making node."""
    if isinstance(node, ast.ClassDef):
        outer = node.bases + node.keywords + node.decorator_list
        return [(c, False) for c in outer] + [(c, True) for c in node.body]
    if isinstance(node, COMPS):
        g0 = node.generators[0]
        inner = [c for c in ast.iter_child_nodes(node) if c is not g0] + [g0.target] + g0.ifs
        return [(g0.iter, False)] + [(c, True) for c in inner]
    a = node.args
    outer = a.defaults + [d for d in a.kw_defaults if d is not None]
    outer += getattr(node, "decorator_list", []) + [getattr(node, "returns", None)]
    params = [x for x in a.posonlyargs + a.args + [a.vararg] + a.kwonlyargs + [a.kwarg] if x is not None]
    outer += [x.annotation for x in params]
    body = node.body if isinstance(node.body, list) else [node.body]
    return [(c, False) for c in outer if c is not None] + [(c, True) for c in params + body]


def walk(node, scope, scopes, pre=None, post=None):
    if pre:
        pre(node, scope)
    if isinstance(node, FUNCS + COMPS + (ast.ClassDef,)):
        inner = scopes.get(id(node)) or new_scope(node, scope, scopes)
        for child, own in scope_children(node):
            walk(child, inner if own else scope, scopes, pre, post)
    else:
        for child in ast.iter_child_nodes(node):
            walk(child, scope, scopes, pre, post)
    if post:
        post(node, scope)


def analyse(tree):
    """Every scope of the tree, keyed by the id of the node that makes it."""
    module = Scope(tree, "module", None, 0)
    scopes = {id(tree): module}
    loads, walrus = [], set()

    def collect(node, scope):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            scope.bind(node.name, fixed=True)
        elif isinstance(node, ast.NamedExpr):
            walrus.add(id(node.target))
            s = scope
            while s.kind == "comp":
                s = s.parent
            s.bind(node.target.id)
        elif isinstance(node, ast.Name):
            collect_name(node, scope, loads, walrus)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            for n in node.names:
                scope.declared[n] = "global" if isinstance(node, ast.Global) else "nonlocal"
                loads.append((scope, n))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for al in node.names:
                if al.name != "*":
                    scope.bind(al.asname or al.name.split(".")[0], fixed=True)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            loads.append((scope, node.target.id))
        elif isinstance(node, ast.Attribute) and node.attr in FRAME_ATTRS:
            mark_frame(scope)
        else:
            collect_pattern(node, scope)

    walk(tree, module, scopes, pre=collect)
    for scope, name in loads:
        s = resolve(scope, name) or (scope if name in scope.declared else None)
        if s is not None:
            s.used.add(name)
    return scopes


def collect_name(node, scope, loads, walrus):
    if isinstance(node.ctx, ast.Load):
        loads.append((scope, node.id))
        if node.id in FRAME_NAMES:
            mark_frame(scope)
    elif id(node) not in walrus:
        scope.bind(node.id)
        if isinstance(node.ctx, ast.Del):
            scope.deleted.add(node.id)
            loads.append((scope, node.id))


def collect_pattern(node, scope):
    if isinstance(node, ast.ExceptHandler) and node.name:
        scope.bind(node.name)
    elif MATCH_BINDERS and isinstance(node, MATCH_BINDERS) and node.name:
        scope.bind(node.name)
    elif MATCH_MAPPING and isinstance(node, MATCH_MAPPING) and node.rest:
        scope.bind(node.rest)


def mark_frame(scope):
    while scope is not None:
        scope.frame = True
        scope = scope.parent


# --- 1. Statements that do nothing.

def bound_param(scope, name):
    return scope.kind == "function" and name in scope.params and name not in scope.deleted and name not in scope.declared


def dead_store(stmt, scope):
    """`local = CONSTANT` in a function, the local read nowhere."""
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) != 1:
            return False
        target = stmt.targets[0]
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        target = stmt.target
    else:
        return False
    if not isinstance(target, ast.Name) or not isinstance(stmt.value, ast.Constant):
        return False
    n = target.id
    return (scope.kind == "function" and not scope.frame and n not in scope.used
            and n not in scope.declared and n not in scope.params)


def does_nothing(stmt, index, owner, scope):
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr):
        v = stmt.value
        if isinstance(v, ast.Constant):
            is_doc = index == 0 and isinstance(v.value, str) and isinstance(owner, (ast.Module, ast.ClassDef) + FUNCS)
            return not is_doc
        return isinstance(v, ast.Name) and bound_param(scope, v.id)
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
        t, v = stmt.targets[0], stmt.value
        if isinstance(t, ast.Name) and isinstance(v, ast.Name) and t.id == v.id and bound_param(scope, t.id):
            return True
    if isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Constant):
        return not stmt.body and not stmt.orelse or (not stmt.test.value and not stmt.orelse)
    if isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant):
        return not stmt.test.value and not stmt.orelse
    if isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
        return not stmt.body and not stmt.orelse and not stmt.finalbody
    return dead_store(stmt, scope)


def strip_noops(tree):
    scopes = analyse(tree)

    def post(node, scope):
        own = scopes.get(id(node), scope) if isinstance(node, FUNCS + (ast.ClassDef,)) else scope
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                keep = [s for i, s in enumerate(stmts) if not does_nothing(s, i, node, own)]
                setattr(node, field, keep)

    walk(tree, scopes[id(tree)], scopes, post=post)
    return tree


# --- 2. Independent simple statements in one canonical order.

def simple_names(stmt, scope):
    """(reads, writes) of an assignment to function locals with no call in it; None for any other statement."""
    if isinstance(stmt, ast.Assign):
        targets = []
        for t in stmt.targets:
            targets += t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)) and stmt.value is not None:
        targets = [stmt.target]
    else:
        return None
    if not all(isinstance(t, ast.Name) and resolve(scope, t.id) is scope for t in targets):
        return None
    if not all(isinstance(n, PURE) for n in ast.walk(stmt.value)):
        return None
    reads = set(n.id for n in ast.walk(stmt.value) if isinstance(n, ast.Name))
    writes = set(t.id for t in targets)
    if isinstance(stmt, ast.AugAssign):
        reads |= writes
    return reads, writes


def erased_key(stmt, scope):
    """The statement's dump with the function's own local names erased (renaming must not change the order)."""
    c = copy.deepcopy(stmt)
    for n in ast.walk(c):
        if isinstance(n, ast.Name) and resolve(scope, n.id) is scope:
            n.id = "%"
    return ast.dump(c)


def canonical_run(run, scope):
    """The smallest order (by erased key) of a run of simple statements that keeps every dependency."""
    rw = [simple_names(s, scope) for s in run]
    keys = [erased_key(s, scope) for s in run]
    before = [set(j for j in range(i) if rw[i][1] & (rw[j][0] | rw[j][1]) or rw[j][1] & rw[i][0])
              for i in range(len(run))]
    placed, out = set(), []
    while len(out) < len(run):
        ready = [i for i in range(len(run)) if i not in placed and before[i] <= placed]
        i = min(ready, key=lambda k: (keys[k], k))
        placed.add(i)
        out.append(run[i])
    return out


def canonical_block(stmts, scope):
    out, run = [], []
    for s in stmts + [None]:
        if s is not None and simple_names(s, scope) is not None:
            run.append(s)
            continue
        out += canonical_run(run, scope) if 1 < len(run) <= MAX_RUN else run
        run = []
        if s is not None:
            out.append(s)
    return out


def reorder_block(stmts, scope, guarded, scopes):
    """Reorders every function body under these statements; not inside a `try` or `with` body (an exception could see the order)."""
    for s in stmts:
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            s.body = reorder_block(s.body, scopes[id(s)], False, scopes)
        elif isinstance(s, ast.ClassDef):
            s.body = reorder_block(s.body, scopes[id(s)], guarded, scopes)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            s.body = reorder_block(s.body, scope, True, scopes)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                sub = getattr(s, field, None)
                if not isinstance(sub, list):
                    continue
                in_try = field == "body" and (isinstance(s, ast.Try) or type(s).__name__ == "TryStar")
                if sub and isinstance(sub[0], ast.stmt):
                    setattr(s, field, reorder_block(sub, scope, guarded or in_try, scopes))
                else:
                    for h in sub:
                        h.body = reorder_block(h.body, scope, guarded, scopes)
    if scope.kind == "function" and not guarded:
        return canonical_block(stmts, scope)
    return stmts


def reorder(tree):
    scopes = analyse(tree)
    tree.body = reorder_block(tree.body, scopes[id(tree)], False, scopes)
    return tree


# --- 3. Locals renamed canonically.

def rename(tree):
    """Renames locals in place; returns {canonical name: original name}."""
    scopes = analyse(tree)
    names = {}

    def to(scope, name):
        if scope is not None and scope.renamable(name):
            c = scope.canon(name)
            names[c] = name
            return c
        return name

    def visit(node, scope):
        if isinstance(node, ast.Name):
            node.id = to(resolve(scope, node.id), node.id)
        elif isinstance(node, ast.arg):
            node.arg = to(scope, node.arg)
        elif isinstance(node, ast.Nonlocal):
            node.names = [to(resolve(scope.parent, n), n) for n in node.names]
        elif isinstance(node, ast.ExceptHandler) and node.name:
            node.name = to(resolve(scope, node.name), node.name)
        elif MATCH_BINDERS and isinstance(node, MATCH_BINDERS) and node.name:
            node.name = to(resolve(scope, node.name), node.name)
        elif MATCH_MAPPING and isinstance(node, MATCH_MAPPING) and node.rest:
            node.rest = to(resolve(scope, node.rest), node.rest)

    walk(tree, scopes[id(tree)], scopes, pre=visit)
    return names


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

"""The scopes of a Python module for the behaviour-neutral test (neutral.py): which names each
function, lambda and comprehension binds, reads and may rename, and the walk that carries them."""
import ast

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

"""The three normalisations of the behaviour-neutral test (neutral.py): statements that do nothing
removed, independent simple statements put in one canonical order, locals renamed canonically."""
import ast
import copy
from neutral_scope import FUNCS, MATCH_BINDERS, MATCH_MAPPING, MAX_RUN, PURE, analyse, resolve, walk

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

"""The `body` mutation: a function's body replaced by a plausible stub of the kind it returns."""
import ast
from ssr_boot_files import safe_parse
from ssr_boot_pyast import Lines, body_stmts, first_line, has_docstring, own_nodes, trivial_body


def ann_name(ann):
    if ann is None:
        return None
    if isinstance(ann, ast.Constant):
        if ann.value is None:
            return "None"
        if isinstance(ann.value, str):
            t = safe_parse(ann.value)
            if t and t.body and isinstance(t.body[0], ast.Expr):
                return ann_name(t.body[0].value)
        return None
    if isinstance(ann, ast.Name):
        return ann.id
    if isinstance(ann, ast.Attribute):
        return ann.attr
    if isinstance(ann, ast.Subscript):
        return ann_name(ann.value)
    if isinstance(ann, ast.BinOp):
        return "Optional"
    return None


STUBS = {"num": "return 0", "str": "return ''", "bool": "return False", "list": "return []", "dict": "return {}",
         "tuple": "return ()", "set": "return set()", "self": "return self", "none": "return None", "pass": "pass"}
NUM_ANN = {"int", "float", "complex", "Decimal", "Fraction", "Number"}
LIST_ANN = {"list", "List", "Sequence", "MutableSequence", "Iterable", "Iterator", "Generator", "Collection"}
DICT_ANN = {"dict", "Dict", "Mapping", "MutableMapping", "defaultdict", "OrderedDict", "Counter"}
STR_CALLS = {"join", "format", "strip", "lstrip", "rstrip", "lower", "upper", "replace", "title", "capitalize", "str", "repr"}
NUM_CALLS = {"len", "sum", "int", "float", "round", "abs", "Decimal", "count", "index", "find"}
BOOL_CALLS = {"isinstance", "issubclass", "all", "any", "bool", "startswith", "endswith", "isdigit", "hasattr", "callable", "exists"}


def value_kind(v):
    if isinstance(v, ast.Constant):
        if isinstance(v.value, bool):
            return "bool"
        if isinstance(v.value, str):
            return "str"
        if isinstance(v.value, (int, float, complex)):
            return "num"
        return None
    if isinstance(v, ast.JoinedStr):
        return "str"
    if isinstance(v, (ast.Compare, ast.BoolOp)) or isinstance(v, ast.UnaryOp) and isinstance(v.op, ast.Not):
        return "bool"
    if isinstance(v, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(v, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(v, ast.Tuple):
        return "tuple"
    if isinstance(v, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(v, ast.Name) and v.id == "self":
        return "self"
    if isinstance(v, ast.BinOp) and isinstance(v.op, ast.Mod) and isinstance(v.left, ast.Constant) and isinstance(v.left.value, str):
        return "str"
    if isinstance(v, ast.Call):
        f = v.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
        if name in STR_CALLS:
            return "str"
        if name in NUM_CALLS:
            return "num"
        if name in BOOL_CALLS:
            return "bool"
        if name in ("list", "sorted"):
            return "list"
        if name == "dict":
            return "dict"
    return None


def choose_stub(fn, rng):
    name = ann_name(fn.returns)
    if fn.name == "__init__" or name == "None":
        return "pass"
    if rng.random() < 0.08:
        return "raise NotImplementedError"
    if name in NUM_ANN:
        return STUBS["num"]
    if name == "str":
        return STUBS["str"]
    if name == "bool":
        return STUBS["bool"]
    if name in LIST_ANN:
        return STUBS["list"]
    if name in ("tuple", "Tuple"):
        return STUBS["tuple"]
    if name in ("set", "Set", "frozenset", "FrozenSet"):
        return STUBS["set"]
    if name in DICT_ANN:
        return STUBS["dict"]
    nodes = list(own_nodes(fn))
    if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes):
        return STUBS["list"]
    rets = [n.value for n in nodes if isinstance(n, ast.Return) and n.value is not None]
    if not rets:
        return "pass"
    assigned = {}
    for n in nodes:
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name):
            assigned.setdefault(n.targets[0].id, value_kind(n.value))
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value is not None:
            assigned.setdefault(n.target.id, value_kind(n.value))
    kinds = [value_kind(v) or (assigned.get(v.id) if isinstance(v, ast.Name) else None) for v in rets]
    for k in kinds:
        if k:
            return STUBS[k]
    return STUBS["none"]


def mutate_py_body(src, fn, rng):
    L = Lines(src)
    stmts = body_stmts(fn)
    if not stmts or trivial_body(stmts):
        return None, "nothing to stub"
    first, last = stmts[0], stmts[-1]
    if has_docstring(fn) and fn.body[0].end_lineno >= first.lineno:
        return None, "statement shares a line with the docstring"
    start = first_line(first)
    stub = choose_stub(fn, rng)
    indent = L.indent_of(first.lineno)
    L.replace_lines(start, last.end_lineno, [indent + stub + "\n"])
    return L.text(), "replaced the body of %s with %s" % (fn.name, stub)

"""`mutate`: one function of a Python file changed by a strategy (body, branch or block), checked to parse and compile."""
import ast
from ssr_boot_block import mutate_py_block
from ssr_boot_branch import mutate_py_branch
from ssr_boot_files import read, safe_parse, write
from ssr_boot_pyast import py_functions
from ssr_boot_stub import mutate_py_body


def find_py_function(tree, symbol, line):
    symbol = symbol.split("@")[0]
    best = None
    for qual, fn, cls in py_functions(tree):
        if qual == symbol:
            if fn.lineno == line:
                return fn
            best = best or fn
    return best


def mutate_py(root, rel, symbol, line, strategy, rng):
    src = read(root, rel)
    tree = safe_parse(src, rel)
    if tree is None:
        return {"ok": False, "reason": "file does not parse"}
    fn = find_py_function(tree, symbol, line)
    if fn is None:
        return {"ok": False, "reason": "function %s not found" % symbol}
    fn_fun = {"body": mutate_py_body, "branch": mutate_py_branch, "block": mutate_py_block}[strategy]
    new, desc = fn_fun(src, fn, rng)
    if new is None:
        return {"ok": False, "reason": desc}
    new_tree = safe_parse(new, rel)
    if new_tree is None:
        return {"ok": False, "reason": "the mutation does not parse"}
    try:
        compile(new, rel, "exec")
    except (SyntaxError, ValueError) as e:
        return {"ok": False, "reason": "the mutation does not compile: %s" % e}
    if ast.dump(new_tree) == ast.dump(tree):
        return {"ok": False, "reason": "the mutation changes nothing"}
    write(root, rel, new)
    return {"ok": True, "description": desc}

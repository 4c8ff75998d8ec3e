"""Python functions over a line limit, for scripts/sizes.cjs (issue 21).

    python3 scripts/py_sizes.py MAX_LINES FILE...

Prints one JSON list on stdout: {"where": "FILE:LINE", "name": "Class.method", "lines": N}
for every function or method (nested ones included) longer than MAX_LINES,
counted from its first decorator (or `def`) to its last line. A file that does
not parse is reported with the name "(syntax error)" and lines 0.
"""

import ast
import json
import sys


def long_functions(path, limit):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as err:
        return [{"where": f"{path}:{err.lineno or 0}", "name": "(syntax error)", "lines": 0}]
    out = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno] + [d.lineno for d in child.decorator_list])
                    lines = child.end_lineno - first + 1
                    if lines > limit:
                        out.append({"where": f"{path}:{first}", "name": name, "lines": lines})
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return out


def main(argv):
    if len(argv) < 1:
        print("usage: py_sizes.py MAX_LINES FILE...", file=sys.stderr)
        return 2
    limit = int(argv[0])
    found = [fn for path in argv[1:] for fn in long_functions(path, limit)]
    json.dump(found, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

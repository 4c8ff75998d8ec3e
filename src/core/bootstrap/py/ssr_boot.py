# SSR bootstrap helper. Usage: python3 ssr_boot.py COMMAND < request.json
# Commands: detect, targets, mutate, weaken (Python); jsinfo (JavaScript/TypeScript files and
# their V8 coverage: JS mutation and test deletion run on the host with @babel/parser).
# Answers one JSON object on stdout.
import ast, json, os, random, re, shutil, subprocess, sys

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".tox", ".nox", ".venv", "venv", "env",
             ".mypy_cache", ".pytest_cache", "site-packages", "build", "dist", ".eggs", ".ssr",
             "coverage", ".idea", ".vscode"}
PY_TEST_DIRS = {"tests", "test", "testing"}
JS_EXT = (".js", ".cjs", ".mjs")
JS_TS_EXT = (".js", ".cjs", ".mjs", ".jsx", ".ts", ".cts", ".mts", ".tsx")


def walk(root):
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS and not x.startswith(".") and not x.endswith(".egg-info"))
        for f in sorted(files):
            out.append(os.path.relpath(os.path.join(d, f), root).replace(os.sep, "/"))
    return out


def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as fh:
        return fh.read()


def write(root, rel, text):
    with open(os.path.join(root, rel), "w", encoding="utf-8") as fh:
        fh.write(text)


def safe_parse(text, name="<src>"):
    try:
        return ast.parse(text, name)
    except (SyntaxError, ValueError):
        return None


# ---------------------------------------------------------------- detection

def py_is_test_path(rel):
    parts = rel.split("/")
    name = parts[-1]
    if not name.endswith(".py"):
        return False
    if name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(p in PY_TEST_DIRS for p in parts[:-1])


def py_test_kinds(tree):
    """(has pytest-style tests, has unittest TestCase classes, imports pytest)."""
    plain = unit = imports_pytest = False
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
            if any(n == "pytest" or n.startswith("pytest.") for n in names):
                imports_pytest = True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            plain = True
        if isinstance(node, ast.ClassDef):
            bases = [ast.unparse(b) for b in node.bases]
            has_tests = any(isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef)) and b.name.startswith("test") for b in node.body)
            if any(b.endswith("TestCase") for b in bases):
                unit = unit or has_tests
            elif node.name.startswith("Test") and has_tests:
                plain = True
    return plain, unit, imports_pytest


def pytest_config(root, files):
    fs = set(files)
    if "pytest.ini" in fs:
        return "pytest.ini"
    for name, marker in (("pyproject.toml", "[tool.pytest"), ("setup.cfg", "[tool:pytest]"), ("tox.ini", "[pytest]")):
        if name in fs:
            try:
                if marker in read(root, name):
                    return name
            except (OSError, UnicodeDecodeError):
                pass
    for f in files:
        if f.endswith("conftest.py"):
            return f
    return None


def importable(mod):
    try:
        import importlib.util
        return importlib.util.find_spec(mod) is not None
    except Exception:
        return False


JS_TEST_NAME = re.compile(r"(^|/)(test|tests|__tests__)/|(\.|_|-)(test|spec)\.(c|m)?js$|(^|/)test-[^/]*\.(c|m)?js$|(^|/)test\.(c|m)?js$")
NODE_TEST_IMPORT = re.compile(r"""require\(\s*['"](node:)?test['"]\s*\)|from\s+['"](node:)?test['"]|import\(\s*['"](node:)?test['"]\s*\)""")


def js_is_test_path(rel):
    return rel.endswith(JS_EXT) and bool(JS_TEST_NAME.search(rel))



DECL_SPLIT = re.compile(r"[\s;&|()]+")
TEST_TOOLS = ("pytest", "py.test", "unittest", "coverage", "python", "python3", "nose2", "tox", "jest", "vitest", "mocha", "node", "npx")


def declared_commands(root, files):
    """The test commands the repository declares: tox/nox, Makefile test targets, CI workflow steps."""
    out = []
    fs = set(files)
    if "tox.ini" in fs:
        try:
            in_cmds = False
            for line in read(root, "tox.ini").splitlines():
                if re.match(r"^\s*commands\s*[=:]", line):
                    in_cmds = True
                    rest = line.split("=", 1)[1] if "=" in line else line.split(":", 1)[1]
                    if rest.strip():
                        out.append(("tox.ini", rest.strip()))
                    continue
                if in_cmds and line[:1] in (" ", "\t") and line.strip():
                    out.append(("tox.ini", line.strip()))
                else:
                    in_cmds = False
        except (OSError, UnicodeDecodeError):
            pass
    if "noxfile.py" in fs:
        try:
            for m in re.finditer(r"session\.run\(([^)]*)\)", read(root, "noxfile.py")):
                args = re.findall(r"""['"]([^'"]+)['"]""", m.group(1))
                if args:
                    out.append(("noxfile.py", " ".join(args)))
        except (OSError, UnicodeDecodeError):
            pass
    for mk in ("Makefile", "makefile", "GNUmakefile"):
        if mk in fs:
            try:
                target = None
                for line in read(root, mk).splitlines():
                    m = re.match(r"^([\w.-]+)\s*:", line)
                    if m:
                        target = m.group(1)
                        continue
                    if target and "test" in target and line.startswith("\t"):
                        out.append((mk, line.strip().lstrip("@-")))
            except (OSError, UnicodeDecodeError):
                pass
    for wf in files:
        if wf.startswith(".github/workflows/") and wf.endswith((".yml", ".yaml")):
            try:
                text = read(root, wf)
            except (OSError, UnicodeDecodeError):
                continue
            lines = text.splitlines()
            for i, line in enumerate(lines):
                m = re.match(r"^(\s*)(?:-\s*)?run:\s*(.*)$", line)
                if not m:
                    continue
                body = m.group(2).strip()
                if body in ("|", ">", "|-", ">-", ""):
                    ind = None
                    for nxt in lines[i + 1:]:
                        if not nxt.strip():
                            continue
                        cur = len(nxt) - len(nxt.lstrip())
                        if ind is None:
                            ind = cur
                        if cur < ind or cur <= len(m.group(1)):
                            break
                        out.append((wf, nxt.strip()))
                else:
                    out.append((wf, body))
    return [(src, cmd) for src, cmd in out if any(t in DECL_SPLIT.split(cmd) for t in TEST_TOOLS)]


def declared_py_files(root, commands):
    """Python test files or folders named by the declared test commands (e.g. `coverage run -m pytest test.py`)."""
    out = []
    for _src, cmd in commands:
        toks = DECL_SPLIT.split(cmd)
        if not any(t in ("pytest", "py.test", "unittest", "coverage", "nose2") or t.endswith(("python", "python3")) for t in toks):
            continue
        for t in toks:
            t = t.strip("'\"")
            if t.startswith("-") or "$" in t or "{" in t:
                continue
            p = os.path.normpath(t).replace(os.sep, "/")
            if p.startswith(".."):
                continue
            full = os.path.join(root, p)
            if p.endswith(".py") and os.path.isfile(full) and p not in ("setup.py", "noxfile.py") and p not in out:
                out.append(p)
            elif os.path.isdir(full) and p not in (".", "") and re.search(r"test", p) and p not in out:
                out.append(p)
    return out


def pytest_collect(root, targets, src_layout):
    """pytest's own collection: {file: number of tests} and the errors it reported."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if src_layout:
        env["PYTHONPATH"] = "src" + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                            "--continue-on-collection-errors", "--rootdir=."] + targets,
                           cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    except (subprocess.TimeoutExpired, OSError) as e:
        return None, str(e)
    counts = {}
    errors = []
    for line in r.stdout.decode("utf-8", "replace").splitlines():
        if "::" in line and not line.startswith(("ERROR", "FAILED", " ")):
            f = line.split("::", 1)[0]
            counts[f] = counts.get(f, 0) + 1
        elif line.startswith("ERROR "):
            errors.append(line[6:].strip())
    return counts, "\n".join(errors)



JS_RUNNERS = ("jest", "vitest", "mocha")
JS_TEST_FILE = re.compile(r"(^|/)__tests__/.*\.(c|m)?[jt]sx?$|\.(test|spec)\.(c|m)?[jt]sx?$")
RUNNER_DROP = {"run", "--typecheck", "--coverage", "--watch", "--watchAll", "--ci", "--silent", "--verbose", "--passWithNoTests",
               "--runInBand", "-i", "--no-coverage", "--color", "--colors", "--no-color"}


def package_json(root):
    try:
        return json.loads(read(root, "package.json"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def js_declared_runner(root, pkg):
    """Follows package.json's test script (through `npm run X`, `pnpm X`, `yarn X`) to the runner it calls."""
    scripts = (pkg or {}).get("scripts") or {}
    todo = [("scripts.test", str(scripts.get("test") or ""))]
    seen = set()
    while todo:
        where, cmd = todo.pop(0)
        if where in seen:
            continue
        seen.add(where)
        for part in re.split(r"&&|\|\||;", cmd):
            toks = part.split()
            while toks and (toks[0] in ("npx", "pnpm", "yarn", "exec", "pnpx", "bunx", "cross-env") or re.match(r"^\w+=", toks[0])):
                if toks[0] in ("pnpm", "yarn") and len(toks) > 1 and toks[1] not in ("exec", "run", "dlx") and toks[1] in scripts:
                    todo.append(("scripts." + toks[1], str(scripts[toks[1]])))
                    toks = []
                    break
                toks = toks[1:]
            if not toks:
                continue
            if toks[0] in ("npm", "pnpm", "yarn", "bun") and len(toks) > 2 and toks[1] in ("run", "run-script"):
                if toks[2] in scripts:
                    todo.append(("scripts." + toks[2], str(scripts[toks[2]])))
                continue
            if toks[0] in ("npm",) and len(toks) > 1 and toks[1] in ("test", "t"):
                continue
            name = toks[0].rsplit("/", 1)[-1]
            if name in JS_RUNNERS:
                args = [t for t in toks[1:] if t not in RUNNER_DROP and not t.startswith(("--reporter", "--outputFile", "--json", "--coverage"))]
                return name, args, "package.json %s: %s" % (where, part.strip())
            if name == "node" and "--test" in toks:
                return "node", [], "package.json %s: %s" % (where, part.strip())
    deps = dict((pkg or {}).get("devDependencies") or {}, **((pkg or {}).get("dependencies") or {}))
    for r in JS_RUNNERS:
        if r in deps:
            return r, [], "package.json devDependencies (%s)" % r
    return None, [], None


def js_package_manager(root, pkg, files):
    """The package manager the repository declares (packageManager, else its lockfile), when the image has it."""
    declared = str((pkg or {}).get("packageManager") or "")
    m = re.match(r"^(npm|pnpm|yarn|bun)@", declared)
    pm = m.group(1) if m else ("pnpm" if "pnpm-lock.yaml" in files else "yarn" if "yarn.lock" in files else "npm")
    if pm in ("pnpm", "yarn") and shutil.which(pm):
        return pm
    return "npm"


def js_runner_files(root, runner, args, files):
    """The test files the runner will run: jest lists them itself; vitest and mocha by their default patterns or arguments."""
    notes = []
    positional = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if runner == "jest":
        try:
            r = subprocess.run([os.path.join(root, "node_modules/.bin/jest"), "--listTests"] + args, cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
            listed = [os.path.relpath(p.strip(), root).replace(os.sep, "/") for p in r.stdout.decode("utf-8", "replace").splitlines() if p.strip().startswith("/")]
            if listed:
                notes.append("jest --listTests names %d test file(s)" % len(listed))
                return sorted(listed), notes, [a for a in args if a.startswith("-")]
            notes.append("jest --listTests listed nothing: %s" % r.stderr.decode("utf-8", "replace")[-300:])
        except (OSError, subprocess.TimeoutExpired) as e:
            notes.append("jest --listTests failed: %s" % e)
        return sorted(f for f in files if JS_TEST_FILE.search(f)), notes, flags
    if runner == "vitest":
        return sorted(f for f in files if re.search(r"\.(test|spec)\.(c|m)?[jt]sx?$", f)), notes, flags
    # mocha: the spec arguments, else .mocharc's spec, else ./test/*.{js,cjs,mjs}
    spec = positional
    recursive = "--recursive" in args
    if not spec:
        for rc in (".mocharc.json", ".mocharc.js", ".mocharc.cjs", ".mocharc.yml", ".mocharc.yaml"):
            if rc in files:
                try:
                    text = read(root, rc)
                except (OSError, UnicodeDecodeError):
                    continue
                spec = re.findall(r"""["']?spec["']?\s*:\s*\[?\s*["']([^"']+)["']""", text)
                recursive = recursive or bool(re.search(r"recursive\W+true", text))
                break
    if not spec:
        spec = ["test"]
    out = []
    for sp in spec:
        sp = sp.strip("./") if sp.startswith("./") else sp
        if sp in files:
            out.append(sp)
            continue
        prefix = sp.rstrip("/") + "/"
        for f in files:
            if f.startswith(prefix) and f.endswith((".js", ".cjs", ".mjs")) and (recursive or "/" not in f[len(prefix):]):
                out.append(f)
    return sorted(set(out)), notes, [a for a in flags if a != "--recursive"]


def detect(req):
    root = req["root"]
    files = walk(root)
    notes = []
    py_files = [f for f in files if f.endswith(".py")]
    py_tests = [f for f in py_files if py_is_test_path(f)]
    py_run = []
    plain = unit = uses_pytest = False
    for f in py_tests:
        name = f.rsplit("/", 1)[-1]
        if not (name.startswith("test_") or name.endswith("_test.py")):
            if name == "conftest.py":
                uses_pytest = True
            continue
        try:
            tree = safe_parse(read(root, f), f)
        except (OSError, UnicodeDecodeError):
            tree = None
        if tree is None:
            continue
        p, u, i = py_test_kinds(tree)
        if p or u:
            py_run.append(f)
        plain, unit, uses_pytest = plain or p, unit or u, uses_pytest or i
    result = {"language": None, "framework": None, "runner": None, "testFiles": [], "runFiles": [], "notes": notes,
              "pytestAvailable": importable("pytest"), "nodeAvailable": shutil.which("node") is not None,
              "pythonTestFiles": len(py_run), "jsTestFiles": 0}
    src_layout = any(f.startswith("src/") and f.count("/") == 2 and f.endswith("/__init__.py") for f in files)
    result["srcLayout"] = src_layout
    decl = declared_commands(root, files)
    result["declared"] = ["%s: %s" % d for d in decl][:20]
    declared_py = declared_py_files(root, decl) if req.get("language") != "javascript" else []
    if declared_py:
        notes.append("test files named by the repository's own test commands: " + ", ".join(declared_py))
        for p in declared_py:
            if p.endswith(".py") and p not in py_tests:
                py_tests.append(p)
            if p.endswith(".py") and p not in py_run:
                py_run.append(p)
                plain = True
    if py_run and result["pytestAvailable"] and req.get("language") != "javascript":
        # Let pytest collect: a guess from file contents misses TestCase classes whose tests come from mixins.
        candidates = sorted(set(py_run) | {f for f in py_tests if f.rsplit("/", 1)[-1] != "conftest.py" and
                                           (f.rsplit("/", 1)[-1].startswith("test") or f.endswith("_test.py"))})
        counts, errors = pytest_collect(root, candidates, src_layout)
        if counts is not None and counts:
            collected = sorted(f for f in candidates if counts.get(f))
            left = [f for f in candidates if not counts.get(f)]
            added = [f for f in collected if f not in py_run]
            if added:
                notes.append("pytest collects tests the file contents did not show (e.g. from mixins) in: " + ", ".join(added))
            if left:
                why = "pytest collects no test from them" + (" (collection errors: %s)" % errors[:300] if errors else "")
                notes.append("left out: %s: %s" % (", ".join(left), why))
                result["leftOut"] = [{"file": f, "why": why} for f in left]
            py_run = collected
            result["collected"] = sum(counts.values())
            plain = True
    if py_run and req.get("language") != "javascript":
        cfg = pytest_config(root, files)
        framework = "pytest" if (cfg or plain or uses_pytest) else "unittest"
        if cfg:
            notes.append("pytest configuration found in " + cfg)
        runner = None
        if result["pytestAvailable"]:
            runner = "pytest"
            if framework == "unittest":
                notes.append("unittest tests, run with pytest (importable in the image), which runs them too")
        elif framework == "unittest":
            runner = "unittest"
        else:
            notes.append("the tests need pytest, which the image does not have")
        result.update(language="python", framework=framework, runner=runner, testFiles=sorted(py_tests), runFiles=sorted(py_run))
        return result
    if "go.mod" in files and req.get("language") in (None, "go"):
        go_tests = [f for f in files if f.endswith("_test.go") and not (set(f.split("/")[:-1]) & {"vendor", "testdata"})]
        if go_tests:
            have_go = shutil.which("go") is not None
            if not have_go:
                notes.append("Go tests found but the image has no Go: build the repository's environment first (ssr env build --repo DIR)")
            notes.append("go test -json ./... (%d test file(s) in %d package(s))" % (len(go_tests), len({f.rsplit("/", 1)[0] if "/" in f else "." for f in go_tests})))
            result.update(language="go", framework="go test", runner="go" if have_go else None, testFiles=sorted(go_tests),
                          runFiles=["./..."], goAvailable=have_go)
            return result
    js_tests = [f for f in files if js_is_test_path(f)]
    js_run = []
    for f in js_tests:
        try:
            if NODE_TEST_IMPORT.search(read(root, f)):
                js_run.append(f)
        except (OSError, UnicodeDecodeError):
            pass
    result["jsTestFiles"] = len(js_tests)
    pkg_test = ""
    if "package.json" in files:
        try:
            pkg_test = str((json.loads(read(root, "package.json")).get("scripts") or {}).get("test") or "")
        except (ValueError, OSError, AttributeError):
            pkg_test = ""
    pkg = package_json(root) if "package.json" in files else None
    runner_decl, runner_args, learned = js_declared_runner(root, pkg)
    if runner_decl in JS_RUNNERS and req.get("language") != "python":
        all_files = [f for f in walk(root) if f.endswith(JS_TS_EXT) and not f.endswith(".d.ts")]
        run_files, more, flags = js_runner_files(root, runner_decl, runner_args, all_files)
        notes.extend(more)
        notes.append("runner %s, learned from %s" % (runner_decl, learned))
        pm = js_package_manager(root, pkg, files)
        have = os.path.exists(os.path.join(root, "node_modules/.bin", runner_decl))
        if not have and pm == "yarn" and (os.path.exists(os.path.join(root, ".pnp.cjs")) or os.path.exists(os.path.join(root, ".pnp.js"))):
            # yarn 2+ Plug'n'Play: no node_modules; yarn runs the runner.
            have = subprocess.run(["yarn", "bin", runner_decl], cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
        if pm != "npm":
            notes.append("the tests run through %s (the repository's package manager)" % pm)
        if not have:
            notes.append("%s is not installed in the image: build the repository's environment first (ssr env build --repo DIR)" % runner_decl)
        helpers = [f for f in all_files if (f.split("/")[0] in ("test", "tests", "__tests__", "spec")) and f not in run_files]
        result.update(language="javascript", framework=runner_decl, runner=runner_decl if have else None,
                      testFiles=sorted(set(run_files) | set(helpers)), runFiles=run_files, runnerArgs=flags, learnedFrom=learned,
                      jsTestFiles=len(run_files), packageManager=pm)
        return result
    if js_run:
        if "node --test" not in pkg_test and pkg_test:
            notes.append("package.json's test script is %r; SSR runs the node:test files directly" % pkg_test)
        runner = "node" if result["nodeAvailable"] else None
        if runner is None:
            notes.append("the tests use node:test but the image has no node")
        result.update(language="javascript", framework="node:test", runner=runner, testFiles=sorted(js_tests), runFiles=sorted(js_run))
        return result
    if js_tests:
        notes.append("JavaScript test files found (%d) but none uses node:test (jest, mocha and others are not supported)" % len(js_tests))
        result.update(language="javascript", testFiles=sorted(js_tests))
    return result


# ---------------------------------------------------------- python targets

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


def referenced_names(root, test_files):
    names = set()
    for f in test_files:
        if not f.endswith(".py"):
            continue
        try:
            tree = safe_parse(read(root, f), f)
        except (OSError, UnicodeDecodeError):
            tree = None
        if tree is None:
            continue
        for n in ast.walk(tree):
            if isinstance(n, ast.Name):
                names.add(n.id)
            elif isinstance(n, ast.Attribute):
                names.add(n.attr)
            elif isinstance(n, ast.alias):
                names.add(n.name.split(".")[-1])
                if n.asname:
                    names.add(n.asname)
    return names


def load_py_coverage(cov_dir):
    covered = set()
    if not cov_dir or not os.path.isdir(cov_dir):
        return covered, False
    found = False
    for f in os.listdir(cov_dir):
        if not (f.startswith("py-") and f.endswith(".json")):
            continue
        try:
            with open(os.path.join(cov_dir, f)) as fh:
                for rel, line, name in json.load(fh):
                    covered.add((rel, int(line), name))
            found = True
        except (OSError, ValueError, TypeError):
            pass
    return covered, found


def py_targets(req):
    root = req["root"]
    tests = set(req["testFiles"])
    refs = referenced_names(root, tests)
    covered, have_cov = load_py_coverage(req.get("covDir"))
    out = []
    for rel in walk(root):
        if not rel.endswith(".py") or rel in tests or py_is_test_path(rel):
            continue
        base = rel.rsplit("/", 1)[-1]
        if base in ("setup.py", "noxfile.py", "conftest.py") or rel.startswith(("docs/", "doc/", "examples/")):
            continue
        try:
            src = read(root, rel)
        except (OSError, UnicodeDecodeError):
            continue
        tree = safe_parse(src, rel)
        if tree is None:
            continue
        seen_q = set()
        for qual, fn, cls in py_functions(tree):
            symbol = qual if qual not in seen_q else "%s@%d" % (qual, fn.lineno)
            seen_q.add(qual)
            stmts = body_stmts(fn)
            if trivial_body(stmts) or stmts[0].lineno == fn.lineno:
                continue
            decos = deco_names(fn)
            if "abstractmethod" in decos or "overload" in decos:
                continue
            branches = len(py_branch_variants(src, fn))
            blocks = len(py_block_windows(fn, src))
            is_cov = (rel, first_line(fn), fn.name) in covered or (rel, fn.lineno, fn.name) in covered
            ref = fn.name in refs or (fn.name.startswith("__") and cls is not None and cls in refs)
            out.append({"file": rel, "symbol": symbol, "line": fn.lineno, "covered": is_cov, "referenced": ref,
                        "strategies": {"body": True, "branch": branches, "block": blocks},
                        "size": fn.end_lineno - fn.lineno + 1})
    return {"targets": out, "coverage": have_cov}


# ----------------------------------------------------------- python edits

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


# ------------------------------------------------ javascript coverage

def load_v8_coverage(cov_dir, root):
    covered = set()
    found = False
    if not cov_dir or not os.path.isdir(cov_dir):
        return covered, found
    prefix = "file://" + os.path.abspath(root) + "/"
    for f in os.listdir(cov_dir):
        if not f.endswith(".json"):
            continue
        try:
            with open(os.path.join(cov_dir, f)) as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue
        found = True
        for script in data.get("result", []):
            url = script.get("url", "")
            if not url.startswith(prefix):
                continue
            rel = url[len(prefix):]
            for fn in script.get("functions", []):
                rs = fn.get("ranges") or []
                if rs and rs[0].get("count", 0) > 0:
                    name = fn.get("functionName") or ""
                    name = re.sub(r"^(get|set) ", "", name).split(".")[-1]
                    covered.add((rel, name))
    return covered, found


# ------------------------------------------------------------- weakening

def py_id_parts(test_id, test_files):
    """(file, [class names], function name) for a pytest node id or a dotted unittest id."""
    if "::" in test_id:
        parts = test_id.split("::")
        func = re.sub(r"\[.*$", "", parts[-1])
        return parts[0], parts[1:-1], func
    dotted = re.sub(r"\[.*$", "", test_id).split(".")
    for k in range(len(dotted) - 1, 0, -1):
        suffix = "/".join(dotted[:k]) + ".py"
        for f in test_files:
            if f == suffix or f.endswith("/" + suffix):
                return f, dotted[k:-1], dotted[-1]
    return None, [], dotted[-1]


def py_find_test(trees, rel, classes, func):
    """The function node to delete (decorators included), searching base classes too."""
    tree = trees.get(rel)
    if tree is None:
        return None, None
    if not classes:
        for n in tree.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func:
                return rel, n
        return None, None
    body = tree.body
    cls = None
    for name in classes:
        cls = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == name), None)
        if cls is None:
            return None, None
        body = cls.body
    seen = set()

    def in_class(f, c):
        if (f, c.name) in seen:
            return None, None
        seen.add((f, c.name))
        for n in c.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == func:
                return f, n
        for b in c.bases:
            bname = b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else None
            if not bname:
                continue
            for f2 in [f] + [x for x in trees if x != f]:
                t2 = trees[f2]
                for n in t2.body:
                    if isinstance(n, ast.ClassDef) and n.name == bname:
                        r = in_class(f2, n)
                        if r[1] is not None:
                            return r
        return None, None
    return in_class(rel, cls)


def delete_py_nodes(src, nodes, tree, used_bases=frozenset()):
    """Deletes test functions (with decorators and attached comments). A test class whose
    tests all go is deleted whole unless another class derives from it; a class body
    left empty gets pass."""
    lines = src.splitlines(keepends=True)
    doomed = {id(n) for n in nodes}
    todo = list(nodes)
    classes = [c for c in ast.walk(tree) if isinstance(c, ast.ClassDef)]
    emptied = []
    for c in classes:
        tests = [x for x in c.body if isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef)) and x.name.startswith("test")]
        if not tests or not all(id(x) in doomed for x in tests):
            continue
        if c.name not in used_bases:
            todo.append(c)
            doomed.add(id(c))
        elif all(id(x) in doomed for x in c.body):
            emptied.append(c)
    spans = []
    for c in emptied:
        ind = lines[c.body[0].lineno - 1][: len(lines[c.body[0].lineno - 1]) - len(lines[c.body[0].lineno - 1].lstrip(" \t"))]
        spans.append((min(first_line(x) for x in c.body), c.body[-1].end_lineno, [ind + "pass\n"]))
    for n in todo:
        a, b = first_line(n), n.end_lineno
        while a > 1 and lines[a - 2].strip().startswith("#") and lines[a - 2].strip() != "#":
            a -= 1
        # also take the blank lines that follow, when a blank line precedes
        if a > 1 and (lines[a - 2].strip() == "" or lines[a - 2].rstrip().endswith(":")):
            while b < len(lines) and lines[b].strip() == "":
                b += 1
        spans.append((a, b, []))
    # outer spans swallow the ones inside them
    spans.sort(key=lambda r: (r[0], -r[1]))
    kept = []
    for sp in spans:
        if kept and sp[0] >= kept[-1][0] and sp[1] <= kept[-1][1]:
            continue
        kept.append(sp)
    for a, b, new in sorted(kept, key=lambda r: r[0], reverse=True):
        lines[a - 1:b] = new
    text = "".join(lines)
    return text.rstrip("\n") + "\n" if text.strip() else text


def weaken_py(req):
    root = req["root"]
    test_files = req["testFiles"]
    trees, sources = {}, {}
    for f in test_files:
        try:
            sources[f] = read(root, f)
        except (OSError, UnicodeDecodeError):
            continue
        t = safe_parse(sources[f], f)
        if t is not None:
            trees[f] = t
    doomed = {}
    removed, missing = [], []
    for tid in req["ids"]:
        rel, classes, func = py_id_parts(tid, test_files)
        if rel is None or not func:
            missing.append(tid)
            continue
        f, node = py_find_test(trees, rel, classes, func)
        if node is None:
            missing.append(tid)
            continue
        doomed.setdefault(f, {})[id(node)] = node
        removed.append(tid)
    used_bases = set()
    for t in trees.values():
        for c in ast.walk(t):
            if isinstance(c, ast.ClassDef):
                for b in c.bases:
                    used_bases.add(b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "")
    changed = []
    for f, nodes in doomed.items():
        new = delete_py_nodes(sources[f], list(nodes.values()), trees[f], used_bases)
        if safe_parse(new, f) is None:
            return {"ok": False, "reason": "weakened %s does not parse" % f}
        write(root, f, new)
        changed.append(f)
    return {"ok": not missing, "removed": removed, "missing": missing, "files": sorted(changed),
            "reason": ("tests not found in the test files: " + ", ".join(missing[:5])) if missing else None}


JS_CALLEES = {"test", "it", "describe", "suite", "specify", "context"}


def js_info(req):
    root = req["root"]
    tests = set(req.get("testFiles") or [])
    covered, have_cov = load_v8_coverage(req.get("covDir"), root)
    sources = [f for f in walk(root) if f.endswith(JS_TS_EXT) and not f.endswith(".d.ts") and f not in tests
               and not JS_TEST_FILE.search(f) and not js_is_test_path(f) and f.split("/")[0] not in ("test", "tests", "__tests__", "spec", "bench", "benchmark", "examples", "scripts", "docs")
               and not re.search(r"(^|/)[\w.-]+\.config\.[cm]?[jt]s$", f) and not f.startswith("eslint")
               # hidden files are tooling, not the library (yarn's Plug'n'Play loader .pnp.cjs, .pnp.loader.mjs)
               and not f.rsplit("/", 1)[-1].startswith(".")]
    return {"covered": sorted([list(x) for x in covered]), "coverage": have_cov, "sources": sources}


def main():
    cmd = sys.argv[1]
    req = json.loads(sys.stdin.read() or "{}")
    try:
        if cmd == "detect":
            out = detect(req)
        elif cmd == "targets":
            if req["language"] != "python":
                raise ValueError("JavaScript targets are made on the host with @babel/parser (js/sandbox.ts)")
            out = py_targets(req)
        elif cmd == "mutate":
            rng = random.Random(req.get("seed", 0))
            if req["language"] != "python":
                raise ValueError("JavaScript is mutated on the host with @babel/parser (js/ast.ts)")
            out = mutate_py(req["root"], req["file"], req["symbol"], req.get("line", 0), req["strategy"], rng)
        elif cmd == "jsinfo":
            out = js_info(req)
        elif cmd == "weaken":
            if req["language"] != "python":
                raise ValueError("JavaScript tests are deleted on the host with @babel/parser (js/ast.ts)")
            out = weaken_py(req)
        else:
            out = {"ok": False, "reason": "unknown command " + cmd}
    except Exception as e:  # reported, never a crash without JSON
        import traceback
        out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e), "trace": traceback.format_exc()[-3000:]}
    sys.stdout.write(json.dumps(out))


if __name__ == "__main__":
    main()

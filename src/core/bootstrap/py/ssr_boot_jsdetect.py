"""JavaScript tests in a repository: node:test files, and the runner (jest, vitest, mocha) package.json declares."""
import json
import os
import re
import shutil
import subprocess
from ssr_boot_files import JS_EXT, read

JS_TEST_NAME = re.compile(r"(^|/)(test|tests|__tests__)/|(\.|_|-)(test|spec)\.(c|m)?js$|(^|/)test-[^/]*\.(c|m)?js$|(^|/)test\.(c|m)?js$")
NODE_TEST_IMPORT = re.compile(r"""require\(\s*['"](node:)?test['"]\s*\)|from\s+['"](node:)?test['"]|import\(\s*['"](node:)?test['"]\s*\)""")


def js_is_test_path(rel):
    return rel.endswith(JS_EXT) and bool(JS_TEST_NAME.search(rel))


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

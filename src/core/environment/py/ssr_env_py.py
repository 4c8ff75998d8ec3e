"""SSR environment recipe for Python repositories, run inside the build container.

Reads the repository's dependency manifests (pyproject.toml, setup.py,
setup.cfg, requirements*.txt) from the current folder and installs each
requirement from Debian (python3-NAME) when the archive has it, else with pip
when pip is present and reaches an index. Prints what it did; exits non-zero
naming the requirements it could not install (runtime requirements only: the
optional and development ones are reported and skipped).

Usage: python3 ssr_env_py.py [--plan]   (--plan prints the JSON plan only)
"""
import ast
import configparser
import glob
import json
import os
import re
import subprocess
import sys

NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
# Packages the base image already has or that are never needed at test time.
SKIP = {"pip", "setuptools", "wheel", "pytest", "python"}
TEST_HINTS = ("test",)
OTHER_HINTS = ("dev", "ci", "lint", "doc")


def is_test_group(name):
    return any(h in name.lower() for h in TEST_HINTS)


def req_name(spec):
    spec = spec.split(";", 1)[0].strip()
    if not spec or spec.startswith(("-", "#", "git+", "http:", "https:", "file:", ".")):
        return None
    m = NAME.match(spec)
    return m.group(1) if m else None


def normalise(name):
    return re.sub(r"[._]+", "-", name).lower()


def from_pyproject(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        return [], []
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    project = data.get("project") or {}
    runtime = list(project.get("dependencies") or [])
    extra, other = [], []
    for key, deps in (project.get("optional-dependencies") or {}).items():
        (extra if is_test_group(key) else other).extend(deps)
    for key, deps in (data.get("dependency-groups") or {}).items():
        (extra if is_test_group(key) else other).extend(d for d in deps if isinstance(d, str))
    poetry = ((data.get("tool") or {}).get("poetry") or {})
    for name in (poetry.get("dependencies") or {}):
        runtime.append(name)
    return runtime, extra, other


def literal_list(node, keep=lambda key: True):
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, dict):
        return [v for k, vs in value.items() if keep(str(k)) for v in (vs if isinstance(vs, (list, tuple)) else [vs]) if isinstance(v, str)]
    return []


def from_setup_py(path):
    """install_requires / extras_require given as literals or as module-level names."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), path)
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node.value
    runtime, extra, other = [], [], []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "setup":
            for kw in node.keywords:
                value = kw.value
                if isinstance(value, ast.Name) and value.id in names:
                    value = names[value.id]
                if kw.arg == "install_requires":
                    runtime.extend(literal_list(value))
                elif kw.arg == "tests_require":
                    extra.extend(literal_list(value))
                elif kw.arg == "extras_require":
                    extra.extend(literal_list(value, is_test_group))
                    other.extend(literal_list(value, lambda k: not is_test_group(k)))
    return runtime, extra, other


def from_setup_cfg(path):
    cp = configparser.ConfigParser()
    cp.read(path)
    runtime = cp.get("options", "install_requires", fallback="").splitlines()
    extra, other = [], []
    if cp.has_section("options.extras_require"):
        for key, value in cp.items("options.extras_require"):
            (extra if is_test_group(key) else other).extend(value.splitlines())
    return runtime, extra, other


def from_requirements(path, seen=None):
    seen = seen or set()
    if path in seen or not os.path.exists(path):
        return []
    seen.add(path)
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.split(" #", 1)[0].strip()
            if line.startswith(("-r ", "--requirement ")):
                out.extend(from_requirements(os.path.join(os.path.dirname(path), line.split(None, 1)[1]), seen))
            else:
                out.append(line)
    return out


def plan():
    runtime, extra, other = [], [], []
    sources = []
    if os.path.exists("pyproject.toml"):
        r, e, o = from_pyproject("pyproject.toml")
        runtime += r
        extra += e
        other += o
        sources.append("pyproject.toml")
    if os.path.exists("setup.py"):
        try:
            r, e, o = from_setup_py("setup.py")
        except (SyntaxError, UnicodeDecodeError):
            r, e, o = [], [], []
        runtime += r
        extra += e
        other += o
        sources.append("setup.py")
    if os.path.exists("setup.cfg"):
        r, e, o = from_setup_cfg("setup.cfg")
        runtime += r
        extra += e
        other += o
        sources.append("setup.cfg")
    for path in sorted(glob.glob("requirements*.txt") + glob.glob("*requirements*.txt") + glob.glob("requirements/*.txt")):
        if path in sources:
            continue
        reqs = from_requirements(path)
        base = os.path.basename(path).lower()
        if is_test_group(base):
            extra.extend(reqs)
        elif any(h in base for h in OTHER_HINTS):
            other.extend(reqs)
        else:
            runtime.extend(reqs)
        sources.append(path)

    def names(specs):
        out = []
        for spec in specs:
            n = req_name(spec)
            if n and normalise(n) not in SKIP and normalise(n) not in out:
                out.append(normalise(n))
        return out

    rt = names(runtime)
    ex = [n for n in names(extra) if n not in rt]
    ot = [n for n in names(other) if n not in rt and n not in ex]
    return {"sources": sources, "runtime": rt, "extra": ex, "other": ot}


def apt_has(pkg):
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", pkg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def debian_name(name):
    for cand in ("python3-" + name, "python3-" + name.replace("python-", "", 1)):
        if apt_has(cand):
            return cand
    return None


def main():
    p = plan()
    if "--plan" in sys.argv:
        print(json.dumps(p))
        return 0
    print("ssr-env: Python requirements from %s" % (", ".join(p["sources"]) or "nothing"))
    print("ssr-env: runtime: %s" % (" ".join(p["runtime"]) or "none"))
    print("ssr-env: for the tests: %s" % (" ".join(p["extra"]) or "none"))
    print("ssr-env: not installed (development tools, other extras): %s" % (" ".join(p["other"]) or "none"))
    if not p["runtime"] and not p["extra"]:
        return 0
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    apt, rest_rt, rest_ex = [], [], []
    for name in p["runtime"] + p["extra"]:
        deb = debian_name(name)
        if deb:
            apt.append(deb)
        elif name in p["runtime"]:
            rest_rt.append(name)
        else:
            rest_ex.append(name)
    if apt:
        print("ssr-env: from Debian: %s" % " ".join(apt))
        # One package at a time for the optional ones would be slow; install the lot, then retry one by one on failure.
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + apt)
        if r.returncode != 0:
            for deb in apt:
                subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", deb])
    missing = []
    for names_, required in ((rest_rt, True), (rest_ex, False)):
        for name in names_:
            ok = False
            if subprocess.run([sys.executable, "-m", "pip", "--version"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0:
                ok = subprocess.run([sys.executable, "-m", "pip", "install", "--break-system-packages", name]).returncode == 0
            if not ok:
                print("ssr-env: %s requirement %s: not in Debian and not installable with pip" % ("runtime" if required else "test", name))
                if required:
                    missing.append(name)
    if missing:
        print("ssr-env: cannot install the runtime requirement(s): %s" % " ".join(missing))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

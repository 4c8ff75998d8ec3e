"""`jsinfo`: the JavaScript/TypeScript source files and which of their functions V8 coverage saw run."""
import json
import os
import re
from ssr_boot_files import JS_TS_EXT, walk
from ssr_boot_jsdetect import JS_TEST_FILE, js_is_test_path


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

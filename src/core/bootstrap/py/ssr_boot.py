# SSR bootstrap helper. Usage: python3 ssr_boot.py COMMAND < request.json
# Commands: detect, targets, mutate, weaken (Python); jsinfo (JavaScript/TypeScript files and
# their V8 coverage: JS mutation and test deletion run on the host with @babel/parser).
# Answers one JSON object on stdout. Its modules (ssr_boot_*.py) lie beside it in one
# root-owned folder, which goes first on sys.path (`python3 -I` would leave it off).
import json, os, random, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # the sandbox keeps no __pycache__ of the helper

from ssr_boot_detect import detect  # noqa: E402
from ssr_boot_jsinfo import js_info  # noqa: E402
from ssr_boot_mutate import mutate_py  # noqa: E402
from ssr_boot_targets import py_targets  # noqa: E402
from ssr_boot_weaken import weaken_py  # noqa: E402


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

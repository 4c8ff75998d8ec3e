"""SSR's runner (src/core/sandbox/py/runner/) for the host-side tests, loaded the
way a container loads it: boot.py's load() on the modules' sources, in the
order runnerSource.ts passes them. Returns one namespace with every module's
names (the runner as one object, as the tests read it)."""
import importlib.util
import pathlib
import types

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNNER_DIR = ROOT / "src/core/sandbox/py/runner"
ORDER = ["ssr_common", "ssr_users", "ssr_reporters", "ssr_testrun", "ssr_ops", "runner"]


def load_runner():
    spec = importlib.util.spec_from_file_location("ssr_runner_boot", RUNNER_DIR / "boot.py")
    boot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boot)
    args = []
    for name in ORDER:
        args += [name, (RUNNER_DIR / (name + ".py")).read_text()]
    boot.load(args)
    import sys

    ns = types.SimpleNamespace()
    for name in ORDER:
        ns.__dict__.update({k: v for k, v in vars(sys.modules[name]).items() if not k.startswith("__")})
    return ns

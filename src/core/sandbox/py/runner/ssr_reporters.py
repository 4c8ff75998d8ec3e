# SSR's runner: the judge's reporters (the pytest plugin, the Node preload),
# their channel (a pipe only the runner reads) and the fold of their records.
import json, os, re
from ssr_common import REPORTER_CAP, REPORTER_DIR, REPORTER_FD_VAR, start_thread


def write_reporter(spec, ext):
    """Writes one of the judge's reporters (spec: {module, source}) as
    MODULE.EXT into a folder only root can write; the test user can read and
    load it. Returns its module name and path."""
    module = spec.get("module") or ""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", module):
        raise ValueError("bad reporter module name: %r" % module)
    os.makedirs(REPORTER_DIR, exist_ok=True)
    os.chown(REPORTER_DIR, 0, 0)
    os.chmod(REPORTER_DIR, 0o755)
    path = os.path.join(REPORTER_DIR, module + ext)
    with open(path + ".tmp", "w") as fh:
        fh.write(spec["source"])
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)
    return module, path


def install_reporter(spec):
    """The pytest plugin: imported by its module name."""
    return write_reporter(spec, ".py")[0]


def reporter_env(env, module, fd):
    """The test user's environment with the reporter loaded by any pytest the
    script starts: -p in PYTEST_ADDOPTS (before entry-point plugins and
    conftest.py), PYTEST_PLUGINS too, its folder first on PYTHONPATH."""
    def join(ours, theirs, sep):
        return ours + (sep + theirs if theirs else "")
    env = dict(env)
    env["PYTHONPATH"] = join(REPORTER_DIR, env.get("PYTHONPATH"), ":")
    env["PYTEST_PLUGINS"] = join(module, env.get("PYTEST_PLUGINS"), ",")
    env["PYTEST_ADDOPTS"] = join("-p " + module, env.get("PYTEST_ADDOPTS"), " ")
    env[REPORTER_FD_VAR] = str(fd)
    return env


def install_node_reporter(spec):
    """The Node reporter (spec: {runner: "node", module, source}), beside the
    pytest plugin as MODULE.cjs: preloaded by its path."""
    return write_reporter(spec, ".cjs")[1]


def node_reporter_env(env, path, fd):
    """The test user's environment with the Node reporter preloaded into every
    node process the script starts: first in NODE_OPTIONS, before the
    environment's own preloads and before any repository code."""
    env = dict(env)
    theirs = env.get("NODE_OPTIONS")
    env["NODE_OPTIONS"] = "--require=" + path + (" " + theirs if theirs else "")
    env[REPORTER_FD_VAR] = str(fd)
    # The reporter writes only to this pipe: a child that did not inherit the
    # descriptor may hold another file under its number.
    env["SSR_REPORTER_INO"] = str(os.fstat(fd).st_ino)
    return env


def reporters_env(env, specs, fd):
    """The environment with every reporter the request names (one spec or a
    list of them: {runner, module, source}; runner "pytest" when absent), all
    writing to the channel's descriptor fd."""
    for spec in specs if isinstance(specs, list) else [specs]:
        runner = spec.get("runner") or "pytest"
        if runner == "pytest":
            env = reporter_env(env, install_reporter(spec), fd)
        elif runner == "node":
            env = node_reporter_env(env, install_node_reporter(spec), fd)
        else:
            raise ValueError("unknown reporter runner: %r" % runner)
    return env


class Channel:
    """The reporter's pipe: created by root, its write end passed to the test
    script as an open descriptor (nothing can open it by path), its read end
    drained on a thread into a capped buffer."""

    def __init__(self):
        self.read_fd, self.write_fd = os.pipe()
        self.data = bytearray()
        self.truncated = False
        self.thread = None

    def start(self):
        os.close(self.write_fd)
        self.thread = start_thread(self._drain)

    def _drain(self):
        with os.fdopen(self.read_fd, "rb") as fh:
            while True:
                chunk = fh.read1(65536)
                if not chunk:
                    break
                room = REPORTER_CAP - len(self.data)
                self.data += chunk[:max(0, room)]
                self.truncated = self.truncated or len(chunk) > room

    def finish(self):
        self.thread.join(timeout=5.0)
        if self.thread.is_alive():
            return None
        return reporter_summary(bytes(self.data), self.truncated)


def test_status(phases):
    """A test's status from its phases, as the parser reads pytest's summary:
    failed when a phase failed; left out when skipped or an expected failure
    (or an unexpected pass); passed only when its call phase passed."""
    outcomes = set(phases.values())
    if "failed" in outcomes:
        return "failed"
    if outcomes & {"skipped", "xfailed", "xpassed"}:
        return None
    return "passed" if phases.get("call") == "passed" else None


def reporter_summary(data, truncated=False):
    """The reporter's records folded into {tests, collectErrors, plugins,
    identityChanged, complete, sessions}; None when no pytest loaded it."""
    loads, ends, phases, collect, plugins, changed, bad = {}, {}, {}, [], {}, [], 0
    for line in data.splitlines():
        try:
            rec = json.loads(line)
            t, pid = rec["t"], rec["pid"]
        except Exception:
            bad += 1
            continue
        if t == "load":
            loads.setdefault(pid, rec.get("ident") or {})
        elif t == "end":
            ends.setdefault(pid, []).append(rec.get("ident") or {})
        elif t == "phase":
            seen = phases.setdefault(str(rec.get("id")), {})
            when = str(rec.get("when"))
            if seen.get(when) != "failed":  # a failure is never written over
                seen[when] = str(rec.get("outcome"))
        elif t == "collect":
            collect.append(str(rec.get("id")))
        if t in ("start", "end"):
            for p in rec.get("plugins") or []:
                plugins.setdefault(str(p.get("key")), p.get("file"))
    if not loads:
        return None
    for pid, ident in loads.items():
        for after in ends.get(pid, []):  # every end record: one written later cannot hide a change
            changed += ["%s (%s -> %s)" % (k, v, after.get(k)) for k, v in sorted(ident.items()) if after.get(k) != v]
    changed = sorted(set(changed))
    tests = {}
    for tid, ph in phases.items():
        status = test_status(ph)
        if status:
            tests[tid] = status
    return {"tests": tests, "collectErrors": sorted(set(collect)), "identityChanged": changed,
            "plugins": [{"key": k, "file": f} for k, f in sorted(plugins.items())],
            "complete": not truncated and bad == 0 and set(loads) <= set(ends), "sessions": len(loads)}

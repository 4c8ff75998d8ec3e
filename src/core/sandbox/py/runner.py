# SSR in-container command runner.
#
# Started as the container's main process with stdin attached. Reads one JSON
# request per line on stdin and answers one JSON line per request on stdout.
# Requests run concurrently. When stdin closes (the host process went away),
# every running command's process group is killed and the runner exits, so
# the container stops and is auto-removed.
#
# ops: exec {cmd, cwd, env, timeout, cap, stdin, user, own}, write {path, data, mode},
#      read {path, cap}, kill {target},
#      testrun {script, parser, cwd, timeout, parserTimeout, cap, tail, env, reporter}
#
# The judge's side of a sandbox (this runner, the artifact's script and parser,
# SSR's baseline git directory, logs) belongs to root and is out of the tested
# code's reach: test scripts run as the unprivileged user "ssrtest", the parser
# as another unprivileged user "ssrparse" in an empty folder, and when a test
# run ends every process of the test user is killed before its log, which
# only this runner can write, is parsed. The model's own tools (the agents'
# bash, edit and create) run as the test user too, in a working copy handed
# over to it. See docs/judging.md.
import base64, json, os, pwd, re, secrets, shutil, signal, subprocess, sys, threading, time

TEST_UID = 61001
PARSER_UID = 61002
USERS = {"test": ("ssrtest", TEST_UID), "parser": ("ssrparse", PARSER_UID)}
TEST_HOME = "/home/ssrtest"
SSR_DIR = "/ssr"
SSR_TMP = "/ssr/tmp"
PARSE_CWD = "/ssr/parse"
# What the test user may write besides the repository: emptied before every test run.
SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_CAP = 256 << 20
# The judge's own reporter (a pytest plugin) lives here: root's, readable by all.
REPORTER_DIR = "/ssr/reporter"
REPORTER_CAP = 64 << 20
REPORTER_FD_VAR = "SSR_REPORTER_FD"

_out = sys.stdout.buffer
_out_lock = threading.Lock()
_procs = {}
_procs_lock = threading.Lock()


def send(obj):
    data = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
    with _out_lock:
        _out.write(data)
        _out.flush()


class Capped:
    """Keeps the head and tail of a stream, counting everything."""

    def __init__(self, cap):
        self.half = max(1, cap // 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk):
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def result(self):
        return base64.b64encode(bytes(self.head)).decode(), base64.b64encode(bytes(self.tail)).decode(), self.total


def pump(stream, capped):
    try:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            if not chunk:
                break
            capped.add(chunk)
    except Exception:
        pass


def killgroup(proc):
    # A fork bomb keeps adding members while the group is being killed:
    # repeat until the group is empty (or give up after about 3 s).
    for _ in range(300):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        # Reap the leader once it is dead: an unreaped zombie keeps the group
        # "alive" for killpg. The other members are reaped by the container's init.
        try:
            proc.poll()
        except Exception:
            pass
        except Exception:
            try:
                proc.kill()
            except Exception:
                pass
            return
        time.sleep(0.01)


def start_thread(target, args=()):
    # Thread creation fails while the process limit is exhausted: retry.
    for attempt in range(40):
        try:
            t = threading.Thread(target=target, args=args, daemon=True)
            t.start()
            return t
        except RuntimeError:
            if attempt == 39:
                raise
            time.sleep(0.25)


def user_env(name, uid, home, extra, inherit=False):
    """The environment of a process of one of SSR's users. The test user keeps
    the image's environment (an environment image's PATH, PYTHONPATH,
    JAVA_HOME... which its tests need); the parser gets a minimal one."""
    env = dict(os.environ) if inherit else {}
    env.update({"PATH": os.environ.get("PATH", PATH), "LANG": os.environ.get("LANG", "C.UTF-8"),
                "HOME": home, "USER": name, "LOGNAME": name, "TMPDIR": "/tmp",
                "PYTHONDONTWRITEBYTECODE": "1", "GIT_TERMINAL_PROMPT": "0"})
    env.update(extra or {})
    return env


def as_user(who):
    """Popen keyword arguments that drop to one of SSR's unprivileged users."""
    if who in (None, "root"):
        return {}
    _, uid = USERS[who]

    def pre():
        # The tested code is the first thing the kernel's OOM killer takes.
        try:
            with open("/proc/self/oom_score_adj", "w") as fh:
                fh.write("1000")
        except OSError:
            pass

    return {"user": uid, "group": uid, "extra_groups": [], "umask": 0o022, "preexec_fn": pre}


def popen_retry(argv, **kw):
    # A fork bomb or a runaway suite can exhaust the pids limit for a while:
    # retry the fork for a few seconds before giving up.
    for attempt in range(40):
        try:
            return subprocess.Popen(argv, **kw)
        except BlockingIOError:
            if attempt == 39:
                raise
            time.sleep(0.25)


def uid_pids(uid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            out.append(int(d))
                        break
        except (OSError, ValueError, IndexError):
            pass
    return out


def kill_user(uid, budget=5.0):
    """Kills every process of a user, also those that left their process group
    (double fork, setsid). Returns True when none is left."""
    deadline = time.monotonic() + budget
    while True:
        pids = uid_pids(uid)
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        # kill(-1) from a process of that user reaches all of the user's
        # processes in one sweep (a fork bomb cannot outrun it for long);
        # root then signals whatever is left, one by one.
        try:
            subprocess.run(["kill", "-9", "-1"], user=uid, group=uid, extra_groups=[],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=2)
        except Exception:
            pass
        for pid in uid_pids(uid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def do_exec(rid, req):
    start = time.monotonic()
    who = req.get("user")
    if who in (None, "root"):
        env = dict(os.environ)
        env.update(req.get("env") or {})
    else:
        name, uid = USERS[who]
        env = user_env(name, uid, TEST_HOME if who == "test" else "/nonexistent", req.get("env"), inherit=who == "test")
        if req.get("own"):
            hand_over(req["own"], uid)
    stdin_data = base64.b64decode(req["stdin"]) if req.get("stdin") is not None else None
    cap = int(req.get("cap") or (1 << 20))
    proc = popen_retry(
        ["bash", "-c", req["cmd"]],
        cwd=req.get("cwd") or None,
        env=env,
        stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **as_user(who)
    )
    with _procs_lock:
        _procs[rid] = proc
    out, err = Capped(cap), Capped(cap)
    readers = [start_thread(pump, (proc.stdout, out)), start_thread(pump, (proc.stderr, err))]
    if stdin_data is not None:
        def feed():
            try:
                proc.stdin.write(stdin_data)
            except Exception:
                pass
            try:
                proc.stdin.close()
            except Exception:
                pass
        start_thread(feed)
    timed_out = False
    timeout = req.get("timeout")
    try:
        proc.wait(timeout=timeout / 1000.0 if timeout else None)
    except subprocess.TimeoutExpired:
        timed_out = True
        killgroup(proc)
        proc.wait()
    # What the command left running in the background dies with it, unless
    # the caller asked to keep it (an agent starting a server, say).
    if not req.get("keepBackground"):
        killgroup(proc)
        if who not in (None, "root"):
            kill_user(USERS[who][1])
    # Children that left the group may still hold the pipes open: kill the
    # group (it may have survived the leader) and stop waiting after a grace.
    for t in readers:
        t.join(timeout=2.0)
        if t.is_alive():
            killgroup(proc)
            t.join(timeout=1.0)
    with _procs_lock:
        _procs.pop(rid, None)
    code = proc.returncode
    oh, ot, on = out.result()
    eh, et, en = err.result()
    send({"id": rid, "code": code if code is not None and code >= 0 else None,
          "signal": -code if code is not None and code < 0 else None,
          "timedOut": timed_out, "outHead": oh, "outTail": ot, "outTotal": on,
          "errHead": eh, "errTail": et, "errTotal": en,
          "ms": (time.monotonic() - start) * 1000.0})


def wipe(path):
    """Empties a folder the test user can write, keeping the folder itself."""
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = os.path.join(path, n)
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)
        except OSError:
            pass


def prepare_test_user(repo):
    """A clean slate for a test run: no process of the test user, empty
    scratch folders and home, and the working copy owned by the test user."""
    kill_user(TEST_UID)
    for d in SCRATCH:
        wipe(d)
    shutil.rmtree(TEST_HOME, ignore_errors=True)
    os.makedirs(TEST_HOME, mode=0o700, exist_ok=True)
    os.chown(TEST_HOME, TEST_UID, TEST_UID)
    hand_over(repo, TEST_UID)


def hand_over(repo, uid):
    """The working copy belongs to the user who works in it (the test user,
    for a test run or an agent's tools): files SSR's git operations
    (re)wrote, and an image's repository owned by someone else, are handed
    over. Links are not followed (find does not, chown -h changes the link)."""
    real = os.path.realpath(repo)
    if not os.path.isabs(repo) or real == "/" or real == SSR_DIR or real.startswith(SSR_DIR + "/"):
        raise ValueError("not a working copy: %r" % repo)
    subprocess.run(["find", repo, "!", "-user", str(uid), "-exec", "chown", "-h", "%d:%d" % (uid, uid), "{}", "+"],
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def protect(repo, paths):
    """Makes files read-only to the test user for one run: owned by root,
    readable by all, and so are the folders that hold them (up to, not
    including, the repository's root), so they cannot be replaced either.
    Owner, mode and modification time are the same for every protected file,
    so nothing on disk tells the oracle test files from the others."""
    root = os.path.realpath(repo)
    dirs = set()
    # One modification time for every protected file, drawn anew for each run: the oracle test files,
    # rewritten just before the run, then look like the others, and no compiled file made in advance
    # can carry a source time that matches.
    stamp = time.time() - secrets.randbelow(365 * 86400) - 3600
    for rel in paths:
        full = os.path.realpath(os.path.join(root, rel))
        if not full.startswith(root + os.sep) or not os.path.isfile(full):
            continue
        os.chown(full, 0, 0)
        os.chmod(full, (os.stat(full).st_mode & 0o7555) | 0o444)
        os.utime(full, (stamp, stamp))
        d = os.path.dirname(full)
        while d.startswith(root + os.sep):
            dirs.add(d)
            d = os.path.dirname(d)
    for d in dirs:
        os.chown(d, 0, 0)
        os.chmod(d, (os.stat(d).st_mode & 0o7555) | 0o555)

def install_reporter(spec):
    """Writes the judge's reporter plugin (spec: {module, source}) into a
    folder only root can write; the test user can read and import it."""
    module = spec.get("module") or ""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", module):
        raise ValueError("bad reporter module name: %r" % module)
    os.makedirs(REPORTER_DIR, exist_ok=True)
    os.chown(REPORTER_DIR, 0, 0)
    os.chmod(REPORTER_DIR, 0o755)
    path = os.path.join(REPORTER_DIR, module + ".py")
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(spec["source"])
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return module


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
    """Writes the judge's Node reporter (spec: {runner: "node", module, source})
    as MODULE.cjs beside the pytest plugin, root's; returns its path."""
    module = spec.get("module") or ""
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", module):
        raise ValueError("bad reporter module name: %r" % module)
    os.makedirs(REPORTER_DIR, exist_ok=True)
    os.chown(REPORTER_DIR, 0, 0)
    os.chmod(REPORTER_DIR, 0o755)
    path = os.path.join(REPORTER_DIR, module + ".cjs")
    with open(path + ".tmp", "w") as fh:
        fh.write(spec["source"])
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)
    return path


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



def start_script(req, repo):
    """The test script as the test user, its stdout and stderr one pipe; with
    the judge's reporter and its channel when the request asks for it."""
    env = user_env("ssrtest", TEST_UID, TEST_HOME, req.get("env"), inherit=True)
    channel = None
    if req.get("reporter"):
        channel = Channel()
        env = reporters_env(env, req["reporter"], channel.write_fd)
    try:
        proc = popen_retry(
            ["bash", req["script"]],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(channel.write_fd,) if channel else (),
            **as_user("test")
        )
    finally:
        # The runner keeps no write end: the channel ends when the test user's processes do.
        if channel:
            channel.start()
    return proc, channel


def do_testrun(rid, req):
    """One judged test run: the script as the test user with its output going
    through a pipe into a log only this runner can write; then every process
    of the test user is killed; then the parser, as the parser user in an
    empty folder, reads the finished log on stdin."""
    start = time.monotonic()
    repo = req["cwd"]
    timeout = req.get("timeout")
    prepare_test_user(repo)
    protect(repo, req.get("protect") or [])
    log_path = os.path.join(SSR_TMP, "log-%s-%d" % (rid, os.getpid()))
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    log = os.fdopen(fd, "wb")
    total = [0]
    proc, channel = start_script(req, repo)
    with _procs_lock:
        _procs[rid] = proc

    def copy():
        try:
            while True:
                chunk = proc.stdout.read1(65536)
                if not chunk:
                    break
                if total[0] < LOG_CAP:
                    log.write(chunk[: LOG_CAP - total[0]])
                total[0] += len(chunk)
        except Exception:
            pass

    reader = start_thread(copy)
    timed_out = False
    try:
        proc.wait(timeout=timeout / 1000.0 if timeout else None)
    except subprocess.TimeoutExpired:
        timed_out = True
    # Nothing the tested code started outlives the run, whatever group or
    # session it moved to: then nobody else holds the pipe.
    killgroup(proc)
    all_dead = kill_user(TEST_UID)
    proc.wait()
    reader.join(timeout=5.0)
    with _procs_lock:
        _procs.pop(rid, None)
    log.close()
    script_code = proc.returncode
    reporter = channel.finish() if channel else None
    if not all_dead or reader.is_alive() or (channel and channel.thread.is_alive()):
        os.unlink(log_path)
        send({"id": rid, "error": "the test user's processes could not all be killed after the test run"})
        return
    with open(log_path, "rb") as fh:
        fh.seek(max(0, min(total[0], LOG_CAP) - int(req.get("tail") or 4000)))
        tail = fh.read()
    parsed = {"code": None, "timedOut": False}
    if not timed_out:
        parsed = run_parser(req, log_path)
    os.unlink(log_path)
    send({"id": rid, "scriptCode": script_code if script_code is not None and script_code >= 0 else None,
          "timedOut": timed_out, "logTotal": total[0], "logTruncated": total[0] > LOG_CAP,
          "logTail": base64.b64encode(tail).decode(), "parser": parsed,
          "reporter": reporter, "ms": (time.monotonic() - start) * 1000.0})


def run_parser(req, log_path):
    """The parser as the parser user, isolated from anything the tested code
    could have prepared: python3 -I (no PYTHON* variables, no user site, no
    script folder or working folder on sys.path), an empty folder owned by
    root as its working folder, a minimal environment."""
    cap = int(req.get("cap") or (8 << 20))
    ptimeout = req.get("parserTimeout") or 60000
    with open(log_path, "rb") as stdin:
        proc = popen_retry(
            ["python3", "-I", req["parser"]],
            cwd=PARSE_CWD,
            env=user_env("ssrparse", PARSER_UID, "/nonexistent", None),
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **as_user("parser")
        )
        out, err = Capped(cap), Capped(16384)
        readers = [start_thread(pump, (proc.stdout, out)), start_thread(pump, (proc.stderr, err))]
        timed_out = False
        try:
            proc.wait(timeout=ptimeout / 1000.0)
        except subprocess.TimeoutExpired:
            timed_out = True
        killgroup(proc)
        kill_user(PARSER_UID)
        proc.wait()
        for t in readers:
            t.join(timeout=2.0)
    oh, ot, on = out.result()
    eh, et, en = err.result()
    code = proc.returncode
    return {"code": code if code is not None and code >= 0 else None, "timedOut": timed_out,
            "outHead": oh, "outTail": ot, "outTotal": on, "errHead": eh, "errTail": et, "errTotal": en}


def do_write(rid, req):
    path = req["path"]
    os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(base64.b64decode(req["data"]))
    if req.get("mode") is not None:
        os.chmod(path, int(req["mode"]))
    send({"id": rid, "ok": True})


def do_read(rid, req):
    cap = int(req.get("cap") or (64 << 20))
    with open(req["path"], "rb") as fh:
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise ValueError("file larger than %d bytes: %s" % (cap, req["path"]))
    send({"id": rid, "data": base64.b64encode(data).decode()})


def do_kill(rid, req):
    with _procs_lock:
        proc = _procs.get(req["target"])
    if proc is not None:
        killgroup(proc)
    send({"id": rid, "ok": proc is not None})


OPS = {"exec": do_exec, "write": do_write, "read": do_read, "kill": do_kill, "testrun": do_testrun}


def ensure_users():
    """Adds SSR's unprivileged users to the image's passwd and group files."""
    for name, uid in USERS.values():
        try:
            pwd.getpwuid(uid)
            continue
        except KeyError:
            pass
        home = TEST_HOME if uid == TEST_UID else "/nonexistent"
        with open("/etc/group", "a") as fh:
            fh.write("%s:x:%d:\n" % (name, uid))
        with open("/etc/passwd", "a") as fh:
            fh.write("%s:x:%d:%d:SSR %s:%s:/usr/sbin/nologin\n" % (name, uid, uid, name, home))


def setup():
    """The judge's folders belong to root: /ssr and what is in it is readable
    (script and parser) or private (tmp: logs, diffs; the baseline git dir)."""
    os.umask(0o077)
    ensure_users()
    for d, mode in ((SSR_DIR, 0o755), (SSR_TMP, 0o700), (PARSE_CWD, 0o755), (SSR_DIR + "/artifact", 0o755)):
        os.makedirs(d, exist_ok=True)
        os.chown(d, 0, 0)
        os.chmod(d, mode)
    os.makedirs("/home", exist_ok=True)
    os.chmod("/home", 0o755)
    os.makedirs(TEST_HOME, mode=0o700, exist_ok=True)
    os.chown(TEST_HOME, TEST_UID, TEST_UID)
    for d in SCRATCH:
        if os.path.isdir(d):
            os.chmod(d, 0o1777)


def handle(req):
    rid = req.get("id")
    try:
        OPS[req.get("op", "exec")](rid, req)
    except Exception as exc:  # answer every request, whatever happens
        send({"id": rid, "error": "%s: %s" % (type(exc).__name__, exc)})


def main():
    try:
        setup()
    except Exception as exc:
        send({"id": 0, "error": "the sandbox could not be prepared: %s: %s" % (type(exc).__name__, exc)})
        return
    send({"id": 0, "ready": True, "pid": os.getpid()})
    for line in sys.stdin.buffer:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except Exception as exc:
            send({"id": None, "error": "bad request: %s" % exc})
            continue
        try:
            start_thread(handle, (req,))
        except RuntimeError:
            send({"id": req.get("id"), "error": "the sandbox cannot start a thread (process limit reached)"})
    with _procs_lock:
        procs = list(_procs.values())
    for proc in procs:
        killgroup(proc)
    os._exit(0)


if __name__ == "__main__":
    main()

# SSR's runner: the requests other than a test run (exec, write, read, kill).
import base64, os, subprocess, time
from ssr_common import Capped, TEST_HOME, USERS, _procs, _procs_lock, killgroup, popen_retry, pump, send, start_thread
from ssr_users import as_user, hand_over, kill_user, user_env
from ssr_testrun import do_testrun


def exec_env(req):
    """The command's environment, and its user's uid (None for root); hands
    the working copy to that user first when the request says so."""
    who = req.get("user")
    if who in (None, "root"):
        env = dict(os.environ)
        env.update(req.get("env") or {})
        return env, None
    name, uid = USERS[who]
    env = user_env(name, uid, TEST_HOME if who == "test" else "/nonexistent", req.get("env"), inherit=who == "test")
    if req.get("own"):
        hand_over(req["own"], uid)
    return env, uid


def feed(proc, data):
    """Writes a command's standard input on a thread, then closes it."""
    def write():
        try:
            proc.stdin.write(data)
        except Exception:
            pass
        try:
            proc.stdin.close()
        except Exception:
            pass
    start_thread(write)


def finish(proc, req, uid, readers):
    """After the command: what it left running dies with it, unless the
    caller asked to keep it (an agent starting a server, say); children that
    left the group may still hold the pipes open: the group is killed again
    (it may have survived the leader) and the readers stop after a grace."""
    if not req.get("keepBackground"):
        killgroup(proc)
        if uid is not None:
            kill_user(uid)
    for t in readers:
        t.join(timeout=2.0)
        if t.is_alive():
            killgroup(proc)
            t.join(timeout=1.0)


def do_exec(rid, req):
    start = time.monotonic()
    env, uid = exec_env(req)
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
        **as_user(req.get("user"))
    )
    with _procs_lock:
        _procs[rid] = proc
    out, err = Capped(cap), Capped(cap)
    readers = [start_thread(pump, (proc.stdout, out)), start_thread(pump, (proc.stderr, err))]
    if stdin_data is not None:
        feed(proc, stdin_data)
    timed_out = False
    timeout = req.get("timeout")
    try:
        proc.wait(timeout=timeout / 1000.0 if timeout else None)
    except subprocess.TimeoutExpired:
        timed_out = True
        killgroup(proc)
        proc.wait()
    finish(proc, req, uid, readers)
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

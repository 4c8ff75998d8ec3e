# SSR in-container command runner.
#
# Started as the container's main process with stdin attached. Reads one JSON
# request per line on stdin and answers one JSON line per request on stdout.
# Requests run concurrently. When stdin closes (the host process went away),
# every running command's process group is killed and the runner exits, so
# the container stops and is auto-removed.
#
# ops: exec {cmd, cwd, env, timeout, cap, stdin}, write {path, data, mode},
#      read {path, cap}, kill {target}
import base64, json, os, signal, subprocess, sys, threading, time

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


def do_exec(rid, req):
    start = time.monotonic()
    env = dict(os.environ)
    env.update(req.get("env") or {})
    stdin_data = base64.b64decode(req["stdin"]) if req.get("stdin") is not None else None
    cap = int(req.get("cap") or (1 << 20))
    # A fork bomb or a runaway suite can exhaust the pids limit for a while:
    # retry the fork for a few seconds before giving up.
    for attempt in range(40):
        try:
            proc = subprocess.Popen(
                ["bash", "-c", req["cmd"]],
                cwd=req.get("cwd") or None,
                env=env,
                stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
            break
        except BlockingIOError:
            if attempt == 39:
                raise
            time.sleep(0.25)
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


OPS = {"exec": do_exec, "write": do_write, "read": do_read, "kill": do_kill}


def handle(req):
    rid = req.get("id")
    try:
        OPS[req.get("op", "exec")](rid, req)
    except Exception as exc:  # answer every request, whatever happens
        send({"id": rid, "error": "%s: %s" % (type(exc).__name__, exc)})


def main():
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

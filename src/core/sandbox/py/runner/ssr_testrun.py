# SSR's runner: one judged test run (the script as the test user, its log,
# every process killed, then the parser as the parser user).
import base64, os, subprocess, time
from ssr_common import Capped, LOG_CAP, PARSER_UID, PARSE_CWD, SSR_TMP, TEST_HOME, TEST_UID, _procs, _procs_lock, killgroup, popen_retry, pump, send, start_thread
from ssr_users import as_user, kill_user, prepare_test_user, protect, user_env
from ssr_reporters import Channel, reporters_env


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


def copy_log(stream, log, total):
    """Copies the script's output into the log (capped), counting everything; on a thread."""
    def copy():
        try:
            while True:
                chunk = stream.read1(65536)
                if not chunk:
                    break
                if total[0] < LOG_CAP:
                    log.write(chunk[: LOG_CAP - total[0]])
                total[0] += len(chunk)
        except Exception:
            pass
    return start_thread(copy)


def read_tail(log_path, total, req):
    with open(log_path, "rb") as fh:
        fh.seek(max(0, min(total, LOG_CAP) - int(req.get("tail") or 4000)))
        return fh.read()


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
    log = os.fdopen(os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    total = [0]
    proc, channel = start_script(req, repo)
    with _procs_lock:
        _procs[rid] = proc
    reader = copy_log(proc.stdout, log, total)
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
    tail = read_tail(log_path, total[0], req)
    parsed = {"code": None, "timedOut": False} if timed_out else run_parser(req, log_path)
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

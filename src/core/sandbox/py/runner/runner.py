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
import json, os, sys
from ssr_common import _procs, _procs_lock, killgroup, send, start_thread
from ssr_users import setup
from ssr_ops import OPS


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

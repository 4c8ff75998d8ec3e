# SSR's runner: the constants of its users and folders, and its plumbing
# (answers on stdout, capped output, threads, process groups, forks that retry).
import base64, json, os, signal, subprocess, sys, threading, time


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

# SSR's runner: its unprivileged users (the test user, the parser user), what
# they may write, how their processes are all killed, and the sandbox's setup.
import os, pwd, secrets, shutil, signal, subprocess, time
from ssr_common import PARSE_CWD, PATH, SCRATCH, SSR_DIR, SSR_TMP, TEST_HOME, TEST_UID, USERS


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

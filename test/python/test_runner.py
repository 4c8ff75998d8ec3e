"""Unit tests of SSR's in-container runner (src/core/sandbox/py/runner/), run on the
host with Debian's python3. What needs a container (users, kill by uid, the judged
run) is tested against the real engine in test/integration/attacks.test.ts."""
import base64
import importlib.util
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from runner_modules import load_runner  # noqa: E402

runner = load_runner()


def test_capped_keeps_head_and_tail_and_counts_everything():
    c = runner.Capped(10)
    for chunk in (b"0123", b"456789", b"abcdefghij"):
        c.add(chunk)
    head, tail, total = c.result()
    assert base64.b64decode(head) == b"01234"
    assert base64.b64decode(tail) == b"fghij"
    assert total == 20


def test_user_env_is_minimal_for_the_parser_and_the_image_s_for_tests(monkeypatch):
    monkeypatch.setenv("JAVA_HOME", "/opt/jdk")
    env = runner.user_env("ssrparse", runner.PARSER_UID, "/nonexistent", None)
    assert env["HOME"] == "/nonexistent" and env["USER"] == "ssrparse" and env["TMPDIR"] == "/tmp"
    assert "JAVA_HOME" not in env
    env = runner.user_env("ssrtest", runner.TEST_UID, runner.TEST_HOME, {"EXTRA": "1"}, inherit=True)
    assert env["HOME"] == runner.TEST_HOME and env["USER"] == "ssrtest" and env["EXTRA"] == "1"
    assert env["JAVA_HOME"] == "/opt/jdk"


def test_as_user_drops_to_the_unprivileged_uids():
    assert runner.as_user("root") == {} and runner.as_user(None) == {}
    kw = runner.as_user("test")
    assert kw["user"] == runner.TEST_UID and kw["group"] == runner.TEST_UID and kw["extra_groups"] == []
    assert runner.as_user("parser")["user"] == runner.PARSER_UID
    assert runner.TEST_UID != runner.PARSER_UID


def test_wipe_empties_a_folder_without_following_links(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    scratch = tmp_path / "scratch"
    (scratch / "deep" / "er").mkdir(parents=True)
    (scratch / "deep" / "er" / "f").write_text("y")
    (scratch / "file").write_text("z")
    os.symlink(outside, scratch / "link")
    runner.wipe(str(scratch))
    assert scratch.is_dir() and list(scratch.iterdir()) == []
    assert (outside / "keep").read_text() == "x"


def test_uid_pids_finds_a_users_processes():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in runner.uid_pids(os.getuid())
    finally:
        child.kill()
        child.wait()


def test_kill_user_returns_at_once_when_nothing_runs():
    assert runner.kill_user(runner.PARSER_UID + 12345, budget=1.0) is True


def test_shadowed_names_installed_modules_only(capsys):
    spec2 = importlib.util.spec_from_file_location("ssr_shadowed", ROOT / "src/core/sandbox/py/shadowed.py")
    shadowed = importlib.util.module_from_spec(spec2)
    spec2.loader.exec_module(shadowed)
    saved = list(sys.path)
    try:
        shadowed.main(["json", "pytest", "ssr_surely_not_a_module_xyz", "not-an-identifier"])
    finally:
        sys.path[:] = saved
    assert capsys.readouterr().out.split() == ["json", "pytest"]


def test_protect_makes_every_protected_file_look_alike(tmp_path):
    """The oracle test files are rewritten just before a judged run; owner, mode and
    modification time must not tell them from the other protected files."""
    repo = tmp_path / "repo"
    (repo / "tests").mkdir(parents=True)
    old, oracle, code = repo / "tests" / "test_old.py", repo / "tests" / "test_oracle.py", repo / "lib.py"
    for f in (old, oracle, code):
        f.write_text("x = 1\n")
    os.utime(old, (1_500_000_000, 1_500_000_000))
    os.utime(code, (1_500_000_000, 1_500_000_000))
    runner.protect(str(repo), ["tests/test_old.py", "tests/test_oracle.py", "../outside.py"])
    a, b = os.stat(old), os.stat(oracle)
    assert (a.st_uid, a.st_gid, a.st_mode, a.st_mtime) == (b.st_uid, b.st_gid, b.st_mode, b.st_mtime)
    assert a.st_uid == 0 and a.st_mode & 0o222 == 0
    assert os.stat(repo / "tests").st_uid == 0
    assert os.stat(code).st_mtime == 1_500_000_000, "files not protected keep their time"
    runner.protect(str(repo), ["tests/test_old.py", "tests/test_oracle.py"])
    assert os.stat(old).st_mtime != a.st_mtime, "the time is drawn anew for each run (a compiled file made in advance cannot match it)"

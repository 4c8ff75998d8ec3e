"""The test commands a repository declares itself: tox/nox, Makefile test targets, CI workflow steps."""
import re
from ssr_boot_files import read

DECL_SPLIT = re.compile(r"[\s;&|()]+")
TEST_TOOLS = ("pytest", "py.test", "unittest", "coverage", "python", "python3", "nose2", "tox", "jest", "vitest", "mocha", "node", "npx")
MAKEFILES = ("Makefile", "makefile", "GNUmakefile")


def declared_commands(root, files):
    """The test commands the repository declares: tox/nox, Makefile test targets, CI workflow steps."""
    out = []
    fs = set(files)
    if "tox.ini" in fs:
        guarded(tox_commands, root, out)
    if "noxfile.py" in fs:
        guarded(nox_commands, root, out)
    for mk in MAKEFILES:
        if mk in fs:
            guarded(make_commands, root, out, mk)
    for wf in files:
        if wf.startswith(".github/workflows/") and wf.endswith((".yml", ".yaml")):
            try:
                text = read(root, wf)
            except (OSError, UnicodeDecodeError):
                continue
            workflow_commands(wf, text.splitlines(), out)
    return [(src, cmd) for src, cmd in out if any(t in DECL_SPLIT.split(cmd) for t in TEST_TOOLS)]


def guarded(reader, root, out, *args):
    """Runs one file's reader; a file that cannot be read keeps what was read before the failure."""
    try:
        reader(root, out, *args)
    except (OSError, UnicodeDecodeError):
        pass


def tox_commands(root, out):
    in_cmds = False
    for line in read(root, "tox.ini").splitlines():
        if re.match(r"^\s*commands\s*[=:]", line):
            in_cmds = True
            rest = line.split("=", 1)[1] if "=" in line else line.split(":", 1)[1]
            if rest.strip():
                out.append(("tox.ini", rest.strip()))
            continue
        if in_cmds and line[:1] in (" ", "\t") and line.strip():
            out.append(("tox.ini", line.strip()))
        else:
            in_cmds = False


def nox_commands(root, out):
    for m in re.finditer(r"session\.run\(([^)]*)\)", read(root, "noxfile.py")):
        args = re.findall(r"""['"]([^'"]+)['"]""", m.group(1))
        if args:
            out.append(("noxfile.py", " ".join(args)))


def make_commands(root, out, mk):
    target = None
    for line in read(root, mk).splitlines():
        m = re.match(r"^([\w.-]+)\s*:", line)
        if m:
            target = m.group(1)
            continue
        if target and "test" in target and line.startswith("\t"):
            out.append((mk, line.strip().lstrip("@-")))


def workflow_commands(wf, lines, out):
    """Each `run:` step of a GitHub workflow, its block scalar's lines one by one."""
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)(?:-\s*)?run:\s*(.*)$", line)
        if not m:
            continue
        body = m.group(2).strip()
        if body not in ("|", ">", "|-", ">-", ""):
            out.append((wf, body))
            continue
        ind = None
        for nxt in lines[i + 1:]:
            if not nxt.strip():
                continue
            cur = len(nxt) - len(nxt.lstrip())
            if ind is None:
                ind = cur
            if cur < ind or cur <= len(m.group(1)):
                break
            out.append((wf, nxt.strip()))

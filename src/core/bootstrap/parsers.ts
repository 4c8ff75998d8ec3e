/**
 * The built-in test_parser.py templates: each reads its runner's log (as the
 * script of templates.ts prints it) on stdin and prints one JSON object
 * id -> passed|failed.
 */

export type Runner = 'pytest' | 'unittest' | 'node' | 'jest' | 'vitest' | 'mocha' | 'go';

const PARSER_HEAD = String.raw`#!/usr/bin/env python3
"""Reads a test log on stdin; prints one JSON object: test id -> "passed" | "failed".
Written by SSR's bootstrap proposer."""
import json
import re
import sys

# Tests left out: failing or flaky on the unmodified repository.
EXCLUDE = set(json.loads(__EXCLUDE__))


class ParseError(Exception):
    """The log is not a trustworthy report of the runner (no tally, or a tally that disagrees)."""
`;

const PARSER_TAIL = String.raw`

def main():
    text = sys.stdin.buffer.read().decode("utf-8", "replace")
    results = {}
    try:
        for test_id, status in parse(text):
            if test_id in EXCLUDE:
                continue
            # Failure wins: an id reported both passed and failed counts as failed.
            if status == "failed" or results.get(test_id) != "failed":
                results[test_id] = status
    except ParseError as e:
        sys.stderr.write("test_parser: %s\n" % e)
        sys.exit(2)
    print(json.dumps(results, sort_keys=True))


if __name__ == "__main__":
    main()
`;

const PYTEST_PARSE = String.raw`
# Only pytest's own report counts: the LAST "short test summary info" section
# (output the tested code prints comes before it) and the final tally line
# after it. The tally must agree with the lines parsed, else the log is not
# trusted and the parser exits non-zero.
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SUMMARY = re.compile(r"^=+ short test summary info =+\s*$")
SECTION = re.compile(r"^=+ .* =+\s*$")
TALLY = re.compile(r"^=+ (.*\d+ (?:passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?).*) in [\d.]+s(?: \([^)]*\))? =+\s*$")
LINE = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS|SKIPPED) (.+)$")
WORD = {"PASSED": "passed", "FAILED": "failed", "ERROR": "error", "XFAIL": "xfailed", "XPASS": "xpassed", "SKIPPED": "skipped"}


def node_id(rest):
    """The node id ends at ' - ' (the message), brackets of parameters excepted."""
    depth = 0
    for i, ch in enumerate(rest):
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        elif depth == 0 and rest.startswith(" - ", i):
            return rest[:i].strip()
    return rest.strip()


def parse(text):
    lines = [ANSI.sub("", line).rstrip("\r") for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines) if SUMMARY.match(line)]
    tallies = [i for i, line in enumerate(lines) if TALLY.match(line)]
    if not tallies:
        raise ParseError("no pytest tally line (e.g. '== 3 passed in 0.1s ==') in the log")
    end = tallies[-1]
    starts = [i for i in starts if i < end]
    entries = []
    if starts:
        for line in lines[starts[-1] + 1:end]:
            if SECTION.match(line):
                break
            m = LINE.match(line)
            if m:
                entries.append((m.group(1), node_id(m.group(2))))
    counts = {}
    for kind, _ in entries:
        counts[WORD[kind]] = counts.get(WORD[kind], 0) + 1
    tally = {}
    for n, word in re.findall(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)", TALLY.match(lines[end]).group(1)):
        tally["error" if word.startswith("error") else word] = int(n)
    for word in ("passed", "failed", "error"):
        if tally.get(word, 0) != counts.get(word, 0):
            raise ParseError("pytest's tally says %d %s but the summary lists %d" % (tally.get(word, 0), word, counts.get(word, 0)))
    for kind, test_id in entries:
        if kind in ("XFAIL", "XPASS", "SKIPPED"):
            continue
        yield test_id, "passed" if kind == "PASSED" else "failed"
`;

const UNITTEST_PARSE = String.raw`
HEAD = re.compile(r"^(\w+) \(([\w.]+)\)(?: \.\.\. (.*))?$")
TAIL = re.compile(r"\.\.\. (ok|FAIL|ERROR|skipped.*|expected failure|unexpected success)\s*$")
HEADER = re.compile(r"^(FAIL|ERROR): (\w+) \(([\w.]+)\)")
STATUS = {"ok": "passed", "FAIL": "failed", "ERROR": "failed", "unexpected success": "failed"}


def full_id(name, where):
    return where if where.endswith("." + name) else where + "." + name


def parse(text):
    pending = None
    for line in text.splitlines():
        line = line.rstrip("\r")
        h = HEADER.match(line)
        if h:
            yield full_id(h.group(2), h.group(3)), "failed"
            pending = None
            continue
        m = HEAD.match(line)
        if m:
            pending = full_id(m.group(1), m.group(2))
            rest = m.group(3)
            if rest is None:
                continue
            line = "... " + rest
        if pending is None:
            continue
        t = TAIL.search(line)
        if t:
            status = STATUS.get(t.group(1))
            if status:
                yield pending, status
            pending = None
`;

const NODE_PARSE = String.raw`
FILE = re.compile(r"^##SSR-FILE (.+)$")
EXIT = re.compile(r"^##SSR-EXIT (.+) (\d+)$")
SUBTEST = re.compile(r"^(\s*)# Subtest: (.*)$")
POINT = re.compile(r"^(\s*)(ok|not ok) \d+(?: - (.*?))?(\s+# (SKIP|TODO)\b.*)?$")


def unescape(name):
    return re.sub(r"\\(.)", r"\1", name or "")


def parse(text):
    current = None
    stack = []
    points = {}
    files = []
    exits = {}
    for line in text.splitlines():
        line = line.rstrip("\r")
        f = FILE.match(line)
        if f:
            current = f.group(1)
            files.append(current)
            points.setdefault(current, [])
            stack = []
            continue
        e = EXIT.match(line)
        if e:
            exits[e.group(1)] = int(e.group(2))
            current = None
            continue
        if current is None:
            continue
        s = SUBTEST.match(line)
        if s:
            indent = len(s.group(1))
            stack = [x for x in stack if x[0] < indent]
            stack.append((indent, unescape(s.group(2))))
            continue
        p = POINT.match(line)
        if p:
            indent = len(p.group(1))
            parents = [n for (i, n) in stack if i < indent]
            stack = [x for x in stack if x[0] < indent]
            path = tuple(parents + [unescape(p.group(3))])
            skipped = p.group(5) is not None
            points[current].append((path, "passed" if p.group(2) == "ok" else "failed", skipped))
    for f in files:
        pts = points.get(f, [])
        paths = {pt for pt, _, _ in pts}
        parents = {pt[:k] for pt in paths for k in range(1, len(pt))}
        leaves = [(pt, st) for pt, st, skipped in pts if pt not in parents and not skipped]
        for pt, st in leaves:
            yield f + "::" + " > ".join(pt), st
        if not leaves and exits.get(f, 0) != 0:
            yield f, "failed"
`;

/**
 * `known`: test ids of the original run (Go): when a package fails to build
 * or dies (a panic), its known tests that report nothing count as failed.
 */
export function testParser(runner: Runner, exclude: string[] = [], known: string[] = []): string {
  const head = PARSER_HEAD.replace('__EXCLUDE__', JSON.stringify(JSON.stringify([...exclude].sort())));
  const body =
    runner === 'pytest'
      ? PYTEST_PARSE
      : runner === 'unittest'
        ? UNITTEST_PARSE
        : runner === 'node'
          ? NODE_PARSE
          : runner === 'go'
            ? GO_PARSE.replace('__KNOWN__', JSON.stringify(JSON.stringify([...known].sort())))
            : JS_REPORT_PARSE;
  return head + body + PARSER_TAIL;
}

const GO_PARSE = String.raw`
# go test -json: one event per line ({"Action": "pass"|"fail"|"skip", "Package", "Test"}).
# Ids are "PACKAGE::TestName" and "PACKAGE::TestName/subtest"; a parent is reported only
# when it fails by itself (none of its subtests failed). A package that fails to build
# ("FAIL pkg [build failed]", or a FailedBuild event) or dies (a panic) fails every test of
# it known from the original run that reports nothing now, or the package itself.
KNOWN = set(json.loads(__KNOWN__))
BUILD_FAIL = re.compile(r"^FAIL\s+(\S+)\s+\[(?:build failed|setup failed)\]")


def parse(text):
    acts = {}
    pkg_failed = set()
    events = 0
    for raw in text.splitlines():
        line = raw.strip()
        m = BUILD_FAIL.match(line)
        if m:
            pkg_failed.add(m.group(1))
            continue
        if not line.startswith("{"):
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if not isinstance(ev, dict):
            continue
        action, pkg, test = ev.get("Action"), ev.get("Package") or ev.get("ImportPath"), ev.get("Test")
        if action == "build-fail" and pkg:
            pkg_failed.add(str(pkg).split(" ")[0])
            events += 1
            continue
        if action not in ("pass", "fail", "skip") or not pkg:
            continue
        events += 1
        if test:
            acts.setdefault(pkg + "::" + test, set()).add(action)
        elif action == "fail":
            pkg_failed.add(pkg)
        if ev.get("FailedBuild"):
            pkg_failed.add(pkg)
    if not events and not pkg_failed:
        raise ParseError("no go test -json event in the log")
    status = {}
    for tid, a in acts.items():
        if "fail" in a:
            status[tid] = "failed"
        elif "pass" in a:
            status[tid] = "passed"
    ids = sorted(status)
    for tid in ids:
        children = [c for c in ids if c.startswith(tid + "/")]
        if not children:
            yield tid, status[tid]
        elif status[tid] == "failed" and not any(status[c] == "failed" for c in children):
            yield tid, "failed"
    for pkg in sorted(pkg_failed):
        mine = [k for k in KNOWN if k.startswith(pkg + "::")]
        for k in sorted(mine):
            if k not in status:
                yield k, "failed"
        if not mine and not any(k.startswith(pkg + "::") for k in status):
            yield pkg, "failed"
`;

const JS_REPORT_PARSE = String.raw`
# Only the runner's JSON report counts, in the block marked with the nonce
# the test script printed on the first line of the log (the tested code
# cannot know it). Its own tally must agree with the results parsed.
NONCE = re.compile(r"^##SSR-NONCE ([0-9a-f]{16,}) (.*)$")
SKIPPED = {"pending", "skipped", "todo", "disabled", "focused"}


def parse(text):
    lines = text.splitlines()
    m = NONCE.match(lines[0].strip()) if lines else None
    if not m:
        raise ParseError("the log does not start with the test script's nonce line")
    nonce, cwd = m.group(1), m.group(2).rstrip("/") + "/"
    begin, end = "##SSR-REPORT " + nonce, "##SSR-REPORT-END " + nonce
    starts = [i for i, line in enumerate(lines) if line.strip() == begin]
    ends = [i for i, line in enumerate(lines) if line.strip() == end]
    if not starts or not ends or ends[-1] < starts[-1]:
        raise ParseError("no report block with the script's nonce")
    body = "\n".join(lines[starts[-1] + 1:ends[-1]]).strip()
    if not body:
        raise ParseError("the runner wrote no JSON report")
    try:
        data = json.loads(body)
    except ValueError as e:
        raise ParseError("the report is not JSON: %s" % e)
    passed = failed = 0
    out = []
    for suite in data.get("testResults") or []:
        name = str(suite.get("name") or "")
        rel = name[len(cwd):] if name.startswith(cwd) else name
        results = suite.get("assertionResults") or []
        if not results and suite.get("status") == "failed":
            # The file did not run at all (syntax or import error).
            out.append((rel, "failed"))
            continue
        for a in results:
            status = a.get("status")
            if status in SKIPPED:
                continue
            # vitest names the file's own root suite "": it is no part of the id.
            titles = [str(t) for t in (a.get("ancestorTitles") or []) if str(t)] + [str(a.get("title", ""))]
            if status == "passed":
                passed += 1
            else:
                failed += 1
            out.append((rel + "::" + " > ".join(titles), "passed" if status == "passed" else "failed"))
    if data.get("numPassedTests") != passed or data.get("numFailedTests") != failed:
        raise ParseError("the runner's tally (%s passed, %s failed) disagrees with the %d passed and %d failed tests listed"
                         % (data.get("numPassedTests"), data.get("numFailedTests"), passed, failed))
    for item in out:
        yield item
`;

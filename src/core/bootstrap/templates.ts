/**
 * Built-in test_script.sh / test_parser.py templates for the frameworks the
 * bootstrap proposer knows: pytest, unittest (without pytest) and node:test.
 * The scripts run from the repository root and print per-test results; the
 * parsers read that log on stdin and print one JSON object id -> passed|failed.
 */
import * as path from 'node:path';
import { sh } from '../sandbox/baseline';

export type Runner = 'pytest' | 'unittest' | 'node';

export interface ScriptOptions {
  runner: Runner;
  /** Test modules/files the script runs (repo-relative). */
  runFiles: string[];
  /** Folders holding __init__.py, to work out unittest module names. */
  packageDirs?: Set<string>;
  /** Python packages live under src/: put it on PYTHONPATH. */
  srcLayout?: boolean;
  /** What the script leaves out and why, written as comments at its top. */
  leftOut?: Array<{ file: string; why: string }>;
}

function leftOutComments(o: ScriptOptions): string {
  if (!o.leftOut?.length) return '';
  return (
    '# Left out of this run (SSR found them but does not run them):\n' +
    o.leftOut.map((x) => `#   ${x.file}: ${x.why.replace(/\s+/g, ' ').slice(0, 300)}\n`).join('')
  );
}

function pythonEnv(o: ScriptOptions): string {
  return 'export PYTHONDONTWRITEBYTECODE=1\n' + (o.srcLayout ? 'export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"\n' : '');
}

function wrap(args: string[], indent = '  '): string {
  return args.map((a) => `${indent}${a}`).join(' \\\n');
}

export function testScript(o: ScriptOptions): string {
  // Excluded tests still run: the parser leaves them out. (pytest's --deselect
  // matches node-id prefixes, so it would drop test_a_b along with test_a.)
  if (o.runner === 'pytest') {
    const args = [
      '-rA',
      '--color=no',
      '-p no:cacheprovider',
      '--continue-on-collection-errors',
      '--rootdir=.',
      ...o.runFiles.map(sh),
    ];
    return (
      '#!/usr/bin/env bash\n' +
      '# Runs the pytest suite from the repository root; -rA prints one\n' +
      '# PASSED/FAILED/ERROR line per test in the short test summary.\n' +
      '# Written by SSR\'s bootstrap proposer; the files are the ones pytest\'s own\n' +
      '# collection (--collect-only) found tests in.\n' +
      leftOutComments(o) +
      pythonEnv(o) +
      `python3 -m pytest \\\n${wrap(args)}\n`
    );
  }
  if (o.runner === 'unittest') {
    // Group modules by the folder that must be on sys.path to import them.
    const groups = new Map<string, string[]>();
    for (const f of o.runFiles) {
      let dir = path.posix.dirname(f);
      const parts = [path.posix.basename(f, '.py')];
      while (dir !== '.' && o.packageDirs?.has(dir)) {
        parts.unshift(path.posix.basename(dir));
        dir = path.posix.dirname(dir);
      }
      const mods = groups.get(dir) ?? [];
      mods.push(parts.join('.'));
      groups.set(dir, mods);
    }
    const lines = [...groups.entries()].map(([dir, mods]) => {
      const env = dir === '.' ? '' : `PYTHONPATH=${sh(dir)}\${PYTHONPATH:+:$PYTHONPATH} `;
      return `${env}python3 -m unittest -v \\\n${wrap(mods.map(sh))} 2>&1`;
    });
    return (
      '#!/usr/bin/env bash\n' +
      '# Runs the unittest suite from the repository root; -v prints\n' +
      '# "test_x (module.Class.test_x) ... ok|FAIL|ERROR" per test.\n' +
      '# Written by SSR\'s bootstrap proposer.\n' +
      pythonEnv(o) +
      'status=0\n' +
      lines.map((l) => `${l} || status=1`).join('\n') +
      '\nexit $status\n'
    );
  }
  return (
    '#!/usr/bin/env bash\n' +
    '# Runs every node:test file on its own with the TAP reporter, between\n' +
    '# markers naming the file, so test ids are "file::suite > test".\n' +
    '# Written by SSR\'s bootstrap proposer.\n' +
    'R=--test-reporter=tap\n' +
    'node --test-reporter=tap -e 0 >/dev/null 2>&1 || R=\n' +
    'status=0\n' +
    `for f in \\\n${wrap(o.runFiles.map(sh))}; do\n` +
    '  printf \'\\n##SSR-FILE %s\\n\' "$f"\n' +
    '  node $R "$f" 2>&1\n' +
    '  rc=$?\n' +
    '  [ $rc -eq 0 ] || status=1\n' +
    '  printf \'\\n##SSR-EXIT %s %s\\n\' "$f" "$rc"\n' +
    'done\n' +
    'exit $status\n'
  );
}

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

export function testParser(runner: Runner, exclude: string[] = []): string {
  const head = PARSER_HEAD.replace('__EXCLUDE__', JSON.stringify(JSON.stringify([...exclude].sort())));
  const body = runner === 'pytest' ? PYTEST_PARSE : runner === 'unittest' ? UNITTEST_PARSE : NODE_PARSE;
  return head + body + PARSER_TAIL;
}

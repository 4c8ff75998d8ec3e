/**
 * Built-in test_script.sh / test_parser.py templates for the frameworks the
 * bootstrap proposer knows: pytest, unittest (without pytest) and node:test.
 * The scripts run from the repository root and print per-test results; the
 * parsers (parsers.ts) read that log on stdin and print one JSON object
 * id -> passed|failed.
 */
import * as path from 'node:path';
import { sh } from '../sandbox/baseline';
import type { Runner } from './parsers';

export { testParser, type Runner } from './parsers';

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
  /** Extra runner arguments learned from the repository's test command (e.g. `--env node`). */
  runnerArgs?: string[];
  /** Where the runner's arguments were learned, for the script's comment. */
  learnedFrom?: string;
  /** The repository's package manager: jest, vitest and mocha run through pnpm or yarn when it is one of those. */
  packageManager?: 'npm' | 'pnpm' | 'yarn';
}

/** How the script calls a runner the repository installed: through its package manager. */
function jsBin(o: ScriptOptions, name: string): string {
  if (o.packageManager === 'pnpm') return `pnpm exec ${name}`;
  if (o.packageManager === 'yarn') return `yarn ${name}`;
  return `./node_modules/.bin/${name}`;
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

/** pytest: -rA prints one PASSED/FAILED/ERROR line per test. */
function pytestScript(o: ScriptOptions): string {
  // Excluded tests still run: the parser leaves them out. (pytest's --deselect
  // matches node-id prefixes, so it would drop test_a_b along with test_a.)
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

/** unittest's module names, grouped by the folder that must be on sys.path to import them. */
function unittestModules(o: ScriptOptions): Map<string, string[]> {
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
  return groups;
}

/** unittest without pytest: one `python3 -m unittest -v` per import root. */
function unittestScript(o: ScriptOptions): string {
  const lines = [...unittestModules(o).entries()].map(([dir, mods]) => {
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

/** go test -json: one JSON event per test, no cache, no network, the image's own Go. */
function goScript(o: ScriptOptions): string {
  const pkgs = o.runFiles.length ? o.runFiles : ['./...'];
  return (
    '#!/usr/bin/env bash\n' +
    '# Runs go test -json from the module root: one JSON event per test\n' +
    '# (run/pass/fail/skip, subtests as TestX/sub), build failures as\n' +
    '# "FAIL pkg [build failed]". No test cache (-count=1), no network (GOPROXY=off),\n' +
    "# the image's own Go (GOTOOLCHAIN=local). SSR_GO_COVERPROFILE, when set, asks for\n" +
    "# a coverage profile (SSR's coverage run only).\n" +
    "# Written by SSR's bootstrap proposer.\n" +
    leftOutComments(o) +
    'export GOTOOLCHAIN=local GOPROXY=off GOFLAGS="${GOFLAGS:-}"\n' +
    `go test -json -count=1 \${SSR_GO_COVERPROFILE:+-coverpkg=./... -coverprofile="$SSR_GO_COVERPROFILE"} \\\n${wrap(pkgs.map(sh))} 2>&1\n`
  );
}

/** node:test: each file on its own with the TAP reporter, between markers naming the file. */
function nodeTestScript(o: ScriptOptions): string {
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

/** The test script of a runner: it runs `o.runFiles` from the repository root and prints per-test results. */
export function testScript(o: ScriptOptions): string {
  if (o.runner === 'pytest') return pytestScript(o);
  if (o.runner === 'unittest') return unittestScript(o);
  if (o.runner === 'jest' || o.runner === 'vitest' || o.runner === 'mocha') return jsReportScript(o);
  if (o.runner === 'go') return goScript(o);
  return nodeTestScript(o);
}

/** The mocha reporter the script writes next to the report: jest's JSON format, one entry per test. */
const MOCHA_REPORTER = String.raw`const fs = require('fs');
const path = require('path');
module.exports = function SsrReporter(runner, options) {
  const opts = (options && (options.reporterOptions || options.reporterOption)) || {};
  const files = new Map();
  let passed = 0, failed = 0, pending = 0;
  const add = (t, status, err) => {
    const file = path.relative(process.cwd(), t.file || (t.parent && t.parent.file) || '');
    const titles = t.titlePath();
    if (!files.has(file)) files.set(file, []);
    files.get(file).push({ ancestorTitles: titles.slice(0, -1), title: titles[titles.length - 1], status, failureMessages: err ? [String(err.stack || err)] : [] });
    if (status === 'passed') passed++; else if (status === 'failed') failed++; else pending++;
    process.stdout.write((status === 'passed' ? 'ok   ' : status === 'failed' ? 'FAIL ' : 'skip ') + titles.join(' > ') + (err ? '\n' + String(err.stack || err).split('\n').slice(0, 6).join('\n') : '') + '\n');
  };
  runner.on('pass', (t) => add(t, 'passed'));
  runner.on('fail', (t, err) => add(t, 'failed', err));
  runner.on('pending', (t) => add(t, 'pending'));
  runner.once('end', () => {
    const testResults = [...files.entries()].map(([name, assertionResults]) => ({ name, assertionResults, status: assertionResults.some((a) => a.status === 'failed') ? 'failed' : 'passed' }));
    fs.writeFileSync(opts.output, JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: pending, testResults }));
  });
};
`;

/**
 * jest, vitest and mocha: the runner writes a JSON report (jest's format;
 * mocha through a small reporter written by the script) to a fresh file,
 * which the script prints between lines carrying a nonce drawn at start.
 * The parser trusts only that block: the tested code cannot know the nonce.
 */
function jsReportScript(o: ScriptOptions): string {
  const args = [...(o.runnerArgs ?? [])];
  let cmd: string;
  if (o.runner === 'jest') cmd = `${jsBin(o, 'jest')} --ci --json --outputFile="$REPORT" --colors=false ${args.map(sh).join(' ')} \\\n${wrap(o.runFiles.map(sh))}`;
  else if (o.runner === 'vitest') cmd = `${jsBin(o, 'vitest')} run --reporter=json --outputFile="$REPORT" --silent=false ${args.map(sh).join(' ')} \\\n${wrap(o.runFiles.map(sh))}`;
  else cmd = `${jsBin(o, 'mocha')} --reporter "$TMP/ssr-reporter.cjs" --reporter-option output="$REPORT" ${args.map(sh).join(' ')} \\\n${wrap(o.runFiles.map(sh))}`;
  return (
    '#!/usr/bin/env bash\n' +
    `# Runs the ${o.runner} suite from the repository root${o.learnedFrom ? ` (learned from ${o.learnedFrom})` : ''}${o.packageManager && o.packageManager !== 'npm' ? `, through ${o.packageManager}` : ''}.\n` +
    '# The runner writes its JSON report to a fresh file; the script prints it\n' +
    '# between two lines carrying a nonce drawn here, first line of the log.\n' +
    "# Written by SSR's bootstrap proposer.\n" +
    leftOutComments(o) +
    'NONCE=$(od -An -N12 -tx1 /dev/urandom | tr -d \' \\n\')\n' +
    'printf \'##SSR-NONCE %s %s\\n\' "$NONCE" "$PWD"\n' +
    'TMP=$(mktemp -d)\n' +
    'REPORT="$TMP/report.json"\n' +
    'export CI=1 FORCE_COLOR=0 NO_COLOR=1\n' +
    (o.runner === 'mocha' ? `cat > "$TMP/ssr-reporter.cjs" <<'SSR_REPORTER_EOF'\n${MOCHA_REPORTER}SSR_REPORTER_EOF\n` : '') +
    `${cmd} 2>&1\n` +
    'rc=$?\n' +
    'printf \'\\n##SSR-REPORT %s\\n\' "$NONCE"\n' +
    'cat "$REPORT" 2>/dev/null\n' +
    'printf \'\\n##SSR-REPORT-END %s\\n\' "$NONCE"\n' +
    'rm -rf "$TMP"\n' +
    'exit $rc\n'
  );
}

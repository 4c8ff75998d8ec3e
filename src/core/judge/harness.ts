/**
 * The test harness: every file a test runner loads as tests or as test
 * configuration. A solver is asked to fix code; a change of the harness
 * (a conftest.py hook that reports failures as passes, an `addopts` that
 * deselects the failing tests, a jest `__mocks__` stub, a new test module
 * that patches the code under test at import) would let a patch earn the
 * reward without fixing anything. Evaluation reverts such changes before
 * the run and lists them; a bug may not live in the harness either.
 *
 * The rules cover the runners SSR supports (pytest, unittest, node:test,
 * mocha, jest, vitest, go test) and whatever the artifact's test script
 * names. docs/judging.md lists them.
 */
import * as path from 'node:path';
import picomatch from 'picomatch';
import * as ini from 'ini';
// smol-toml ships CommonJS beside its ES module; its types are declared for the latter.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parse: parseToml } = require('smol-toml') as { parse(text: string): unknown };

/** Files that are harness whatever their content (basename or path globs). */
const ALWAYS: Array<[glob: string, reason: string]> = [
  // Python: pytest plugins and configuration, interpreter start-up hooks.
  ['**/conftest.py', 'pytest loads conftest.py files as plugins'],
  ['**/pytest.ini', 'pytest configuration'],
  ['**/.pytest.ini', 'pytest configuration'],
  ['**/tox.ini', 'tox and pytest configuration'],
  ['**/noxfile.py', 'nox sessions run the tests'],
  ['**/sitecustomize.py', 'Python runs sitecustomize at start-up'],
  ['**/usercustomize.py', 'Python runs usercustomize at start-up'],
  ['**/*.pth', 'site-packages .pth files run at start-up'],
  ['**/.coveragerc', 'coverage configuration'],
  // JavaScript / TypeScript runners.
  ['**/jest.config.*', 'jest configuration'],
  ['**/jest.setup.*', 'jest set-up file'],
  ['**/jest.preset.*', 'jest preset'],
  ['**/vitest.config.*', 'vitest configuration'],
  ['**/vitest.workspace.*', 'vitest configuration'],
  ['**/vitest.setup.*', 'vitest set-up file'],
  ['**/vite.config.*', 'vitest reads the vite configuration'],
  ['**/.mocharc*', 'mocha configuration'],
  ['**/mocha.opts', 'mocha configuration'],
  ['**/karma.conf.*', 'karma configuration'],
  ['**/ava.config.*', 'ava configuration'],
  ['**/babel.config.*', 'babel transforms the tests'],
  ['**/.babelrc*', 'babel transforms the tests'],
  ['**/setupTests.*', 'test set-up file'],
  ['**/__mocks__/**', 'jest loads __mocks__ instead of the real modules'],
  ['**/node_modules/**', 'installed dependencies (the test runner among them), not code'],
  // Test files by the runners' own discovery patterns.
  ['**/test_*.py', 'a test module (pytest and unittest discovery)'],
  ['**/*_test.py', 'a test module (pytest discovery)'],
  ['**/tests/**', 'a file of the test tree'],
  ['**/test/**', 'a file of the test tree'],
  ['**/testing/**', 'a file of the test tree'],
  ['**/__tests__/**', 'a file of the test tree'],
  ['**/*.test.*', 'a test file (jest, vitest, node:test)'],
  ['**/*.spec.*', 'a test file (jest, vitest, mocha)'],
  ['**/*_test.go', 'a Go test file'],
  ['**/testdata/**', 'Go test data'],
];

/** Files with a test section among other content: harness only when that section changes. */
const SECTIONED: Record<string, (before: string | undefined, after: string | undefined) => string | undefined> = {
  'pyproject.toml': (b, a) => diffSections(tomlSections(b), tomlSections(a), 'pyproject.toml'),
  'setup.cfg': (b, a) => diffSections(iniSections(b, ['tool:pytest', 'pytest', 'coverage:run', 'coverage:report']), iniSections(a, ['tool:pytest', 'pytest', 'coverage:run', 'coverage:report']), 'setup.cfg'),
  'package.json': (b, a) => diffSections(packageSections(b), packageSections(a), 'package.json'),
};

const matchers = ALWAYS.map(([glob, reason]) => ({ test: picomatch(glob, { dot: true }), reason }));

function tomlSections(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const doc = parseToml(text) as { tool?: Record<string, unknown> };
    return { 'tool.pytest': doc.tool?.pytest, 'tool.coverage': doc.tool?.coverage, 'tool.tox': doc.tool?.tox };
  } catch {
    return { unparsable: text };
  }
}

function iniSections(text: string | undefined, names: string[]): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const doc = ini.parse(text) as Record<string, unknown>;
    return Object.fromEntries(names.map((n) => [n, doc[n]]));
  } catch {
    return { unparsable: text };
  }
}

const PACKAGE_SCRIPT_KEYS = /^(pre|post)?test(:.*)?$/;

function packageSections(text: string | undefined): Record<string, unknown> {
  if (text === undefined) return {};
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    const scripts = (doc.scripts ?? {}) as Record<string, unknown>;
    return {
      'scripts.test': Object.fromEntries(Object.entries(scripts).filter(([k]) => PACKAGE_SCRIPT_KEYS.test(k))),
      jest: doc.jest,
      mocha: doc.mocha,
      vitest: doc.vitest,
      ava: doc.ava,
      c8: doc.c8,
      nyc: doc.nyc,
      babel: doc.babel,
    };
  } catch {
    return { unparsable: text };
  }
}

function diffSections(b: Record<string, unknown>, a: Record<string, unknown>, file: string): string | undefined {
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  const changed = keys.filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
  if (!changed.length) return undefined;
  if (changed.includes('unparsable')) return `${file} no longer parses, so its test configuration cannot be told apart`;
  return `the test configuration in ${file} (${changed.join(', ')})`;
}

/**
 * Paths the test script names (`./run_tests.sh`, `make test` -> Makefile,
 * `tox` -> tox.ini): the harness of that artifact in particular.
 */
export function scriptHarness(testScript: string): Array<{ glob: string; reason: string }> {
  const out: Array<{ glob: string; reason: string }> = [];
  const words = testScript.split(/[\s;|&()<>`"'=]+/).filter(Boolean);
  for (const w of words) {
    const p = w.replace(/^\.\//, '');
    if (/^[\w.-]+(\/[\w.-]+)*\.(sh|bash|py|js|cjs|mjs|ts|cfg|ini|toml|json|ya?ml|mk)$/.test(p) && !p.startsWith('/')) {
      out.push({ glob: p, reason: 'test_script.sh runs or reads it' });
    }
  }
  if (/\bmake\b/.test(testScript)) for (const m of ['Makefile', 'makefile', 'GNUmakefile', '**/*.mk']) out.push({ glob: m, reason: 'test_script.sh runs make' });
  if (/\bnox\b/.test(testScript)) out.push({ glob: 'noxfile.py', reason: 'test_script.sh runs nox' });
  return out;
}

/**
 * Why a change of this path is a change of the test harness, or undefined.
 * `before`/`after` are the file's contents (undefined: absent), needed for
 * files that hold a test section among other things.
 */
export function harnessReason(
  p: string,
  opts: { testScript?: string; before?: string; after?: string } = {},
): string | undefined {
  const norm = path.posix.normalize(p).replace(/^\/+/, '');
  for (const m of matchers) if (m.test(norm)) return m.reason;
  if (opts.testScript) {
    for (const s of scriptHarness(opts.testScript)) if (picomatch(s.glob, { dot: true })(norm)) return s.reason;
  }
  const sectioned = SECTIONED[path.posix.basename(norm)];
  if (sectioned) return sectioned(opts.before, opts.after);
  return undefined;
}

/** Whether a path is harness whatever its content (bug_scope uses it: a bug lives in code). */
export function isHarnessPath(p: string, testScript?: string): string | undefined {
  return harnessReason(p, { testScript });
}

/** Basenames whose harness status depends on content. */
export function isSectionedConfig(p: string): boolean {
  return path.posix.basename(p) in SECTIONED;
}

/**
 * Code that reaches into the test runner or the process around it. Code
 * under test runs inside the test process, so a patch can rewrite how the
 * runner reports (monkeypatching pytest's TestReport, say) and every test
 * "passes" with nothing fixed; no parser can see that from the log. A fix
 * changes behaviour, not how tests are reported: a patch whose added lines
 * use one of these, in a file whose original never did, is refused before
 * anything runs. A screen, not a proof (docs/judging.md says what it misses).
 */
const TAMPER: Array<[RegExp, string]> = [
  [/\b_?pytest\b/, 'pytest'],
  [/\bunittest\b/, 'unittest'],
  [/\bnose2?\b/, 'nose'],
  [/\bsys\s*\.\s*modules\b/, 'sys.modules'],
  [/\b__import__\b/, '__import__'],
  [/\bimportlib\b/, 'importlib'],
  [/\bos\s*\.\s*_exit\b/, 'os._exit'],
  [/\bsys\s*\.\s*__std(out|err)__\b/, 'sys.__stdout__/__stderr__'],
  [/\batexit\b/, 'atexit'],
  [/\bgc\s*\.\s*get_(objects|referrers)\b/, 'gc object walking'],
  [/\bsys\s*\.\s*_getframe\b|\binspect\s*\.\s*(stack|currentframe)\b/, 'frame walking'],
  [/\/proc\//, '/proc'],
  [/\b(exec|eval|compile)\s*\(/, 'exec/eval/compile'],
  // The ways around a name the screen knows: the builtins (getattr(builtins, '__imp' + 'ort__')), walking every class
  // (object.__subclasses__() finds TestCase without naming unittest), a function's globals, import hooks and tracers.
  [/\b_?_?builtins_?_?\b/, 'builtins'],
  [/\b__subclasses__\b|\b__bases__\b|\b__mro__\b/, 'class walking'],
  [/\b__globals__\b|\b__code__\b|\bf_globals\b|\bf_locals\b/, 'function internals'],
  [/\bsys\s*\.\s*(meta_path|path_hooks|path_importer_cache|settrace|setprofile|addaudithook|excepthook|displayhook)\b/, 'the interpreter hooks'],
  [/\bctypes\b/, 'ctypes'],
  [/\b(jest|vitest|mocha|jasmine)\b/, 'the JavaScript test runner'],
  [/\brequire\s*\.\s*cache\b|\bModule\s*\.\s*_(load|resolveFilename)\b/, "node's module loader"],
  [/\bprocess\s*\.\s*(exit|kill|reallyExit|_rawDebug)\b/, 'process exit'],
  [/\bnew\s+Function\s*\(/, 'new Function'],
  [/\bglobalThis\s*\.\s*(it|test|describe|expect)\b/, 'the test globals'],
  [/\b(testing\s*\.\s*T|os\s*\.\s*Exit)\b/, 'the Go test runtime'],
];

/** Lines a diff adds, per file (new path). */
function addedLines(patch: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of patch.split('\n')) {
    if (line.startsWith('+++ ')) {
      const p = line.slice(4).trim().replace(/^"|"$/g, '');
      current = p === '/dev/null' ? undefined : p.replace(/^b\//, '');
      if (current && !out.has(current)) out.set(current, []);
    } else if (current && line.startsWith('+')) out.get(current)!.push(line.slice(1));
  }
  return out;
}

/**
 * What in a patch reaches into the test runner (see TAMPER), per file, in
 * files that are not harness (those are reverted anyway) and whose original
 * content never used it. `original(path)` gives the original content.
 */
export async function tamperFindings(
  patch: string,
  original: (p: string) => Promise<string | undefined>,
  testScript?: string,
): Promise<Array<{ path: string; what: string }>> {
  const found: Array<{ path: string; what: string }> = [];
  for (const [p, lines] of addedLines(patch)) {
    if (isHarnessPath(p, testScript)) continue;
    const added = lines.join('\n');
    const hits = TAMPER.filter(([re]) => re.test(added));
    if (!hits.length) continue;
    const before = (await original(p)) ?? '';
    for (const [re, what] of hits) if (!re.test(before)) found.push({ path: p, what });
  }
  return found;
}

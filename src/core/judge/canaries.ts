/**
 * Canaries and twins (issue 17 §3, issue 24): tests the judge plants into the
 * oracle test files inside the evaluation sandbox, after the solver is done
 * and the oracle files are reset, and before the run. Their names are random
 * on every run, so code under test cannot tell them from real tests by name:
 *
 * - a must-pass canary and a must-fail canary;
 * - twins: copies of real tests under fresh names, some from F (the tests the
 *   bug breaks), that must agree with their original;
 * - inverted twins: copies whose body must raise, so they fail whenever the
 *   original passes.
 *
 * A patch that reports failures as passes, or flips the tests it knows by
 * name, makes one of them disagree: the attempt is tampered. Their ids are
 * removed from the results before the solved rule and before anything is
 * stored. Python test modules (py/ssr_canary.py), JavaScript/TypeScript
 * test files in the describe/it style (jsCanaries.ts), and Go test files
 * (go/plant.go: twins and canaries, no inverted twins).
 */
import { randomBytes, randomInt } from 'node:crypto';
import * as path from 'node:path';
import type { ArtifactFiles } from '../artifact/artifact';
import type { SandboxLike } from '../sandbox/types';
import { sh } from '../sandbox/baseline';
import CANARY_PY from './py/ssr_canary.py';
import { isJsTestFile, plantJs } from './jsCanaries';
import { goJudge } from './goJudge';
import type { TestResults } from './testRun';

export type { FilePlan, PlantKind, Planted, Planting } from './canaryTypes';
import type { FilePlan, Planting } from './canaryTypes';

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh random token: 10 characters, a letter first (about 2^51 values). */
export function token(): string {
  const b = randomBytes(10);
  return TOKEN_ALPHABET[b[0] % 26] + [...b.subarray(1)].map((x) => TOKEN_ALPHABET[x % 36]).join('');
}

/** A Python test module the runner collects (conftest.py and packages are not). */
export function isPythonTestModule(p: string): boolean {
  const base = path.posix.basename(p);
  return /^test.*\.py$/.test(base) || /_test\.py$/.test(base);
}

/**
 * The file and qualified name ("test_x", "TestC.test_y") of a test id, for
 * pytest node ids ("tests/test_x.py::TestC::test_y[p]") and unittest ids
 * ("tests.test_x.TestC.test_y"); undefined when it names none of the files.
 */
export function locate(id: string, files: string[]): { file: string; qual: string } | undefined {
  const sep = id.indexOf('::');
  if (sep >= 0) {
    const file = id.slice(0, sep);
    if (!files.includes(file)) return undefined;
    const rest = id.slice(sep + 2);
    return { file, qual: file.endsWith('.py') ? rest.replace(/\[.*$/s, '').split('::').join('.') : rest };
  }
  for (const file of files) {
    const parts = file.replace(/\.py$/, '').split('/');
    for (let i = 0; i < parts.length; i++) {
      const mod = parts.slice(i).join('.');
      if (id.startsWith(mod + '.')) return { file, qual: id.slice(mod.length + 1) };
    }
  }
  return undefined;
}

/** A Go test file. */
export function isGoTestFile(p: string): boolean {
  return p.endsWith('_test.go');
}

/**
 * The file and test function of a go test id ("IMPORTPATH::TestX" or
 * "IMPORTPATH::TestX/subtest"): the first of the files in the package's
 * folder (the import path ends with it; the module's root when none does).
 */
export function locateGo(id: string, files: string[]): { file: string; qual: string } | undefined {
  const sep = id.indexOf('::');
  const name = id.slice(sep + 2).split('/')[0];
  if (sep < 0 || !/^Test/.test(name)) return undefined;
  const pkg = id.slice(0, sep);
  const go = files.filter(isGoTestFile);
  const dir = (f: string) => path.posix.dirname(f);
  const inDir = go.filter((f) => dir(f) !== '.' && (pkg === dir(f) || pkg.endsWith('/' + dir(f))));
  const file = inDir[0] ?? go.find((f) => dir(f) === '.');
  return file ? { file, qual: name } : undefined;
}

/** The tests test_weaken.diff removes or changes (Python functions, JS titles, Go test functions): the hidden tests, most of them in F. */
export function weakenedNames(testWeakenDiff: string): Set<string> {
  const out = new Set<string>();
  for (const m of testWeakenDiff.matchAll(/^[-+@].*?\bfunc\s+(Test\w*)\s*\(/gm)) out.add(m[1]);
  for (const m of testWeakenDiff.matchAll(/^[-+@].*?\bdef\s+(test\w*)\s*\(/gm)) out.add(m[1]);
  for (const m of testWeakenDiff.matchAll(/^[-+@].*?\b(?:it|test|specify)\(\s*(['"`])(.*?)\1/gm)) out.add(m[2]);
  return out;
}

/** The test's own name: the function of a Python qualified name, the title of a JS one. */
function lastName(file: string, qual: string): string {
  return file.endsWith('.py') ? qual.split('.').pop()! : file.endsWith('.go') ? qual : qual.split(' > ').pop()!;
}

/** Whether the test script stops at the first failure (a must-fail canary would then hide real tests). */
export function stopsEarly(testScript: string): boolean {
  return testScript.replace(/\\\n/g, ' ').split('\n').some(
    (l) =>
      (/\bpytest\b/.test(l) && /(^|\s)(-x|--exitfirst|--maxfail\b\S*)(\s|$)/.test(l)) ||
      (/\bunittest\b/.test(l) && /(^|\s)(-f|--failfast)(\s|$)/.test(l)) ||
      /(^|\s)--bail\b/.test(l) ||
      (/\bgo\s+test\b/.test(l) && /(^|\s)-?-failfast\b/.test(l)),
  );
}

function pick<T>(xs: T[], n: number): T[] {
  const pool = [...xs];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(randomInt(pool.length), 1)[0]);
  return out;
}

/** How many of each the judge plants. */
export const PLAN_SIZES = { fTwins: 3, fInverted: 1, otherTwins: 1, otherInverted: 1 };

/**
 * Chooses what to plant: twins of required tests (passed on the original,
 * not flaky), preferring F (meta.oracleFailing, else the tests the weakening
 * hid; when neither names any, all twins are drawn from the others), and one
 * canary of each kind in a file that holds twins.
 */
export function planCanaries(a: ArtifactFiles, original: TestResults, flaky: string[]): FilePlan[] {
  const files = a.testFiles.filter((f) => isPythonTestModule(f) || isJsTestFile(f) || isGoTestFile(f));
  if (!files.length) return [];
  const skip = new Set(flaky);
  const located = Object.keys(original)
    .filter((id) => original[id] === 'passed' && !skip.has(id))
    .map((id) => ({ id, ...(locate(id, files) ?? locateGo(id, files)) }))
    .filter((x): x is { id: string; file: string; qual: string } => !!x.file);
  const unique = [...new Map(located.map((x) => [`${x.file}\0${x.qual}`, x])).values()];
  const metaF = new Set(Array.isArray(a.meta?.oracleFailing) ? a.meta.oracleFailing.filter((x): x is string => typeof x === 'string') : []);
  const hidden = weakenedNames(a.testWeakenDiff);
  const inF = (x: { id: string; file: string; qual: string }) => (metaF.size ? metaF.has(x.id) : hidden.has(lastName(x.file, x.qual)));
  const F = unique.filter(inF);
  const rest = unique.filter((x) => !inF(x));
  const invert = !stopsEarly(a.testScript);
  const fTwins = pick(F, PLAN_SIZES.fTwins + (invert ? PLAN_SIZES.fInverted : 0));
  // F unknown (no metadata, nothing weakened by name): its slots go to the others, drawn at random.
  const oSlots = PLAN_SIZES.otherTwins + (invert ? PLAN_SIZES.otherInverted : 0) + (F.length ? 0 : PLAN_SIZES.fTwins + (invert ? PLAN_SIZES.fInverted : 0));
  const oInverted = PLAN_SIZES.otherInverted + (F.length ? 0 : PLAN_SIZES.fInverted);
  const oTwins = pick(rest, oSlots);
  // Go has no inverted twins (go/plant.go): its slots are plain twins.
  const invertible = (x: { file: string }) => invert && !isGoTestFile(x.file);
  const chosen = [
    ...fTwins.map((x, i) => ({ ...x, inverted: invertible(x) && i < PLAN_SIZES.fInverted })),
    ...oTwins.map((x, i) => ({ ...x, inverted: invertible(x) && i < oInverted })),
  ];
  const byFile = new Map<string, FilePlan>();
  const plan = (file: string) => byFile.get(file) ?? byFile.set(file, { path: file, twins: [], canaries: [] }).get(file)!;
  for (const x of chosen) plan(x.file).twins.push({ of: x.qual, token: token(), ...(x.inverted ? { inverted: true } : {}) });
  // Each canary stands beside a test the runner reported (same class or module level), so the runner collects it too.
  const canary = (kind: 'pass' | 'fail', near: { file: string; qual: string } | undefined) =>
    near ? plan(near.file).canaries.push({ kind, token: token(), near: near.qual }) : plan(files[randomInt(files.length)]).canaries.push({ kind, token: token() });
  canary('pass', fTwins[0] ?? oTwins[0] ?? pick(unique, 1)[0]);
  if (invert) canary('fail', pick(unique, 1)[0]);
  return [...byFile.values()];
}

/** Plants the plan into the repository in the sandbox (as root, before the run). */
export async function plantCanaries(sb: SandboxLike, plan: FilePlan[]): Promise<Planting> {
  const py = await plantPython(sb, plan.filter((f) => f.path.endsWith('.py')));
  const js = await plantJavaScript(sb, plan.filter((f) => isJsTestFile(f.path)));
  const go = await plantGo(sb, plan.filter((f) => isGoTestFile(f.path)));
  return { planted: [...py.planted, ...js.planted, ...go.planted], skipped: [...py.skipped, ...js.skipped, ...go.skipped] };
}

/** Go test files: the judge's Go helper (go/plant.go) on go/ast, in the sandbox's repository. */
async function plantGo(sb: SandboxLike, plan: FilePlan[]): Promise<Planting> {
  if (!plan.length) return { planted: [], skipped: [] };
  const r = await goJudge<Planting>(sb, 'plant', { files: plan }, { cwd: sb.repoPath });
  return typeof r === 'string' ? { planted: [], skipped: [{ file: '', of: null, why: r }] } : r;
}

/** JavaScript and TypeScript files: planted here on @babel/parser, written back. */
async function plantJavaScript(sb: SandboxLike, plan: FilePlan[]): Promise<Planting> {
  const out: Planting = { planted: [], skipped: [] };
  for (const f of plan) {
    try {
      const r = plantJs(f.path, (await sb.readFile(f.path)).toString('utf8'), f);
      if (r.planted.length) await sb.writeFile(f.path, r.text, 0o644);
      out.planted.push(...r.planted);
      out.skipped.push(...r.skipped);
    } catch (err) {
      out.skipped.push({ file: f.path, of: null, why: `not planted: ${(err as Error).message}` });
    }
  }
  return out;
}

/** Python modules: ssr_canary.py in the sandbox's python3 (one round trip: the script as an argument, the plan on stdin). */
async function plantPython(sb: SandboxLike, plan: FilePlan[]): Promise<Planting> {
  if (!plan.length) return { planted: [], skipped: [] };
  const r = await sb.exec(`python3 -I -c ${sh(CANARY_PY)}`, { user: 'root', timeoutMs: 60_000, stdin: JSON.stringify({ files: plan }) });
  if (r.exitCode !== 0) return { planted: [], skipped: [{ file: '', of: null, why: `ssr_canary.py failed: ${r.stderr.trim().split('\n').pop()}` }] };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as Planting;
  } catch {
    return { planted: [], skipped: [{ file: '', of: null, why: 'ssr_canary.py printed no report' }] };
  }
}

/**
 * A bug must change behaviour. A `bug_inject.diff` file whose two versions are
 * the same program once parsed (comments, formatting, statements that do
 * nothing, independent statements swapped, a consistent renaming of locals)
 * changes nothing a test could see, except by reading the source: a test
 * script that fails on it fabricates the failure. `bug_scope` fails such a
 * bug (checks.ts).
 *
 * Each file is compared with a real parser: Python with the judge's own
 * `py/neutral.py` run inside the validation sandbox on the files' contents
 * (the image's python3, the version the tests run with); JavaScript and
 * TypeScript with @babel/parser on the host (`neutralJs.ts`); Go with the
 * judge's own go/ast comparison compiled by the image's Go (`goJudge.ts`).
 * Other files are not compared. docs/judging.md says what this does not
 * catch.
 */
import type { SandboxLike } from '../sandbox/types';
import { readBeforeAfter, type FileStates } from '../sandbox/baseline';
import NEUTRAL_PY from './py/neutral.py';
import NEUTRAL_SCOPE_PY from './py/neutral_scope.py';
import NEUTRAL_STEPS_PY from './py/neutral_steps.py';
import { compareJs, isJsFile, type NeutralVerdict } from './neutralJs';
import { goJudge, isGo } from './goJudge';
export type { NeutralVerdict } from './neutralJs';

export interface Neutrality {
  /** Per compared file: whether it is the same program before and after. */
  verdicts: NeutralVerdict[];
  /** What could not be compared, and why. */
  notes: string[];
}

const isPython = (p: string) => p.endsWith('.py');
const isComparable = (p: string) => isPython(p) || isJsFile(p) || isGo(p);

/** neutral.py and its modules, written together into one folder of root's; neutral.py is run. */
export const NEUTRAL_DIR = '/ssr/tmp/neutral';
export const NEUTRAL_FILES: ReadonlyArray<readonly [string, string]> = [
  ['neutral.py', NEUTRAL_PY],
  ['neutral_scope.py', NEUTRAL_SCOPE_PY],
  ['neutral_steps.py', NEUTRAL_STEPS_PY],
];

/** Whether any of these files is one this test can compare. */
export function comparable(paths: string[]): boolean {
  return paths.some(isComparable);
}

/** Python files compared by neutral.py in the sandbox, as root, from its standard input. */
async function comparePython(sb: SandboxLike, files: FileStates[]): Promise<NeutralVerdict[] | string> {
  if (!files.length) return [];
  for (const [name, source] of NEUTRAL_FILES) await sb.writeFile(`${NEUTRAL_DIR}/${name}`, source, 0o600);
  const r = await sb.exec(`command -v python3 >/dev/null || exit 127; python3 -I ${NEUTRAL_DIR}/neutral.py`, {
    cwd: '/',
    stdin: JSON.stringify({ files }),
    timeoutMs: 60_000,
    maxOutputBytes: 4 << 20,
  });
  if (r.exitCode === 127) return 'the image has no python3';
  try {
    if (r.exitCode !== 0) throw new Error(r.stderr.trim().slice(-300) || `exit ${r.exitCode}`);
    return (JSON.parse(r.stdout) as { results: NeutralVerdict[] }).results;
  } catch (err) {
    return `the comparison failed: ${(err as Error).message}`;
  }
}

/**
 * Compares each changed file of the diff before and after it (files the diff
 * adds or deletes change behaviour, or not, in ways no parse can tell, and
 * are left to the other checks). Never throws for the artifact's faults.
 */
export async function compareChangedFiles(sb: SandboxLike, diff: string, paths: string[]): Promise<Neutrality> {
  const wanted = paths.filter(isComparable);
  const notes: string[] = [];
  const other = paths.filter((p) => !wanted.includes(p));
  if (other.length) notes.push(`not compared (no parser for them): ${other.join(', ')}`);
  if (!wanted.length) return { verdicts: [], notes };
  const states = await readBeforeAfter(sb, diff, wanted);
  if ('error' in states) return { verdicts: [], notes: [...notes, 'not compared: the diff does not apply'] };
  const both = states.filter((s): s is Required<FileStates> => s.before !== undefined && s.after !== undefined);
  const verdicts = both.filter((s) => isJsFile(s.path)).map((s) => compareJs(s.path, s.before, s.after));
  const py = await comparePython(sb, both.filter((s) => isPython(s.path)));
  if (typeof py === 'string') notes.push(`Python files not compared: ${py}`);
  else verdicts.push(...py);
  const goFiles = both.filter((s) => isGo(s.path));
  const go = goFiles.length ? await goJudge<{ results: NeutralVerdict[] }>(sb, 'neutral', { files: goFiles }) : { results: [] };
  if (typeof go === 'string') notes.push(`Go files not compared: ${go}`);
  else verdicts.push(...go.results);
  for (const v of verdicts) if (v.error) notes.push(`${v.path} not compared: ${v.error}`);
  return { verdicts, notes };
}

/** bug_scope's words for the files that change no behaviour; undefined when every compared file changes something. */
export function neutralFailure(n: Neutrality, diffName: string): string | undefined {
  const same = n.verdicts.filter((v) => v.neutral);
  if (!same.length) return undefined;
  const each = same.map((v) => `${v.path} is the same program once parsed (${v.reasons.join('; ')})`);
  return `${diffName} changes no behaviour: ${each.join('; ')}. A bug must change what the code does; a test that fails on this change reads the source, not the behaviour`;
}

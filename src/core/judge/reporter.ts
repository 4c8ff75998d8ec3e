/**
 * The judge's own reporters (pytest: ./py/ssr_judge_pytest.py; node:test and
 * mocha: ./js/ssr_judge_node.sandbox.cjs) against the artifact's parser: what
 * they corroborate and what they contradict. Both write the same records to
 * the same channel; the runner folds them into one ReporterRecords.
 *
 * The reporter is loaded before any repository code and writes each test's
 * outcome, as pytest decided it from the exception a phase raised, to a pipe
 * outside the log. Its ids are pytest's node ids relative to the working
 * folder, what pytest's -rA summary prints and the bootstrap's parsers read;
 * the Node reporter's are "file::suite > test", as the bootstrap's node:test
 * and mocha parsers write them.
 * docs/judging.md ("The judge's reporter") says what it sees and what it does not.
 */
import type { ReporterRecords, TestResults } from './testRun';

/** Tamper evidence, shaped as evaluate.ts's Tampered. */
export interface ReporterTamper {
  reason: string;
  evidence: string[];
}

/** The reporter's outcome for a parser's test id; undefined when the id is not one it saw. */
export function reporterStatus(rep: ReporterRecords, id: string): 'passed' | 'failed' | undefined {
  const own = rep.tests[id];
  if (own) return own;
  // A test in a file (or class) that failed to collect did not run: it failed.
  if (rep.collectErrors.some((c) => c !== '' && (id === c || id.startsWith(`${c}::`)))) return 'failed';
  const tail = nodeTails(rep).get(id);
  return tail && tail.length === 1 ? rep.tests[tail[0]] : undefined;
}

/** A Node test file's id, "file.js::suite > test" (the Node reporter's); pytest's ("file.py::...") never are. */
const NODE_ID = /^[^:]*\.(?:[cm]?js|jsx|[cm]?ts|tsx)::(.+)$/;
const tailsOf = new WeakMap<ReporterRecords, Map<string, string[]>>();

/**
 * The Node reporter's ids by their tails: the titles without the file, and each shorter run of trailing titles
 * ("Cart > computes the subtotal", "computes the subtotal"). There is no one way to name a node:test or mocha test,
 * and a parser the injector wrote may leave the file or the suites out: an id that is the tail of exactly one
 * id the reporter saw is that test.
 */
function nodeTails(rep: ReporterRecords): Map<string, string[]> {
  let tails = tailsOf.get(rep);
  if (tails) return tails;
  tails = new Map();
  for (const id of Object.keys(rep.tests)) {
    const m = NODE_ID.exec(id);
    if (!m) continue;
    const titles = m[1].split(' > ');
    for (let i = 0; i < titles.length; i++) {
      const tail = titles.slice(i).join(' > ');
      tails.set(tail, [...(tails.get(tail) ?? []), id]);
    }
  }
  tailsOf.set(rep, tails);
  return tails;
}

/** What a pytest run after a solver's patch shows: the results to judge, and tamper evidence. */
export interface SolverCorroboration {
  results: TestResults;
  tampered?: ReporterTamper;
  /** Facts for the evaluation's detail (ids the reporter did not see, say). */
  notes: string[];
}

export interface SolverContext {
  /** Files the patch adds (not those it changes: a repository may be a pytest plugin, and a fix may be in it). */
  addedPaths: string[];
  /** The repository's path in the sandbox (the reporter's plugin files are absolute). */
  repoPath: string;
  /** Plugin keys the reporter saw on the original run, when that run is at hand (then added files are not asked about). */
  originalPlugins?: string[];
  /**
   * The reporter saw a pytest session on the original run with this script, and was loaded into this run: a
   * run without one is then evidence. (Unknown otherwise: a script may run pytest where the reporter cannot
   * follow, under tox say, and that is no one's fault.)
   */
  expectSession: boolean;
}

/**
 * The verdict's inputs for a solver's run. A test the reporter saw fail is
 * failed whatever the log says, and a log that says it passed is tamper
 * evidence; so are a plugin the original run did not load (or, where that
 * run is not at hand, one whose code is in a file the patch added), a core reporting function replaced during the
 * run, and a pytest session that never reached its end while the log reports
 * tests the reporter did not see, or no session where the original had one.
 */
export function corroborateSolverRun(parsed: TestResults, rep: ReporterRecords | undefined, ctx: SolverContext): SolverCorroboration {
  if (!rep) {
    if (!ctx.expectSession || !Object.keys(parsed).length) return { results: parsed, notes: [] };
    return { results: parsed, notes: [], tampered: { reason: "the log reports test results but the judge's reporter saw no pytest session", evidence: ['no pytest process loaded the reporter, though one did on the original'] } };
  }
  const results: TestResults = {};
  const evidence: string[] = [];
  const unseen: string[] = [];
  for (const [id, said] of Object.entries(parsed)) {
    const saw = reporterStatus(rep, id);
    if (saw === undefined) {
      unseen.push(id);
      if (rep.complete) results[id] = said; // not mapped: the parser's word, said so below
      else if (said === 'passed') evidence.push(`${id}: the log says passed; the reporter never saw it run and the session did not end`);
      continue;
    }
    if (saw === 'failed' && said === 'passed') evidence.push(`${id}: the log says passed; the judge's reporter saw it fail`);
    results[id] = saw === 'failed' || said === 'failed' ? 'failed' : 'passed';
  }
  evidence.push(...rep.identityChanged.map((f) => `a core reporting function changed during the run: ${f}`));
  evidence.push(...newPlugins(rep, ctx));
  const notes = unseen.length
    ? [`${unseen.length} test id(s) of the parser are not node ids the judge's reporter saw (e.g. ${unseen.slice(0, 3).join(', ')}): ${rep.complete ? 'their verdict rests on the parser' : 'left out, the session did not end'}`]
    : [];
  if (!evidence.length) return { results, notes };
  return { results, notes, tampered: { reason: "the judge's own pytest reporter contradicts how the tests were reported", evidence } };
}

/** Plugins loaded after the patch that the original run did not load; without that run, those whose code is in a file the patch added. */
function newPlugins(rep: ReporterRecords, ctx: SolverContext): string[] {
  const before = ctx.originalPlugins ? new Set(ctx.originalPlugins) : undefined;
  const added = new Set(ctx.addedPaths);
  const root = `${ctx.repoPath.replace(/\/+$/, '')}/`;
  const out: string[] = [];
  for (const p of rep.plugins) {
    const rel = p.file?.startsWith(root) ? p.file.slice(root.length) : undefined;
    const what = p.key.startsWith('node-preload=') ? 'a node preload' : 'a pytest plugin';
    if (before && !before.has(p.key)) out.push(`${what} the original run did not load: ${p.key}${p.file ? ` (${p.file})` : ''}`);
    else if (!before && rel && added.has(rel)) out.push(`${what} whose code is in a file the patch added: ${p.key} (${rel})`);
  }
  return out;
}

/**
 * Validation: which tests of the broken set the reporter corroborates (it
 * saw them pass on the original, when it ran there, and fail with the bug).
 * `ids` is undefined when there is nothing to corroborate with (no pytest, or
 * runs cached without the reporter): the broken set then rests on the
 * artifact's own script and parser, which `note` says.
 */
export function corroboratedBroken(
  candidates: string[],
  original: { reporter?: ReporterRecords } | undefined,
  buggy: { reporter?: ReporterRecords; cached?: boolean } | undefined,
): { ids?: Set<string>; note: string } {
  const o = original?.reporter;
  const b = buggy?.reporter;
  if (!b && (!o || buggy?.cached)) {
    return { note: "F rests on the artifact's own test_script.sh and test_parser.py (the judge's reporter saw no pytest session to corroborate it)" };
  }
  if (!b) return { ids: new Set(), note: "the judge's reporter saw no pytest session with the bug, though it saw one on the original" };
  const ids = new Set(candidates.filter((id) => reporterStatus(b, id) === 'failed' && (!o || reporterStatus(o, id) === 'passed')));
  const left = candidates.filter((id) => !ids.has(id));
  const note = left.length
    ? `${left.length} test(s) the log reports broken were not seen failing with the bug${o ? ' and passing on the original' : ''} by the judge's reporter, left out (e.g. ${left.slice(0, 3).join(', ')})`
    : `all ${ids.size} corroborated by the judge's reporter`;
  return { ids, note };
}

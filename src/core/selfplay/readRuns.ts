/**
 * Reading run directories tolerantly, for front ends (the extension's tree,
 * `ssr runs`, the report): a file edited by hand is reported against that
 * entry, never fatal for the whole listing. Also brings a finished run's
 * session.json summary up to date after work done outside a session.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadArtifact, type ArtifactFiles } from '../artifact/artifact';
import { CHECK_IDS, type CheckResult, type ValidationReport } from '../judge/checks';
import type { Evaluation } from '../judge/evaluate';
import { pidAlive } from '../sandbox/docker';
import { RUNS_SUBDIR, RunStore, readJson, type BugRecord } from '../runs/store';
import type { SessionFile } from './sessionFile';
import { computeMetrics } from './metrics';

/** Where runs live: `runsDirectory` (absolute, or relative to the repository), else `<repo>/.ssr/runs`. */
export function runsRoot(repoDir: string, runsDirectory?: string): string {
  if (runsDirectory && runsDirectory.trim()) return path.resolve(repoDir, runsDirectory.trim());
  return path.join(repoDir, RUNS_SUBDIR);
}

export type RunState = SessionFile['status'] | 'unreadable';

export interface RunEntry {
  id: string;
  dir: string;
  session?: SessionFile;
  /** Why session.json could not be read. */
  error?: string;
  /** The status, with a 'running' session whose process is gone on this host shown as 'interrupted'. */
  state: RunState;
}

/** A session's state as people should see it: a 'running' session whose process died is 'interrupted'. */
export function sessionState(s: Pick<SessionFile, 'status' | 'pid' | 'host'>, livePids: ReadonlySet<number> = new Set()): SessionFile['status'] {
  if (s.status !== 'running') return s.status;
  if (s.host === os.hostname() && typeof s.pid === 'number' && !livePids.has(s.pid) && s.pid !== process.pid && !pidAlive(s.pid)) return 'interrupted';
  return 'running';
}

/** Reads one run's session.json; errors are reported in the entry. */
export async function readRun(dir: string): Promise<RunEntry> {
  const id = path.basename(dir);
  try {
    const session = await readJson<SessionFile>(path.join(dir, 'session.json'));
    if (!session) return { id, dir, error: 'session.json is missing', state: 'unreadable' };
    if (typeof session !== 'object' || !session.config || typeof session.status !== 'string') {
      return { id, dir, error: 'session.json is not an SSR session (no config or status); was it edited by hand?', state: 'unreadable' };
    }
    return { id, dir, session, state: sessionState(session) };
  } catch (err) {
    return { id, dir, error: (err as Error).message, state: 'unreadable' };
  }
}

/** The runs under a runs folder, newest first. Folders without session.json are skipped. */
export async function listRunEntries(root: string): Promise<RunEntry[]> {
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return [];
  }
  const out: RunEntry[] = [];
  for (const n of names.sort().reverse()) {
    const dir = path.join(root, n);
    if (!fs.existsSync(path.join(dir, 'session.json'))) continue;
    out.push(await readRun(dir));
  }
  return out;
}

export interface BugEntry {
  id: string;
  dir: string;
  record?: BugRecord;
  error?: string;
}

/** The bugs of a run in session order; a bug.json that does not parse becomes an entry with `error`. */
export async function listBugEntries(runDir: string): Promise<BugEntry[]> {
  const root = path.join(runDir, 'bugs');
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return [];
  }
  const out: BugEntry[] = [];
  await Promise.all(
    names
      .filter((n) => !n.includes('.tmp-'))
      .map(async (id) => {
        const dir = path.join(root, id);
        try {
          const record = await readJson<BugRecord>(path.join(dir, 'bug.json'));
          if (!record) return; // a bug being created
          if (typeof record !== 'object' || typeof record.id !== 'string') out.push({ id, dir, error: 'bug.json is not a bug record; was it edited by hand?' });
          else out.push({ id, dir, record });
        } catch (err) {
          out.push({ id, dir, error: (err as Error).message });
        }
      }),
  );
  return out.sort((a, b) => {
    if (a.record && b.record) {
      return a.record.round - b.record.round || String(a.record.createdAt).localeCompare(String(b.record.createdAt)) || a.id.localeCompare(b.id);
    }
    return a.id.localeCompare(b.id);
  });
}

/** A bug's validation report (undefined when not validated yet); `error` when the file is corrupt. */
export async function readValidation(runDir: string, bugId: string): Promise<{ report?: ValidationReport; error?: string }> {
  try {
    const report = await readJson<ValidationReport>(path.join(runDir, 'bugs', bugId, 'validation.json'));
    if (report && !Array.isArray(report.checks)) return { error: 'validation.json has no checks; was it edited by hand?' };
    return { report };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The seven verdicts in the paper's order, failing ones first (what a reviewer looks at first). */
export function orderedChecks(report: Pick<ValidationReport, 'checks'>): CheckResult[] {
  const rank = (c: CheckResult) => (c.status === 'fail' ? 0 : c.status === 'pass' ? 1 : 2);
  const pos = (c: CheckResult) => {
    const i = (CHECK_IDS as readonly string[]).indexOf(c.id);
    return i < 0 ? 99 : i;
  };
  return [...report.checks].sort((a, b) => rank(a) - rank(b) || pos(a) - pos(b));
}

export interface AttemptEntry {
  n: number;
  dir: string;
  /** evaluation.json (the completion marker); undefined while the attempt runs. */
  result?: { solved: boolean; reward?: number; evaluation?: Evaluation; status?: string; error?: string };
  error?: string;
  trajectory?: string;
  patch?: string;
}

/** A bug's solver attempts, by number. */
export async function listAttempts(runDir: string, bugId: string): Promise<AttemptEntry[]> {
  const root = path.join(runDir, 'bugs', bugId, 'attempts');
  let names: string[];
  try {
    names = await fsp.readdir(root);
  } catch {
    return [];
  }
  const out: AttemptEntry[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const dir = path.join(root, name);
    const e: AttemptEntry = { n: Number(name), dir };
    try {
      e.result = await readJson(path.join(dir, 'evaluation.json'));
    } catch (err) {
      e.error = (err as Error).message;
    }
    if (fs.existsSync(path.join(dir, 'trajectory.json'))) e.trajectory = path.join(dir, 'trajectory.json');
    if (fs.existsSync(path.join(dir, 'pred_patch.diff'))) e.patch = path.join(dir, 'pred_patch.diff');
    out.push(e);
  }
  return out.sort((a, b) => a.n - b.n);
}

/** Reads a stored bug's artifact (the five files). */
export async function readBugArtifact(runDir: string, bugId: string): Promise<ArtifactFiles> {
  const dir = path.join(runDir, 'bugs', bugId, 'artifact');
  return (await loadArtifact(dir)).artifact;
}

/**
 * Brings a run's session.json counters and metrics up to date with its bugs
 * (after solving or re-validating a bug outside a session). Only for runs no
 * process is running.
 */
export async function refreshSessionSummary(runDir: string): Promise<void> {
  const store = new RunStore(runDir);
  const session = await store.readSession<SessionFile>();
  if (!session || session.status === 'running') return;
  const bugs = await store.listBugs();
  session.counters = {
    proposals: session.counters?.proposals ?? Object.keys(session.rounds ?? {}).length,
    validBugs: bugs.filter((b) => b.valid).length,
    attempts: bugs.reduce((n, b) => n + (b.attempts ?? 0), 0),
    solved: bugs.reduce((n, b) => n + (b.solved ?? 0), 0),
    higherOrder: bugs.filter((b) => b.order > 1).length,
  };
  session.metrics = await computeMetrics(store, session, session.activeMs ?? 0, (session.metrics?.peakRssMb ?? 0) * 1024 * 1024);
  session.updatedAt = new Date().toISOString();
  await store.writeSession(session);
}

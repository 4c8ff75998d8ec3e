/**
 * One-shot actions on a repository and its run directories, for front ends
 * that work one bug at a time (the VS Code extension): inject one bug into a
 * new run, solve a stored bug once more, re-validate a stored bug or any
 * artifact folder, and read run directories tolerantly (a file edited by
 * hand is reported against that entry, never fatal for the whole listing).
 *
 * Everything here goes through the same code as a self-play session (the
 * session itself for injection, the run store's layout and the paper's
 * rewards for solving), so the CLI, the extension and the trainer all see
 * the same files. No `vscode` import.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadArtifact, type ArtifactFiles, artifactId } from '../artifact/artifact';
import { CHECK_IDS, DEFAULT_THRESHOLDS, validateArtifact, type CheckResult, type Thresholds, type ValidationEvent, type ValidationReport } from '../judge/checks';
import { CancelledError, UsageError, isCancelled } from '../base/errors';
import type { Evaluation } from '../judge/evaluate';
import { runSolveEpisode } from './episodes';
import { makePlayers } from './players';
import { createPolicy, type PolicySpec } from '../policy';
import { DEFAULT_ALPHA } from '../judge/rewards';
import { DEFAULT_CONFIG, SelfPlaySession, computeMetrics, type Players, type SelfPlayConfig, type SessionEvent, type SessionFile } from './session';
import { DEFAULT_IMAGE, docker, pidAlive } from '../sandbox/docker';
import { type AttemptEvent, runSolveAttempt, updateBugRewards } from './solveAttempt';
import { JsonlFile, RUNS_SUBDIR, RunStore, readJson, writeJsonAtomic, type BugRecord } from '../runs/store';
import type { Trajectory, TrajectoryRecord, TrajectoryStep } from '../base/trajectory';
import type { StrategyChoice } from '../agents/prompts';
import { readerAfter, type FileReader } from '../artifact/review';

// ------------------------------------------------------------------ reading runs

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

// ------------------------------------------------------------------ inject

/** The policy as recorded in session.json: never a secret. */
export function policyDescription(spec?: PolicySpec): SelfPlayConfig['policy'] {
  if (!spec) return undefined;
  const s = spec as { kind: string; model?: string; baseUrl?: string; trajectory?: unknown };
  return {
    kind: s.kind,
    ...(s.model ? { model: s.model } : {}),
    ...(s.baseUrl ? { baseUrl: s.baseUrl } : {}),
    ...(typeof s.trajectory === 'string' ? { trajectory: s.trajectory } : {}),
  };
}

export interface InjectBugOptions {
  repoDir: string;
  image?: string;
  thresholds?: Partial<Thresholds>;
  concurrency?: number;
  /** The model as injector; undefined: the bootstrap proposer (no model). */
  policy?: PolicySpec;
  strategy?: StrategyChoice;
  /** Seed of the proposal (default: random, so each call proposes something new). */
  seed?: number;
  maxTurns?: number;
  testTimeoutMs?: number;
  /** The runs folder (default `<repo>/.ssr/runs`). */
  runsRoot?: string;
  runId?: string;
  signal?: AbortSignal;
  onEvent?: (e: SessionEvent) => void;
  /** Each step of the injector's episode (policy proposer only), as it happens. */
  onInjectStep?: (step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Replaces the players (tests). */
  players?: Players;
}

export interface InjectBugResult {
  runDir: string;
  session: SessionFile;
  bug?: BugRecord;
}

/**
 * Proposes one bug (bootstrap proposer, or the policy as injector), runs the
 * seven checks and stores it in a new run directory: a one-round self-play
 * session without solving, so the run looks like any other.
 */
export async function injectBug(opts: InjectBugOptions): Promise<InjectBugResult> {
  const players: Players = opts.players ?? injectOnlyPlayers(opts);
  const config: SelfPlayConfig = {
    ...DEFAULT_CONFIG,
    repoDir: path.resolve(opts.repoDir),
    image: opts.image ?? DEFAULT_IMAGE,
    proposer: opts.policy ? 'policy' : 'bootstrap',
    policy: policyDescription(opts.policy),
    strategy: opts.strategy ?? 'mix',
    attempts: 1,
    rounds: 1,
    higherOrder: false,
    thresholds: { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) },
    concurrency: opts.concurrency ?? DEFAULT_CONFIG.concurrency,
    seed: opts.seed ?? Math.floor(Math.random() * 2 ** 31),
    maxTurns: opts.maxTurns,
    testTimeoutMs: opts.testTimeoutMs,
  };
  const runId = opts.runId ?? RunStore.newRunId();
  const out = opts.runsRoot ? path.join(opts.runsRoot, runId) : undefined;
  const session = await SelfPlaySession.create(config, players, { signal: opts.signal, onEvent: opts.onEvent, out, runId });
  const file = await session.run();
  const store = new RunStore(session.runDir);
  const bug = (await store.listBugs())[0];
  return { runDir: session.runDir, session: file, bug };
}

/** Players that propose (bootstrap or policy injector, with live steps) and never solve. */
function injectOnlyPlayers(opts: InjectBugOptions): Players {
  const base = makePlayers({ policy: opts.policy, onInjectStep: opts.onInjectStep });
  if (!opts.policy) return { bootstrap: base.bootstrap };
  // No solve: the session stores the bug as 'unsolved-no-solver'.
  return { policy: base.policy, bootstrap: base.bootstrap, inject: base.inject };
}

// ------------------------------------------------------------------ solve

export interface SolveBugOptions {
  runDir: string;
  bugId: string;
  policy: PolicySpec;
  /** Attempts to run now (default 1), one after another. */
  attempts?: number;
  image?: string;
  maxTurns?: number;
  testTimeoutMs?: number;
  alpha?: number;
  signal?: AbortSignal;
  onEvent?: (e: SessionEvent) => void;
  onStep?: (attempt: number, step: TrajectoryStep, trajectory: Trajectory) => void;
  /** Replaces runSolveEpisode (tests). */
  solve?: typeof runSolveEpisode;
}

export interface SolveBugResult {
  bug: BugRecord;
  attempts: Array<{ n: number; solved: boolean; reward?: number; detail: string; trajectoryFile: string }>;
}

/**
 * Runs solver attempts on a stored bug, numbered after the ones already
 * there, and stores them exactly as a session does (attempts/<n>/, the
 * trajectory record, the bug's solve rate and r_inject over all attempts).
 */
export async function solveBug(opts: SolveBugOptions): Promise<SolveBugResult> {
  const run = await readRun(opts.runDir);
  if (!run.session) throw new UsageError(`${opts.runDir} is not a readable run: ${run.error}`);
  if (run.state === 'running' && run.session.pid !== process.pid) {
    throw new UsageError(`run ${run.id} is being run by process ${run.session.pid}; stop it before solving its bugs here`);
  }
  const store = await RunStore.open(opts.runDir);
  try {
    const bug = await store.readBug(opts.bugId);
    if (!bug) throw new UsageError(`run ${run.id} has no bug ${opts.bugId}`);
    if (bug.valid === false) throw new UsageError(`bug ${bug.id} is invalid (${bug.firstFailure ?? 'a check failed'}): only valid bugs are solved`);
    const artifact = await readBugArtifact(opts.runDir, bug.id);
    const { report } = await readValidation(opts.runDir, bug.id);
    const image = opts.image ?? run.session.config.image ?? DEFAULT_IMAGE;
    const solve = opts.solve ?? runSolveEpisode;
    const aid = artifactId(artifact);
    const repoDir = run.session.config.repoDir;
    const emit = (body: AttemptEvent) => {
      const e = { ts: new Date().toISOString(), ...body } as SessionEvent;
      store.events.append(e);
      opts.onEvent?.(e);
    };
    const done: SolveBugResult['attempts'] = [];
    const count = Math.max(1, opts.attempts ?? 1);
    for (let k = 0; k < count; k++) {
      if (opts.signal?.aborted) throw new CancelledError();
      const n = (await listAttempts(opts.runDir, bug.id)).reduce((m, a) => Math.max(m, a.n + 1), 0);
      const res = await runSolveAttempt({
        store,
        bug,
        artifact,
        artifactId: aid,
        attempt: n,
        signal: opts.signal,
        engine: docker(),
        unfinished: 'mark',
        emit,
        policy: () => createPolicy(opts.policy),
        episode: ({ policy, id, onStep }) =>
          solve({
            repoDir,
            image,
            policy,
            artifact,
            attempt: n,
            original: report?.original,
            originalReporter: report?.originalReporter,
            maxTurns: opts.maxTurns ?? run.session!.config.maxTurns,
            testTimeoutMs: opts.testTimeoutMs ?? run.session!.config.testTimeoutMs,
            signal: opts.signal,
            id,
            artifactId: aid,
            labels: { 'ssr.run': run.id },
            onStep: (step, t) => {
              onStep(step.index, step.tool);
              opts.onStep?.(n, step, t);
            },
          }),
      });
      done.push({ n, solved: res.solved, reward: res.reward, detail: res.detail, trajectoryFile: res.trajectoryFile });
    }
    // Solve rate and r_inject over every judged attempt of the bug.
    const alpha = opts.alpha ?? run.session.config.alpha ?? DEFAULT_ALPHA;
    await updateBugRewards(store, bug, alpha, emit);
    store.close();
    await refreshSessionSummary(opts.runDir);
    return { bug, attempts: done };
  } finally {
    store.close();
  }
}

// ------------------------------------------------------------------ validate

export interface ValidateOptions {
  repoDir: string;
  image?: string;
  thresholds?: Partial<Thresholds>;
  concurrency?: number;
  testTimeoutMs?: number;
  signal?: AbortSignal;
  onCheck?: (c: CheckResult) => void;
  /** Every validation event (runs planned, started, finished; checks), for progress. */
  onEvent?: (e: ValidationEvent) => void;
  /** Replaces validateArtifact (tests). */
  validate?: typeof validateArtifact;
}

/** Runs the seven checks on an artifact folder (nothing is written). */
export async function validateFolder(dir: string, opts: ValidateOptions): Promise<ValidationReport> {
  const { artifact, problems } = await loadArtifact(dir);
  return (opts.validate ?? validateArtifact)({
    repoDir: opts.repoDir,
    artifact,
    problems,
    image: opts.image ?? DEFAULT_IMAGE,
    ...DEFAULT_THRESHOLDS,
    ...(opts.thresholds ?? {}),
    concurrency: opts.concurrency,
    testTimeoutMs: opts.testTimeoutMs,
    signal: opts.signal,
    onEvent: (e) => {
      if (e.type === 'check') opts.onCheck?.(e.check);
      opts.onEvent?.(e);
    },
  });
}

/** Re-runs the seven checks on a stored bug and stores the new report and verdict. */
export async function revalidateBug(runDir: string, bugId: string, opts: Omit<ValidateOptions, 'repoDir'> & { repoDir?: string }): Promise<ValidationReport> {
  const run = await readRun(runDir);
  if (!run.session) throw new UsageError(`${runDir} is not a readable run: ${run.error}`);
  if (run.state === 'running' && run.session.pid !== process.pid) {
    throw new UsageError(`run ${run.id} is being run by process ${run.session.pid}; stop it before re-validating its bugs`);
  }
  const store = new RunStore(runDir);
  const bug = await store.readBug(bugId);
  if (!bug) throw new UsageError(`run ${run.id} has no bug ${bugId}`);
  const report = await validateFolder(path.join(store.bugDir(bugId), 'artifact'), {
    ...opts,
    repoDir: opts.repoDir ?? run.session.config.repoDir,
    image: opts.image ?? run.session.config.image,
    thresholds: opts.thresholds ?? run.session.config.thresholds,
  });
  if (opts.signal?.aborted) throw new CancelledError();
  await writeJsonAtomic(path.join(store.bugDir(bugId), 'validation.json'), report);
  const wasValid = bug.valid;
  bug.valid = report.valid;
  bug.firstFailure = report.firstFailure;
  if (!report.valid) {
    bug.status = 'invalid';
    bug.rInject = -1;
  } else if (wasValid === false || bug.status === 'invalid') {
    bug.status = 'unsolved-no-solver';
    bug.rInject = undefined;
  }
  bug.updatedAt = new Date().toISOString();
  await store.writeBug(bug);
  await refreshSessionSummary(runDir);
  return report;
}

/** A validation report as Markdown, for people. */
export function formatValidationReport(r: ValidationReport, title = 'Validation'): string {
  const icon = (s: string) => (s === 'pass' ? '✅' : s === 'fail' ? '❌' : '⏭️');
  const lines = [
    `# ${title}: ${r.valid ? 'valid' : `invalid (${r.firstFailure ?? 'a check failed'})`}`,
    '',
    `Thresholds: ${r.thresholds.minPassingTests} passing tests, ${r.thresholds.minChangedFiles} changed file(s), ${r.thresholds.minFailingTests} failing test(s). Image ${r.image}. ${Math.round(r.durationMs)} ms.`,
    '',
    '| check | verdict | detail | ms |',
    '| --- | --- | --- | ---: |',
    ...orderedChecks(r).map((c) => `| ${c.id} | ${icon(c.status)} ${c.status} | ${c.detail.replace(/\|/g, '\\|').replace(/\n/g, ' ')} | ${Math.round(c.durationMs)} |`),
    '',
  ];
  if (r.bugFiles?.length) lines.push(`Bug files: ${r.bugFiles.join(', ')}`, '');
  if (r.brokenTests?.length) lines.push(`Tests the bug breaks (${r.brokenTests.length}): ${r.brokenTests.slice(0, 30).join(', ')}${r.brokenTests.length > 30 ? ', ...' : ''}`, '');
  if (r.flaky?.length) lines.push(`Flaky tests left out: ${r.flaky.join(', ')}`, '');
  return lines.join('\n');
}

// ------------------------------------------------------------------ trajectories for people

/** What the stepper shows of one step. */
export interface StepView {
  index: number;
  tool: string;
  /** The assistant's text of the turn that made the call. */
  assistant: string;
  arguments: string;
  output: string;
  exitCode: number | null;
  durationMs: number;
  error?: string;
  truncated: boolean;
  restarted?: string;
  hasDiff: boolean;
  diffTruncated?: boolean;
}

export interface TrajectoryView {
  id: string;
  role: string;
  status: string;
  error?: string;
  reward?: number;
  policy: string;
  strategy?: string;
  task: string;
  steps: StepView[];
  totalMs?: number;
}

/** One step as the stepper shows it. */
export function stepView(t: Pick<Trajectory, 'messages'>, s: TrajectoryStep): StepView {
  const m = t.messages?.[s.messageIndex];
  return {
    index: s.index,
    tool: s.tool,
    assistant: m && m.role === 'assistant' ? m.content : '',
    arguments: s.arguments ?? '',
    output: s.output ?? '',
    exitCode: s.exitCode ?? null,
    durationMs: s.durationMs ?? 0,
    error: s.error,
    truncated: Boolean(s.truncated),
    restarted: s.restarted,
    hasDiff: Boolean(s.diff && s.diff.trim()),
    diffTruncated: s.diffTruncated,
  };
}

/** A trajectory as the stepper shows it (no token ids, no log-probabilities). */
export function trajectoryView(t: Trajectory): TrajectoryView {
  const user = t.messages?.find((m) => m.role === 'user');
  return {
    id: t.id,
    role: t.role,
    status: t.status,
    error: t.error,
    reward: t.reward,
    policy: [t.policy?.kind, t.policy?.model].filter(Boolean).join(' '),
    strategy: t.strategy,
    task: user?.content ?? '',
    steps: (t.steps ?? []).map((s) => stepView(t, s)),
    totalMs: t.timings?.totalMs,
  };
}

/**
 * A reader for the repository state right before step `index` of a
 * trajectory: the original (from `original`), plus the bug and the weakening
 * for a solver (the state the solver started from), plus every earlier
 * step's diff. Files a diff could not be applied to read as unknown.
 */
export function stateBeforeStep(original: FileReader, t: Pick<Trajectory, 'role' | 'steps'>, index: number, artifact?: ArtifactFiles): FileReader {
  const diffs: string[] = [];
  if (t.role === 'solver' && artifact) diffs.push(artifact.bugInjectDiff, artifact.testWeakenDiff);
  for (const s of t.steps) {
    if (s.index >= index) break;
    if (s.diff) diffs.push(s.diff);
  }
  return readerAfter(original, diffs);
}

/** Reads a repository file for review, read-only; undefined when it does not exist or is not a file. */
export function repoFileReader(repoDir: string): FileReader {
  const root = path.resolve(repoDir);
  return (rel) => {
    const abs = path.resolve(root, rel);
    if (abs !== root && !abs.startsWith(root + path.sep)) return undefined;
    try {
      return fs.readFileSync(abs, 'utf8');
    } catch {
      return undefined;
    }
  };
}

/** Counts trajectory records of a run (the trainer's input), tolerating torn lines. */
export function countTrajectoryRecords(runDir: string): { solver: number; injector: number } {
  const { records } = JsonlFile.read<TrajectoryRecord>(path.join(runDir, 'trajectories.jsonl'));
  return { solver: records.filter((r) => r.role === 'solver').length, injector: records.filter((r) => r.role === 'injector').length };
}

// ------------------------------------------------------------------ model server

export type ProbeResult = { ok: true; models: string[] } | { ok: false; error: string };

/**
 * Asks an OpenAI-compatible server for its models (GET {baseUrl}/models)
 * with a short timeout, to say "the server is not reachable" before a run
 * starts rather than after its first episode fails. The key is sent as a
 * Bearer token only and never appears in the result.
 */
export async function probeOpenAI(baseUrl: string | undefined, apiKey?: string, timeoutMs = 5000): Promise<ProbeResult> {
  const base = (baseUrl || 'http://127.0.0.1:8000/v1').trim().replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${base}/models`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    return { ok: false, error: `${base} is not an http(s) URL` };
  }
  const shown = `${url.protocol}//${url.host}${url.pathname}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  url.username = '';
  url.password = '';
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (res.status === 401 || res.status === 403) return { ok: false, error: `${shown} refused the API key (HTTP ${res.status})` };
    if (!res.ok) return { ok: false, error: `${shown} answered HTTP ${res.status}` };
    const body = (await res.json().catch(() => undefined)) as { data?: Array<{ id?: unknown }> } | undefined;
    const models = Array.isArray(body?.data) ? body!.data.map((m) => String(m.id)).filter(Boolean) : [];
    return { ok: true, models };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer in ${Math.round(timeoutMs / 1000)} s` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, error: `${shown} is not reachable (${why})` };
  }
}

export { isCancelled };

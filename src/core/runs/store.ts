/**
 * The run store: everything a self-play session produces, on disk, in a
 * layout other tools can read, written so that a process killed with SIGKILL
 * at any moment leaves a consistent directory to resume from.
 *
 *   <repo>/.ssr/runs/<run-id>/
 *     session.json                       configuration, status, counters, metrics
 *     events.jsonl                       append-only, one event per line, flushed per event
 *     trajectories.jsonl                 one record per episode with role and reward (the trainer's input)
 *     bugs/<bug-id>/artifact/            the five files (+ ssr.json)
 *     bugs/<bug-id>/bug.json             order, parent, round, status, solve rate, r_inject
 *     bugs/<bug-id>/validation.json      the seven checks' report
 *     bugs/<bug-id>/injector.json        the injector's trajectory (policy proposers only)
 *     bugs/<bug-id>/attempts/<n>/{trajectory.json, pred_patch.diff, evaluation.json}
 *
 * Rules that make resume exact: every JSON file is written to a temporary
 * name and renamed (readers never see half a file); a unit of work's
 * completion marker is written last (evaluation.json for an attempt,
 * validation.json for a validation); JSONL files are repaired on open (a
 * torn last line is cut) and records are keyed by id, so an append that is
 * repeated after a crash is recognised and skipped.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { type ArtifactFiles, loadArtifact, writeArtifact } from '../artifact/artifact';
import type { TrajectoryRecord } from '../base/trajectory';
import { UsageError } from '../base/errors';

export const RUNS_SUBDIR = path.join('.ssr', 'runs');

/** Writes JSON atomically: temp file, fsync, rename. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

export async function writeFileAtomic(file: string, data: string): Promise<void> {
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON (${(err as Error).message}); was it edited by hand? Fix or delete it.`);
  }
}

/**
 * An append-only JSONL file. On open, a torn last line (a crash mid-append)
 * is cut off; each append is one write of one line followed by fsync.
 */
export class JsonlFile {
  private fd?: number;
  constructor(readonly file: string) {}

  /** Cuts a partial last line. Returns the number of bytes removed. */
  repair(): number {
    if (!fs.existsSync(this.file)) return 0;
    const buf = fs.readFileSync(this.file);
    if (buf.length === 0 || buf[buf.length - 1] === 0x0a) return 0;
    const keep = buf.lastIndexOf(0x0a) + 1;
    fs.truncateSync(this.file, keep);
    return buf.length - keep;
  }

  append(value: unknown): void {
    if (this.fd === undefined) {
      fs.mkdirSync(path.dirname(this.file), { recursive: true });
      this.fd = fs.openSync(this.file, 'a');
    }
    fs.writeSync(this.fd, JSON.stringify(value) + '\n');
    fs.fsyncSync(this.fd);
  }

  /** Reads every complete line; lines that do not parse are reported, not fatal. */
  static read<T>(file: string): { records: T[]; bad: number[] } {
    if (!fs.existsSync(file)) return { records: [], bad: [] };
    const records: T[] = [];
    const bad: number[] = [];
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      try {
        records.push(JSON.parse(line) as T);
      } catch {
        if (i < lines.length - 1) bad.push(i + 1);
      }
    });
    return { records, bad };
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

export type SessionStatus = 'running' | 'finished' | 'cancelled' | 'failed' | 'interrupted';

export interface BugRecord {
  id: string;
  order: number;
  parent?: string;
  /** The attempt of the parent whose patch made this bug. */
  parentAttempt?: number;
  round: number;
  source: string;
  strategy?: string;
  /** The proposer's key (bootstrap: target + strategy), to avoid repeats. */
  key?: string;
  status: 'proposed' | 'validated' | 'invalid' | 'solving' | 'done' | 'unsolved-no-solver';
  valid?: boolean;
  firstFailure?: string;
  attempts?: number;
  solved?: number;
  /** Judged attempts the judge found tampered (absent when none). */
  tampered?: number;
  /** A valid bug whose broken tests only the artifact's own script saw fail (no judge's reporter for its runner). */
  brokenSeenByScriptOnly?: boolean;
  solveRate?: number;
  rInject?: number;
  createdAt: string;
  updatedAt: string;
}

/** One run directory. */
export class RunStore {
  readonly events: JsonlFile;
  readonly trajectories: JsonlFile;
  private trajectoryIds?: Set<string>;

  constructor(readonly dir: string) {
    this.events = new JsonlFile(path.join(dir, 'events.jsonl'));
    this.trajectories = new JsonlFile(path.join(dir, 'trajectories.jsonl'));
  }

  get id(): string {
    return path.basename(this.dir);
  }

  static newRunId(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    return `${stamp}-${randomBytes(3).toString('hex')}`;
  }

  /** Creates `<repo>/.ssr/runs/<id>` (or uses `out`), and keeps .ssr/ out of git. */
  static async create(opts: { repoDir: string; out?: string; runId?: string }): Promise<RunStore> {
    const id = opts.runId ?? RunStore.newRunId();
    const dir = opts.out ? path.resolve(opts.out) : path.join(opts.repoDir, RUNS_SUBDIR, id);
    if (fs.existsSync(path.join(dir, 'session.json'))) {
      throw new UsageError(`${dir} already holds a run; resume it with --resume ${dir} or choose another --out`);
    }
    await fsp.mkdir(path.join(dir, 'bugs'), { recursive: true });
    if (!opts.out || isInside(dir, opts.repoDir)) await excludeFromGit(opts.repoDir);
    return new RunStore(dir);
  }

  /** Opens an existing run for resuming: repairs torn JSONL lines. */
  static async open(dir: string): Promise<RunStore> {
    const abs = path.resolve(dir);
    if (!fs.existsSync(path.join(abs, 'session.json'))) {
      throw new UsageError(`${dir} is not a run directory (no session.json); \`ssr runs --repo DIR\` lists the runs of a repository`);
    }
    const s = new RunStore(abs);
    s.events.repair();
    s.trajectories.repair();
    return s;
  }

  /** Resolves --resume: a path, or a run id under the repository's .ssr/runs. */
  static resolve(ref: string, repoDir?: string): string {
    if (fs.existsSync(path.join(ref, 'session.json'))) return path.resolve(ref);
    if (repoDir) {
      const p = path.join(repoDir, RUNS_SUBDIR, ref);
      if (fs.existsSync(path.join(p, 'session.json'))) return p;
    }
    throw new UsageError(`no run ${ref}${repoDir ? ` (looked in ${path.join(repoDir, RUNS_SUBDIR)})` : ''}; \`ssr runs --repo DIR\` lists runs`);
  }

  bugDir(bugId: string): string {
    return path.join(this.dir, 'bugs', bugId);
  }

  attemptDir(bugId: string, n: number): string {
    return path.join(this.bugDir(bugId), 'attempts', String(n));
  }

  async readSession<T>(): Promise<T | undefined> {
    return readJson<T>(path.join(this.dir, 'session.json'));
  }

  async writeSession(value: unknown): Promise<void> {
    await writeJsonAtomic(path.join(this.dir, 'session.json'), value);
  }

  async writeArtifact(bugId: string, a: ArtifactFiles): Promise<void> {
    // Write to a temporary folder and rename, so a bug folder never holds half an artifact.
    const dst = path.join(this.bugDir(bugId), 'artifact');
    if (fs.existsSync(dst)) return;
    const tmp = `${dst}.tmp-${process.pid}`;
    await fsp.rm(tmp, { recursive: true, force: true });
    await writeArtifact(tmp, a);
    await fsp.rename(tmp, dst);
  }

  async readArtifact(bugId: string): Promise<ArtifactFiles | undefined> {
    const dst = path.join(this.bugDir(bugId), 'artifact');
    if (!fs.existsSync(dst)) return undefined;
    return (await loadArtifact(dst)).artifact;
  }

  async writeBug(b: BugRecord): Promise<void> {
    await writeJsonAtomic(path.join(this.bugDir(b.id), 'bug.json'), b);
  }

  async readBug(bugId: string): Promise<BugRecord | undefined> {
    return readJson<BugRecord>(path.join(this.bugDir(bugId), 'bug.json'));
  }

  async listBugs(): Promise<BugRecord[]> {
    const root = path.join(this.dir, 'bugs');
    const names = fs.existsSync(root) ? await fsp.readdir(root) : [];
    const out: BugRecord[] = [];
    for (const n of names) {
      if (n.includes('.tmp-')) continue;
      const b = await this.readBug(n);
      if (b) out.push(b);
    }
    return out.sort((a, b) => a.round - b.round || a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Appends a trajectory record unless one with the same id is there already. */
  appendTrajectory(rec: TrajectoryRecord): boolean {
    if (!this.trajectoryIds) {
      this.trajectoryIds = new Set(JsonlFile.read<TrajectoryRecord>(this.trajectories.file).records.map((r) => r.id));
    }
    if (this.trajectoryIds.has(rec.id)) return false;
    this.trajectories.append(rec);
    this.trajectoryIds.add(rec.id);
    return true;
  }

  close(): void {
    this.events.close();
    this.trajectories.close();
  }
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(path.resolve(parent), path.resolve(child));
  return !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Adds `.ssr/` to the repository's .git/info/exclude (never to a tracked file). */
export async function excludeFromGit(repoDir: string): Promise<void> {
  const gitDir = path.join(repoDir, '.git');
  if (!fs.existsSync(gitDir) || !fs.statSync(gitDir).isDirectory()) return;
  const file = path.join(gitDir, 'info', 'exclude');
  const text = fs.existsSync(file) ? await fsp.readFile(file, 'utf8') : '';
  if (text.split('\n').some((l) => l.trim() === '.ssr/' || l.trim() === '.ssr')) return;
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.appendFile(file, `${text && !text.endsWith('\n') ? '\n' : ''}.ssr/\n`);
}

/** The runs of a repository, newest first, with their session.json. */
export async function listRuns(repoDir: string): Promise<Array<{ id: string; dir: string; session?: Record<string, unknown> }>> {
  const root = path.join(repoDir, RUNS_SUBDIR);
  if (!fs.existsSync(root)) return [];
  const out: Array<{ id: string; dir: string; session?: Record<string, unknown> }> = [];
  for (const id of await fsp.readdir(root)) {
    const dir = path.join(root, id);
    let session: Record<string, unknown> | undefined;
    try {
      session = await readJson<Record<string, unknown>>(path.join(dir, 'session.json'));
    } catch {
      session = { status: 'unreadable' };
    }
    if (session) out.push({ id, dir, session });
  }
  return out.sort((a, b) => b.id.localeCompare(a.id));
}

/**
 * Tracks what the agent changes in the repository, step by step, without
 * touching the repository's own .git (the injector reads its history; the
 * solver may commit): a private git directory in /ssr/agent/track.git, work
 * tree = the repository, snapshots the starting state once; after each
 * step the work tree is written as a tree object and diffed against the
 * previous step's tree. A step's `diff` is therefore the delta that step
 * made; the cumulative diff (start -> now) is available at any time.
 *
 * Files ignored by the repository's .gitignore, `.git` folders, Python
 * caches and pytest caches are not tracked.
 */
import type { SandboxLike } from '../sandbox/types';
import { SandboxError } from '../base/errors';
import { AGENT_DIR } from './shell';

export const TRACK_GIT_DIR = `${AGENT_DIR}/track.git`;
/** Diffs larger than this are cut (the step records that it was). */
export const MAX_STEP_DIFF_BYTES = 256 * 1024;

const EXCLUDES = ['__pycache__/', '*.pyc', '.pytest_cache/', '.mypy_cache/', '.ruff_cache/'];

export class WorkspaceTracker {
  private startTree = '';
  private lastTree = '';

  constructor(private readonly sb: SandboxLike) {}

  private env(): Record<string, string> {
    return { GIT_DIR: TRACK_GIT_DIR, GIT_WORK_TREE: this.sb.repoPath, GIT_INDEX_FILE: `${TRACK_GIT_DIR}/index` };
  }

  /** Records the starting state. Call once, before the agent's first step. */
  async init(): Promise<void> {
    const r = await this.sb.exec(
      `rm -rf ${TRACK_GIT_DIR} && mkdir -p ${TRACK_GIT_DIR} && git init -q && ` +
        `printf '%s\\n' ${EXCLUDES.map((e) => `'${e}'`).join(' ')} > ${TRACK_GIT_DIR}/info/exclude && ` +
        `git add -A && git write-tree`,
      { env: this.env(), timeoutMs: 300_000 },
    );
    if (r.exitCode !== 0) throw new SandboxError(`recording the starting state failed: ${(r.stderr || r.stdout).trim().slice(-1000)}`);
    this.startTree = this.lastTree = r.stdout.trim();
  }

  get startingTree(): string {
    return this.startTree;
  }

  /**
   * The diff the last step made (empty when it changed nothing), and whether
   * it was cut. One sandbox round trip.
   */
  async stepDiff(): Promise<{ diff: string; truncated: boolean }> {
    const prev = this.lastTree;
    const r = await this.sb.exec(
      `git add -A >/dev/null 2>&1; t=$(git write-tree) || exit 3; echo "$t"; ` +
        `if [ "$t" != ${prev} ]; then git diff --no-color --no-ext-diff --binary ${prev} "$t"; fi`,
      { env: this.env(), timeoutMs: 120_000, maxOutputBytes: MAX_STEP_DIFF_BYTES },
    );
    if (r.exitCode !== 0) return { diff: '', truncated: false };
    const nl = r.stdout.indexOf('\n');
    const tree = (nl < 0 ? r.stdout : r.stdout.slice(0, nl)).trim();
    if (/^[0-9a-f]{40,64}$/.test(tree)) this.lastTree = tree;
    return { diff: nl < 0 ? '' : r.stdout.slice(nl + 1), truncated: r.truncated };
  }

  /** The diff of the work tree against the starting state, new files included (never cut). */
  async cumulativeDiff(exclude: string[] = []): Promise<string> {
    const spec = exclude.length ? ` -- . ${exclude.map((p) => `':(exclude)${p.replace(/'/g, `'\\''`)}'`).join(' ')}` : '';
    const r = await this.sb.exec(
      `git add -A >/dev/null 2>&1; t=$(git write-tree) || exit 3; git diff --no-color --no-ext-diff --binary ${this.startTree} "$t"${spec}`,
      { env: this.env(), timeoutMs: 120_000, maxOutputBytes: 64 << 20 },
    );
    if (r.exitCode !== 0) throw new SandboxError(`computing the diff failed: ${(r.stderr || r.stdout).trim().slice(-1000)}`);
    return r.stdout;
  }
}

/**
 * The original state of a sandbox's repository, kept in SSR's own git
 * directory (/ssr/base.git, work tree = the repo), so that the repository's
 * own .git (its history, which the injector's history strategy reads) is
 * never touched. Every state the checks need (buggy, weakened, one file
 * restored) is built from it with `git apply`, and reset to it.
 */
import type { ExecResult, SandboxLike } from './types';
import { SandboxError } from '../base/errors';
import { span } from '../base/trace';

export const BASE_GIT_DIR = '/ssr/base.git';
export const BASE_REF = 'refs/ssr/original';

/** Quotes a string for bash. */
export function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function gitDir(sb: SandboxLike): string {
  return sb.baseGitDir ?? BASE_GIT_DIR;
}

function gitEnv(sb: SandboxLike): Record<string, string> {
  return { GIT_DIR: gitDir(sb), GIT_WORK_TREE: sb.repoPath };
}

async function must(sb: SandboxLike, what: string, cmd: string, timeoutMs = 120_000): Promise<ExecResult> {
  const r = await sb.exec(cmd, { env: gitEnv(sb), timeoutMs });
  if (r.exitCode !== 0) {
    throw new SandboxError(`${what} failed in sandbox ${sb.id}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  }
  return r;
}

/**
 * Ignored files present in the original state (installed dependencies such
 * as node_modules, a repo-in-image's build of its extensions) are kept in
 * every state; ignored files a test run makes (caches, build output) are
 * removed when a state is reset, like any other new file.
 */
const PRESERVE_FILE = 'ssr-preserve';

/** Commits the current work tree as the original state. */
export async function initBaseline(sb: SandboxLike): Promise<void> {
  await span('baseline.init', () => must(
    sb,
    'recording the original state',
    `rm -rf ${gitDir(sb)} && git init -q && git add -A && ` +
      `git commit -q --allow-empty --no-verify -m original && git update-ref ${BASE_REF} HEAD && ` +
      `git ls-files -z --others --ignored --exclude-standard --directory > ${gitDir(sb)}/${PRESERVE_FILE}`,
  ));
}

/** Puts the work tree back to the original state: tracked files reset, new files removed (ignored ones too, except those of the original state). */
export async function resetToBaseline(sb: SandboxLike): Promise<void> {
  const keep = `${gitDir(sb)}/${PRESERVE_FILE}`;
  await span('baseline.reset', () => must(
    sb,
    'resetting to the original state',
    `git reset -q --hard ${BASE_REF} && args=() && ` +
      `{ [ -f ${keep} ] || : > ${keep}; } && ` +
      `while IFS= read -r -d '' p; do args+=(-e "/$(printf '%s' "$p" | sed 's/[][*?!#\\ ]/\\&/g')"); done < ${keep} && ` +
      `git clean -fdqx "\${args[@]}"`,
  ));
}

export interface ApplyResult {
  ok: boolean;
  error?: string;
}

/** Applies a unified diff to the work tree with `git apply`. Never throws for a diff that does not apply. */
export async function applyDiff(sb: SandboxLike, diff: string, name = 'patch', reverse = false): Promise<ApplyResult> {
  if (!diff.trim()) return { ok: true };
  const file = `/ssr/tmp/${name}-${Date.now()}-${Math.random().toString(36).slice(2)}.diff`;
  await sb.writeFile(file, diff.endsWith('\n') ? diff : diff + '\n');
  const r = await sb.exec(
    `git apply --whitespace=nowarn ${reverse ? '-R ' : ''}${file}; rc=$?; rm -f ${file}; exit $rc`,
    { env: gitEnv(sb), timeoutMs: 60_000 },
  );
  if (r.exitCode === 0) return { ok: true };
  return { ok: false, error: (r.stderr || r.stdout).trim().slice(0, 2000) || `git apply exited ${r.exitCode}` };
}

/**
 * Restores files to their original content; a path that did not exist in the
 * original state is deleted.
 */
export async function restoreFromBaseline(sb: SandboxLike, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const script = paths
    .map(
      (p) =>
        `if git cat-file -e ${sh(`${BASE_REF}:${p}`)} 2>/dev/null; then git checkout -q ${BASE_REF} -- ${sh(p)}; ` +
        `else rm -rf -- ${sh(p)}; fi`,
    )
    .join('\n');
  await must(sb, 'restoring original files', `set -e\n${script}`);
}

/**
 * The diff of the work tree against the original state, new files included.
 * `exclude` leaves paths out (e.g. the oracle test files); `only` keeps just those.
 */
export async function diffAgainstBaseline(
  sb: SandboxLike,
  opts: { exclude?: string[]; only?: string[] } = {},
): Promise<string> {
  const specs = [
    ...(opts.only ?? []).map((p) => sh(p)),
    ...(opts.exclude ?? []).map((p) => sh(`:(exclude)${p}`)),
  ];
  const pathspec = specs.length ? ` -- ${opts.only?.length ? '' : '.'} ${specs.join(' ')}` : '';
  const r = await must(
    sb,
    'computing the diff',
    `git add -A && git diff --cached --no-color --no-ext-diff --binary ${BASE_REF}${pathspec}`,
  );
  return r.stdout;
}

/** A file's content in the original state; undefined when it did not exist. */
export async function readBaseline(sb: SandboxLike, p: string): Promise<string | undefined> {
  const r = await sb.exec(`git cat-file -p ${sh(`${BASE_REF}:${p}`)}`, { env: gitEnv(sb), timeoutMs: 60_000, maxOutputBytes: 16 << 20 });
  return r.exitCode === 0 ? r.stdout : undefined;
}

/** One file before and after a diff; undefined where it does not exist (or is too large to read whole). */
export interface FileStates {
  path: string;
  before?: string;
  after?: string;
}

/**
 * Files' content in the original state and in the state a diff makes from it,
 * read through a scratch index: the work tree is not touched. An error when
 * the diff does not apply to the original.
 */
export async function readBeforeAfter(sb: SandboxLike, diff: string, paths: string[]): Promise<FileStates[] | { error: string }> {
  const tag = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const file = `/ssr/tmp/states-${tag}.diff`;
  const env = { ...gitEnv(sb), GIT_INDEX_FILE: `/ssr/tmp/states-${tag}.index` };
  await sb.writeFile(file, diff.endsWith('\n') ? diff : diff + '\n', 0o600);
  try {
    const r = await sb.exec(`git read-tree ${BASE_REF} && git apply --cached --whitespace=nowarn ${file}`, { env, timeoutMs: 60_000 });
    if (r.exitCode !== 0) return { error: (r.stderr || r.stdout).trim().slice(0, 2000) || `git apply exited ${r.exitCode}` };
    const read = async (spec: string) => {
      const c = await sb.exec(`git cat-file -p ${sh(spec)}`, { env, timeoutMs: 60_000, maxOutputBytes: 16 << 20 });
      return c.exitCode === 0 && !c.truncated ? c.stdout : undefined;
    };
    const out: FileStates[] = [];
    for (const p of paths) out.push({ path: p, before: await read(`${BASE_REF}:${p}`), after: await read(`:${p}`) });
    return out;
  } finally {
    await sb.exec(`rm -f ${file} ${env.GIT_INDEX_FILE}`, { timeoutMs: 30_000 });
  }
}

/** Every file of the original state (repository-relative paths). */
export async function listBaseline(sb: SandboxLike): Promise<string[]> {
  const r = await must(sb, 'listing the original files', `git ls-tree -r -z --name-only ${BASE_REF}`);
  return r.stdout.split('\0').filter(Boolean);
}

/** Whether a path exists in the original state. */
export async function existsInBaseline(sb: SandboxLike, paths: string[]): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  if (paths.length === 0) return out;
  const r = await sb.exec(
    paths.map((p) => `git cat-file -e ${sh(`${BASE_REF}:${p}`)} 2>/dev/null && echo 1 || echo 0`).join('\n'),
    { env: gitEnv(sb), timeoutMs: 60_000 },
  );
  const lines = r.stdout.trim().split('\n');
  paths.forEach((p, i) => out.set(p, lines[i] === '1'));
  return out;
}

/**
 * Another worker in the same container: a copy of the repository (in its
 * current, original state) with its own baseline git directory, so states
 * can be built and reset in both side by side.
 */
export async function copyWorker(sb: SandboxLike, dir: string): Promise<{ repoPath: string; baseGitDir: string }> {
  const baseGitDir = `${dir}.git`;
  await must(sb, 'preparing a worker', `rm -rf ${sh(dir)} ${sh(baseGitDir)} && cp -a ${sh(sb.repoPath)} ${sh(dir)} && cp -a ${sh(gitDir(sb))} ${sh(baseGitDir)}`);
  return { repoPath: dir, baseGitDir };
}

/**
 * Ignored output derived from the sources (bytecode, build and dist folders,
 * coverage data, test caches): made from the original code, it would hand
 * the solver the fix. Installed dependencies (node_modules, virtualenvs)
 * are not in the list and stay.
 */
export const DERIVED_OUTPUT = [
  '__pycache__', '*.pyc', '*.pyo', 'build', 'dist', '*.egg-info', '.eggs', '.coverage', '.coverage.*', 'coverage', 'htmlcov',
  '.nyc_output', '.pytest_cache', '.mypy_cache', '.ruff_cache', '.tox', '.nox', '.hypothesis', '*.tsbuildinfo', '.next', '.turbo',
  '.parcel-cache', '.cache', 'out', 'target', '*.so', '*.o', '*.class', '*.jar',
];

/** Removes ignored files derived from the sources (see DERIVED_OUTPUT) from the work tree; returns what went. */
export async function removeDerivedOutputs(sb: SandboxLike): Promise<string[]> {
  const globs = DERIVED_OUTPUT.map((g) => `'${g}'`).join(' ');
  const r = await must(
    sb,
    'removing build output',
    `git ls-files -z --others --ignored --exclude-standard --directory | python3 -c '
import fnmatch, os, shutil, sys
pats = sys.argv[1:]
for p in sys.stdin.buffer.read().decode("utf-8", "replace").split("\\0"):
    if not p:
        continue
    parts = p.rstrip("/").split("/")
    for i, part in enumerate(parts):
        if any(fnmatch.fnmatch(part, g) for g in pats):
            target = "/".join(parts[: i + 1])
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target, ignore_errors=True)
            elif os.path.lexists(target):
                os.unlink(target)
            print(target)
            break
' ${globs}`,
  );
  return r.stdout.split('\n').filter(Boolean);
}

/**
 * Turns the current work tree into a repository with no history: the
 * baseline and any .git are removed, then a fresh repo with a single commit
 * is made. This is the solver's starting point: no history leaks the fix.
 */
export async function freshRepo(sb: SandboxLike, message = 'Initial commit'): Promise<void> {
  const r = await sb.exec(
    `rm -rf ${gitDir(sb)} .git && git init -q && git add -A && git commit -q --no-verify -m ${sh(message)}`,
    { timeoutMs: 120_000 },
  );
  if (r.exitCode !== 0) throw new SandboxError(`making a fresh repository failed: ${r.stderr.trim()}`);
}

/**
 * What of the user's folder goes into a sandbox. The model reads everything
 * in a sandbox and its trajectories become training data, so the user's
 * secrets (an ignored `.env`, a key, a token file) must never be copied in.
 *
 * - **A git work tree**: what git shows, i.e. tracked files and untracked files
 *   that are not ignored (`git ls-files -z --cached --others --exclude-standard`);
 *   tracked files deleted from the work tree are skipped. An untracked file that
 *   looks like a secret (the deny list's secret patterns) is left out too.
 * - **A folder that is not a git repository** (or one that an enclosing repository
 *   ignores whole): every file except the deny list (`DENY_SECRETS` and `DENY_CACHES`).
 * - **Always added**: dependency folders the tests need that are usually ignored
 *   (`node_modules`, at any depth, when present), and what the user declares in
 *   `.ssr/include` (one path per line, a file or a folder, relative to the
 *   repository; `#` starts a comment) or passes as `include`. A declared path is
 *   copied even when it matches the deny list: the user asked for it.
 * - **Never**: `.ssr/` (SSR's runs), and `.git/` unless the caller asks for the
 *   history (`includeGit`, the injector's history strategy).
 *
 * Symbolic links are copied as links (their target is never read).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { unsafePathReason } from '../artifact/artifact';
import { UsageError } from '../base/errors';

const run = promisify(execFile);

/** Dependency folders copied even when git ignores them: the tests need them. */
export const DEPENDENCY_DIRS = ['node_modules'];

/** File name patterns (matched against each path component) that hold secrets. */
export const DENY_SECRETS = [
  '.env',
  '.env.*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
  '.npmrc',
  '.pypirc',
  '.netrc',
  '.git-credentials',
  '.aws',
  '.ssh',
  '.gnupg',
  '.docker',
  '.kube',
];

/** Caches and build leftovers of a folder that is not a git repository. */
export const DENY_CACHES = ['__pycache__', '.pytest_cache', '.mypy_cache', '.ruff_cache', '.coverage', '.coverage.*', '.tox', '.nox', '.cache'];

/** The file where a user declares extra paths to copy. */
export const INCLUDE_FILE = path.join('.ssr', 'include');

export interface RepoFilesOptions {
  /** Copy the repository's own .git too. */
  includeGit?: boolean;
  /** Extra paths (files or folders, relative to the repository) to copy, on top of `.ssr/include`. */
  include?: string[];
}

/** What to copy: files (and links) by relative path, and folders copied whole. */
export interface RepoFileList {
  mode: 'git' | 'folder';
  /** Relative POSIX paths of files and symbolic links. */
  files: string[];
  /** Relative POSIX paths of folders copied with everything under them. */
  trees: string[];
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`);
}

const SECRET_RES = DENY_SECRETS.map(globToRegExp);
const CACHE_RES = DENY_CACHES.map(globToRegExp);

/** Whether a relative path has a component that matches the patterns. */
function matches(rel: string, res: RegExp[]): boolean {
  return rel.split('/').some((part) => res.some((re) => re.test(part)));
}

/** Whether a relative path looks like a secret (a component matches DENY_SECRETS). */
export function looksSecret(rel: string): boolean {
  return matches(rel, SECRET_RES);
}

/** The paths a user declared in `.ssr/include`, and `extra`; unsafe paths (absolute, `..`, `.git`) are refused. */
export function declaredIncludes(root: string, extra: string[] = []): string[] {
  const file = path.join(root, INCLUDE_FILE);
  const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : [];
  const out: string[] = [];
  for (const raw of [...lines, ...extra]) {
    const line = raw.replace(/#.*$/, '').trim().replace(/\\/g, '/').replace(/^\.\/+/, '').replace(/\/+$/, '');
    if (!line) continue;
    const why = unsafePathReason(line);
    if (why) throw new UsageError(`${INCLUDE_FILE}: cannot include ${why}`);
    out.push(line);
  }
  return out;
}

async function gitLs(root: string, args: string[]): Promise<string[]> {
  const { stdout } = await run(
    'git',
    ['-c', `safe.directory=${root}`, '-c', 'core.fsmonitor=false', '-c', 'core.quotepath=false', 'ls-files', '-z', ...args],
    { cwd: root, maxBuffer: 1 << 30, encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
  );
  return stdout.split('\0').filter(Boolean);
}

/** Tracked files, and untracked files git does not ignore; undefined when git cannot list them. */
async function gitFiles(root: string): Promise<{ tracked: string[]; untracked: string[] } | undefined> {
  try {
    const [tracked, untracked] = await Promise.all([gitLs(root, ['--cached']), gitLs(root, ['--others', '--exclude-standard'])]);
    return { tracked, untracked };
  } catch {
    return undefined;
  }
}

async function isGitWorkTree(root: string): Promise<boolean> {
  try {
    const { stdout } = await run('git', ['-c', `safe.directory=${root}`, 'rev-parse', '--is-inside-work-tree'], { cwd: root, encoding: 'utf8' });
    return stdout.trim() === 'true';
  } catch {
    return false;
  }
}

/** Finds folders named like DEPENDENCY_DIRS under root (not inside another one, nor in .git or .ssr). */
function dependencyDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (DEPENDENCY_DIRS.includes(e.name)) out.push(child);
      else if (e.name !== '.git' && e.name !== '.ssr') walk(child);
    }
  };
  walk('');
  return out;
}

/** Lists what goes into a sandbox from `root` (see the file comment). */
export async function listRepoFiles(root: string, opts: RepoFilesOptions = {}): Promise<RepoFileList> {
  const abs = path.resolve(root);
  const declared = declaredIncludes(abs, opts.include);
  const trees = new Set<string>([...dependencyDirs(abs), ...(opts.includeGit ? ['.git'] : [])]);
  const files = new Set<string>();
  const add = (rel: string) => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(abs, rel));
    } catch {
      return; // tracked but deleted from the work tree
    }
    if (st.isDirectory()) trees.add(rel);
    else files.add(rel);
  };
  let listed = (await isGitWorkTree(abs)) ? await gitFiles(abs) : undefined;
  // A folder an enclosing repository ignores whole (a home folder kept in git with `*` ignored)
  // is not that repository's: it is treated as a folder that is not a git repository.
  if (listed && listed.tracked.length + listed.untracked.length === 0) listed = undefined;
  if (listed) {
    for (const rel of [...listed.tracked, ...listed.untracked.filter((f) => !looksSecret(f))]) {
      const top = rel.split('/')[0];
      if (top === '.ssr' || top === '.git') continue;
      add(rel);
    }
  } else {
    const walk = (rel: string) => {
      for (const e of fs.readdirSync(path.join(abs, rel), { withFileTypes: true })) {
        const child = rel ? `${rel}/${e.name}` : e.name;
        if (!rel && (e.name === '.ssr' || e.name === '.git')) continue;
        if (matches(child, SECRET_RES) || matches(child, CACHE_RES)) continue;
        if (e.isDirectory()) walk(child);
        else files.add(child);
      }
    };
    walk('');
  }
  for (const rel of declared) add(rel);
  // A listed file inside a tree is copied with the tree.
  const treeList = [...trees].filter((t) => ![...trees].some((o) => o !== t && t.startsWith(o + '/')));
  const inTree = (rel: string) => treeList.some((t) => rel === t || rel.startsWith(t + '/'));
  return { mode: listed ? 'git' : 'folder', files: [...files].filter((f) => !inTree(f)).sort(), trees: treeList.sort() };
}

/**
 * A predicate for tar-fs's `ignore` option: true for every path under root
 * that is not in the list (folders are kept when something under them is).
 */
export function ignoreOutside(root: string, list: RepoFileList): (absPath: string) => boolean {
  const abs = path.resolve(root);
  const keep = new Set<string>(list.files);
  const dirs = new Set<string>();
  for (const p of [...list.files, ...list.trees]) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const t of list.trees) keep.add(t);
  return (absPath: string) => {
    const rel = path.relative(abs, absPath).split(path.sep).join('/');
    if (rel === '' || rel === '.') return false;
    if (keep.has(rel) || dirs.has(rel)) return false;
    return !list.trees.some((t) => rel.startsWith(t + '/'));
  };
}

/**
 * A private scratch copy of a repository, for the host-side git work on
 * model-written diffs (higher-order bugs, the export's reversed diffs).
 *
 * Every diff the model wrote is an adversary's. Before `git apply` sees one:
 * - it must parse, and every path it names (in ---/+++ lines, `diff --git`
 *   headers, rename and copy lines) passes the artifact's path checks: not
 *   absolute, no `..`, nothing under `.git` (artifact.ts unsafePathReason);
 * - it may not create symbolic links or submodules (modes 120000, 160000);
 * - no folder on the way to a path it touches may be a symbolic link.
 * The copy lives in a folder made by fs.mkdtemp (mode 0700, an unpredictable
 * name); the diff files are written inside that folder, next to the tree and
 * never in it; git runs without the user's ~/.gitconfig and with a clean
 * environment (no GIT_* variables of the user's), and commits use --no-verify.
 * The copy holds what a sandbox would get (repoFiles.ts), never .git or .ssr,
 * and the user's folder is only read.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { parseDiff, unsafePathReason } from '../artifact/artifact';
import { listRepoFiles } from '../sandbox/repoFiles';

/** Why a model-written diff may not be applied on the host, or undefined when it may. */
export function hostileDiffReason(text: string): string | undefined {
  const d = parseDiff(text);
  if (d.error) return d.error;
  const paths = new Set(d.paths);
  for (const line of text.split('\n')) {
    let m = /^(?:rename|copy) (?:from|to) (.+)$/.exec(line);
    if (m) paths.add(unquote(m[1]));
    m = /^diff --git (.+)$/.exec(line);
    if (m) {
      for (const p of m[1].match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []) paths.add(unquote(p).replace(/^[ab]\//, ''));
    }
    m = /^(?:---|\+\+\+) (.+?)(?:\t.*)?$/.exec(line);
    if (m && m[1] !== '/dev/null') paths.add(unquote(m[1]).replace(/^[ab]\//, ''));
    if (/^(?:new file mode|new mode|old mode|deleted file mode|index [0-9a-f]+\.\.[0-9a-f]+) (?:120000|160000)\b/.test(line)) {
      return 'it creates or changes a symbolic link or a submodule, which SSR does not apply';
    }
  }
  for (const p of paths) {
    const why = unsafePathReason(p);
    if (why) return `it touches ${why}`;
  }
  return undefined;
}

function unquote(p: string): string {
  if (!p.startsWith('"')) return p;
  try {
    return JSON.parse(p) as string;
  } catch {
    return p;
  }
}

/** A scratch repository: `tree` is the work tree, committed once as the original. */
export interface ScratchRepo {
  tree: string;
  git: SimpleGit;
  /** Applies a model-written diff after the checks above; throws with the reason when it is refused or does not apply. */
  apply(text: string, name: string): Promise<void>;
  /** Stages everything and commits. */
  commit(message: string): Promise<void>;
}

/** Environment for git in the scratch copy: none of the user's GIT_* variables, no ~/.gitconfig. */
function gitEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of ['PATH', 'LANG', 'LC_ALL', 'TMPDIR']) if (process.env[k]) env[k] = process.env[k]!;
  // HOME is the scratch folder, so the user's ~/.gitconfig is not read either.
  return { ...env, HOME: home };
}

async function copyFiles(src: string, dst: string): Promise<void> {
  const list = await listRepoFiles(src);
  for (const rel of list.files) {
    const from = path.join(src, rel);
    const to = path.join(dst, rel);
    await fs.mkdir(path.dirname(to), { recursive: true });
    const st = await fs.lstat(from);
    if (st.isSymbolicLink()) await fs.symlink(await fs.readlink(from), to);
    else if (st.isFile()) await fs.copyFile(from, to);
  }
}

/** Whether a folder on the way to rel (inside root) is a symbolic link. */
async function throughSymlink(root: string, rel: string): Promise<string | undefined> {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    try {
      if ((await fs.lstat(path.join(root, p))).isSymbolicLink()) return p;
    } catch {
      return undefined; // does not exist yet: git creates real folders
    }
  }
  return undefined;
}

/** Runs fn on a private scratch copy of repoDir (original state committed), then removes it. */
export async function withScratchRepo<T>(repoDir: string, fn: (s: ScratchRepo) => Promise<T>): Promise<T> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'ssr-scratch-'));
  try {
    const tree = path.join(base, 'tree');
    const diffs = path.join(base, 'diffs');
    await fs.mkdir(tree, { mode: 0o700 });
    await fs.mkdir(diffs, { mode: 0o700 });
    await copyFiles(path.resolve(repoDir), tree);
    const git = simpleGit({ baseDir: tree, config: ['core.symlinks=true', 'user.email=ssr@localhost', 'user.name=ssr'] }).env(gitEnv(base));
    await git.init();
    let n = 0;
    const scratch: ScratchRepo = {
      tree,
      git,
      async apply(text, name) {
        const why = hostileDiffReason(text);
        if (why) throw new Error(`the ${name} diff is refused: ${why}`);
        for (const p of parseDiff(text).paths) {
          const link = await throughSymlink(tree, p);
          if (link) throw new Error(`the ${name} diff is refused: it writes through the symbolic link ${link}`);
        }
        const file = path.join(diffs, `${n++}.diff`);
        await fs.writeFile(file, text.endsWith('\n') ? text : text + '\n', { flag: 'wx', mode: 0o600 });
        await git.raw(['apply', '--whitespace=nowarn', file]);
      },
      async commit(message) {
        await git.add(['-A', '-f']);
        await git.commit(message, { '--allow-empty': null, '--no-verify': null });
      },
    };
    await scratch.commit('original');
    return await fn(scratch);
  } finally {
    await fs.rm(base, { recursive: true, force: true });
  }
}

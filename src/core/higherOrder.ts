/**
 * Higher-order bugs: a solver's failed attempt, applied on top of the bug,
 * is a new bug. Same test script, test files, parser and weakening; the bug
 * diff becomes the diff from the original to original + bug + predicted
 * patch over non-test files. Order never goes above 2.
 *
 * The diff is computed with git on the host, in a temporary copy of the
 * repository: the user's folder is only read.
 */
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { simpleGit } from 'simple-git';
import { type ArtifactFiles, artifactId, parseDiff } from './artifact';
import type { Evaluation } from './evaluate';
import { patchProblem } from './evaluate';
import { UsageError } from './errors';

export const MAX_ORDER = 2;

export interface HigherOrderOptions {
  repoDir: string;
  artifact: ArtifactFiles;
  patch: string;
  /** The patch's evaluation: a solving patch is refused. */
  evaluation: Pick<Evaluation, 'solved' | 'applied'>;
}

async function copyRepo(src: string, dst: string): Promise<void> {
  await fs.cp(src, dst, {
    recursive: true,
    filter: (p) => {
      const rel = path.relative(src, p).split(path.sep)[0];
      return rel !== '.git' && rel !== '.ssr';
    },
  });
}

export async function buildHigherOrder(opts: HigherOrderOptions): Promise<ArtifactFiles> {
  const order = opts.artifact.meta?.order ?? 1;
  if (order + 1 > MAX_ORDER) {
    throw new UsageError(`the artifact is already of order ${order}; higher-order bugs stop at order ${MAX_ORDER}`);
  }
  const problem = patchProblem(opts.patch);
  if (problem) throw new UsageError(`cannot build a higher-order bug: ${problem}`);
  if (opts.evaluation.solved) throw new UsageError('cannot build a higher-order bug from a patch that solves the bug');
  if (!opts.evaluation.applied) throw new UsageError('cannot build a higher-order bug from a patch that does not apply');

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ssr-ho-'));
  try {
    await copyRepo(opts.repoDir, tmp);
    const git = simpleGit(tmp);
    await git.init().addConfig('user.email', 'ssr@localhost').addConfig('user.name', 'ssr');
    await git.add(['-A', '-f']).commit('original', { '--allow-empty': null, '--no-verify': null });
    for (const [name, text] of [
      ['bug', opts.artifact.bugInjectDiff],
      ['weaken', opts.artifact.testWeakenDiff],
      ['patch', opts.patch],
    ] as const) {
      const file = path.join(os.tmpdir(), `ssr-ho-${process.pid}-${name}.diff`);
      await fs.writeFile(file, text.endsWith('\n') ? text : text + '\n');
      try {
        await git.raw(['apply', '--whitespace=nowarn', file]);
      } catch (err) {
        throw new UsageError(`cannot build a higher-order bug: the ${name} diff does not apply: ${(err as Error).message.trim()}`);
      } finally {
        await fs.rm(file, { force: true });
      }
    }
    await git.add(['-A', '-f']);
    const excludes = opts.artifact.testFiles.map((f) => `:(exclude)${f}`);
    const diff = await git.raw(['diff', '--cached', '--no-color', '--no-ext-diff', 'HEAD', '--', '.', ...excludes]);
    if (!diff.trim()) throw new UsageError('cannot build a higher-order bug: the patch undoes every code change of the bug');
    if (diff === opts.artifact.bugInjectDiff || sameChanges(diff, opts.artifact.bugInjectDiff)) {
      throw new UsageError('cannot build a higher-order bug: the patch changes no code file, so the bug would be the same');
    }
    return {
      ...opts.artifact,
      bugInjectDiff: diff,
      meta: {
        ...(opts.artifact.meta ?? {}),
        order: order + 1,
        parent: artifactId(opts.artifact),
        source: 'higher-order',
      },
    };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** Compares two diffs by their changed lines, ignoring index lines and hunk offsets. */
function sameChanges(a: string, b: string): boolean {
  const norm = (d: string) =>
    d
      .split('\n')
      .filter((l) => (l.startsWith('+') || l.startsWith('-')) && !l.startsWith('+++') && !l.startsWith('---'))
      .join('\n');
  return parseDiff(a).paths.join() === parseDiff(b).paths.join() && norm(a) === norm(b);
}

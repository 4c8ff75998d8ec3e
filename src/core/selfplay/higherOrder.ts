/**
 * Higher-order bugs: a solver's failed attempt, applied on top of the bug,
 * is a new bug. Same test script, test files, parser and weakening; the bug
 * diff becomes the diff from the original to original + bug + predicted
 * patch over non-test files. Order never goes above 2.
 *
 * The diff is computed with git on the host, in a private scratch copy of
 * the repository (scratchRepo.ts), after the model-written patch passes the
 * same path checks as an artifact: the user's folder is only read, and
 * nothing outside the scratch folder is written.
 */
import { type ArtifactFiles, artifactId, parseDiff } from '../artifact/artifact';
import type { Evaluation } from '../judge/evaluate';
import { patchProblem } from '../judge/evaluate';
import { UsageError } from '../base/errors';
import { withScratchRepo } from '../judge/scratchRepo';
import { harnessReason, isHarnessPath, isSectionedConfig } from '../judge/harness';

export const MAX_ORDER = 2;

export interface HigherOrderOptions {
  repoDir: string;
  artifact: ArtifactFiles;
  patch: string;
  /** The patch's evaluation: a solving patch is refused. */
  evaluation: Pick<Evaluation, 'solved' | 'applied'>;
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

  return withScratchRepo(opts.repoDir, async (scratch) => {
    for (const [name, text] of [
      ['bug', opts.artifact.bugInjectDiff],
      ['weaken', opts.artifact.testWeakenDiff],
      ['patch', opts.patch],
    ] as const) {
      try {
        await scratch.apply(text, name);
      } catch (err) {
        throw new UsageError(`cannot build a higher-order bug: the ${name} diff does not apply: ${(err as Error).message.trim()}`);
      }
    }
    await scratch.git.add(['-A', '-f']);
    // The new bug lives in code: the oracle test files and the patch's changes to the test harness
    // (which evaluation reverted anyway) stay out of it.
    const changed = (await scratch.git.raw(['diff', '--cached', '--name-only', '-z', 'HEAD'])).split('\0').filter(Boolean);
    const harness: string[] = [];
    for (const p of changed) {
      if (opts.artifact.testFiles.includes(p)) continue;
      let why = isHarnessPath(p, opts.artifact.testScript);
      if (!why && isSectionedConfig(p)) {
        const before = await scratch.git.show([`HEAD:${p}`]).catch(() => undefined);
        const after = await scratch.git.show([`:${p}`]).catch(() => undefined);
        why = harnessReason(p, { testScript: opts.artifact.testScript, before, after });
      }
      if (why) harness.push(p);
    }
    const excludes = [...opts.artifact.testFiles, ...harness].map((f) => `:(exclude,literal)${f}`);
    const diff = await scratch.git.raw(['diff', '--cached', '--no-color', '--no-ext-diff', 'HEAD', '--', '.', ...excludes]);
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
  });
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

/**
 * Validate: the seven checks on an artifact folder (nothing written), or on
 * a stored bug (its report and verdict stored again), and a report as
 * Markdown for people.
 */
import * as path from 'node:path';
import { loadArtifact } from '../artifact/artifact';
import { DEFAULT_THRESHOLDS, validateArtifact, type CheckResult, type Thresholds, type ValidationEvent, type ValidationReport } from '../judge/checks';
import { CancelledError, UsageError } from '../base/errors';
import { DEFAULT_IMAGE } from '../sandbox/docker';
import { RunStore, writeJsonAtomic } from '../runs/store';
import { orderedChecks, readRun, refreshSessionSummary } from './readRuns';

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

/**
 * Validation's plan: what is known before anything runs (the artifact's
 * structural problems, its two diffs parsed, the bug's files), the
 * thresholds, and which states run and why. Pure, except the look at the
 * host's repository for the listed test files.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import {
  type ArtifactFiles,
  type ArtifactProblem,
  BUG_INJECT,
  TEST_FILES,
  TEST_PARSER,
  TEST_SCRIPT,
  TEST_WEAKEN,
  changedFiles,
  parseDiff,
  structuralProblems,
  type ParsedDiff,
} from '../artifact/artifact';
import { DEFAULT_THRESHOLDS, type CheckId, type Thresholds, type ValidateOptions } from './checkTypes';

/** Where a structural problem with a file is reported. */
const PROBLEM_CHECK: Record<string, CheckId> = {
  [TEST_FILES]: 'test_files_exist',
  [TEST_WEAKEN]: 'test_files_exist',
  [TEST_SCRIPT]: 'parser_valid',
  [TEST_PARSER]: 'parser_valid',
  [BUG_INJECT]: 'bug_scope',
};

/** One state to run: the diffs applied in order, then the bug files put back as they were. */
export interface StatePlan {
  state: string;
  diffs: Array<{ name: string; text: string }>;
  restore?: string[];
}

/** What validation knows of an artifact before running anything. */
export interface StaticFacts {
  /** Problems reading the artifact, then its structural ones (a file that could not be read is reported once). */
  problems: ArtifactProblem[];
  bug: ParsedDiff;
  weaken: ParsedDiff;
  /** The files the bug changes (none when its diff does not parse). */
  bugFiles: string[];
}

export function staticFacts(a: ArtifactFiles, readProblems: ArtifactProblem[] = []): StaticFacts {
  // A file that could not be read is reported once, not again as "empty".
  const unreadable = new Set(readProblems.map((p) => p.file));
  const problems = [...readProblems, ...structuralProblems(a).filter((p) => !unreadable.has(p.file))];
  const bug = parseDiff(a.bugInjectDiff);
  const weaken = parseDiff(a.testWeakenDiff);
  return { problems, bug, weaken, bugFiles: bug.error ? [] : changedFiles(bug) };
}

/** The messages of the problems reported under check `id`. */
export function problemsFor(problems: ArtifactProblem[], id: CheckId): string[] {
  return problems.filter((p) => PROBLEM_CHECK[p.file] === id).map((p) => p.message);
}

export function resolveThresholds(opts: Partial<Thresholds>): Thresholds {
  return {
    minPassingTests: opts.minPassingTests ?? DEFAULT_THRESHOLDS.minPassingTests,
    minChangedFiles: opts.minChangedFiles ?? DEFAULT_THRESHOLDS.minChangedFiles,
    minFailingTests: opts.minFailingTests ?? DEFAULT_THRESHOLDS.minFailingTests,
  };
}

/** Which states can run: the tests at all (script and parser), with the bug, with the weakening. */
export interface Usable {
  canRun: boolean;
  bugUsable: boolean;
  weakenUsable: boolean;
}

export function usableParts(problems: ArtifactProblem[]): Usable {
  return {
    canRun: !problemsFor(problems, 'parser_valid').length,
    bugUsable: !problemsFor(problems, 'bug_scope').length,
    weakenUsable: !problemsFor(problems, 'test_files_exist').length,
  };
}

/**
 * The states to run, in order: the original (unless the session's cache has
 * it), the buggy, the weakened, and one per bug file with that file restored
 * (inverse mutation) when the bug changes more than one file.
 */
export function planStates(a: ArtifactFiles, bugFiles: string[], u: Usable, originalCached: boolean): StatePlan[] {
  const plans: StatePlan[] = [];
  if (!u.canRun) return plans;
  if (!originalCached) plans.push({ state: 'original', diffs: [] });
  if (!u.bugUsable) return plans;
  plans.push({ state: 'buggy', diffs: [{ name: 'bug', text: a.bugInjectDiff }] });
  if (u.weakenUsable) {
    plans.push({
      state: 'weakened',
      diffs: [
        { name: 'bug', text: a.bugInjectDiff },
        { name: 'weaken', text: a.testWeakenDiff },
      ],
    });
  }
  // Restoring the only bug file gives back the original state: that run is already planned.
  if (bugFiles.length > 1) {
    for (const f of bugFiles) {
      plans.push({ state: `restore:${f}`, diffs: [{ name: 'bug', text: a.bugInjectDiff }], restore: [f] });
    }
  }
  return plans;
}

/**
 * test_files_exist on the host: the listed test files that are not files of
 * the original repository, and how long looking took. Nothing to look at
 * when the repository lives in the image or the list has problems of its own.
 */
export async function missingOnHost(opts: ValidateOptions, problems: ArtifactProblem[]): Promise<{ missing: string[]; ms?: number }> {
  const missing: string[] = [];
  if (!opts.repoDir || opts.repoInImage || problemsFor(problems, 'test_files_exist').length) return { missing };
  const started = Date.now();
  for (const f of opts.artifact.testFiles) {
    const st = await fs.stat(path.join(opts.repoDir, f)).catch(() => undefined);
    if (!st?.isFile()) missing.push(f);
  }
  return { missing, ms: Date.now() - started };
}

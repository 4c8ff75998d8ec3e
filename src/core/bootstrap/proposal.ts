/** What the bootstrap proposer is asked for and what it returns: options, the proposal, and why there is none. */
import type { ReporterRecords, TestResults } from '../judge/testRun';
import type { ArtifactFiles } from '../artifact/artifact';
import type { Runner } from './parsers';

export type SingleStrategy = 'body' | 'branch' | 'block';
export type Strategy = SingleStrategy | 'multi';
export type StrategyOption = Strategy | 'any';

export type NoProposalReason =
  | 'no-tests'
  | 'no-framework'
  | 'suite-fails'
  | 'too-few-tests'
  | 'nothing-covered'
  | 'exhausted';

/** The proposer could not produce a bug; `reason` says why, the message how to fix it. */
export class NoProposalError extends Error {
  constructor(
    readonly reason: NoProposalReason,
    message: string,
  ) {
    super(message);
    this.name = 'NoProposalError';
  }
}

export interface FrameworkInfo {
  language: 'python' | 'javascript' | 'go';
  framework: 'pytest' | 'unittest' | 'node:test' | 'jest' | 'vitest' | 'mocha' | 'go test';
  /** What the test script runs: python3 -m pytest, python3 -m unittest, or node per file. */
  runner: Runner;
  /** Every test file of the suite (test modules, conftest.py, helpers in test folders). */
  testFiles: string[];
  /** The files the test script runs. */
  runFiles: string[];
  /** Python packages under src/ (put on PYTHONPATH by the test script). */
  srcLayout: boolean;
  notes: string[];
  /** Test files found but not run, and why (said in the script's comments and the proposal's notes). */
  leftOut?: Array<{ file: string; why: string }>;
  /** Runner arguments learned from the repository's test command (jest, vitest, mocha). */
  runnerArgs?: string[];
  /** Where the test command was learned. */
  learnedFrom?: string;
  /** The package manager the JavaScript runner is called through (pnpm, yarn; npm: node_modules/.bin). */
  packageManager?: 'npm' | 'pnpm' | 'yarn';
}

export interface ProposalTarget {
  file: string;
  symbol: string;
  line?: number;
  strategy?: SingleStrategy;
  description?: string;
}

export interface Proposal {
  /** Stable: strategy + target(s); proposals with a key in `seen` are not made again. */
  key: string;
  strategy: Strategy;
  targets: ProposalTarget[];
  artifact: ArtifactFiles;
  notes: string[];
  /** Tests passing on the original that fail (or disappear) with the bug. */
  brokenTests: string[];
  framework: FrameworkInfo;
  seed: number;
  /** Test runs made on mutated states. */
  attempts: number;
  durationMs: number;
  /**
   * The proposer's own judged runs of the artifact's buggy and weakened
   * states (the same runner, script, parser, image and tree as validation's),
   * so a session's validation need not run them again (runCache.ts); and
   * its first judged run of the original, one of the original's repetitions.
   */
  runs: { buggy: ProposerRun; weakened: ProposerRun; original?: ProposerRun };
}

/** A judged run the proposer made of one of its artifact's states. */
export interface ProposerRun {
  results: TestResults;
  durationMs: number;
  logTail: string;
  /** What the judge's pytest reporter saw in that run (testRun.ts). */
  reporter?: ReporterRecords;
}

export interface ProposeOptions {
  repoDir: string;
  image?: string;
  seed?: number;
  /** Keys of proposals already made in this run; the returned key is added. */
  seen?: Set<string>;
  strategy?: StrategyOption;
  /** Tests that must go from passing to failing. Default 1. */
  minFailing?: number;
  signal?: AbortSignal;
  log?: (msg: string) => void;
  /** Mutated states to test before giving up. Default 40. */
  maxAttempts?: number;
  /** Time limit for a run of the original suite. Default 300 s. */
  testTimeoutMs?: number;
  /** A bug breaking more than this share of the passing tests is rejected. Default 0.6. */
  maxBrokenFraction?: number;
  /** Tests that must pass on the original (the checks' threshold). Default 5. */
  minPassing?: number;
  /** When a repository has several, which suite to use. Default: Python, then Go, then JavaScript. */
  language?: 'python' | 'javascript' | 'go';
}

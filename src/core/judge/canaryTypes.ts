/** The shapes canaries.ts, jsCanaries.ts and canaryCheck.ts share: a plan per file, and what was planted. */

export type PlantKind = 'must-pass' | 'must-fail' | 'twin' | 'inverted';

/** One planted test: its file, its random name and, for twins, the original's name. */
export interface Planted {
  file: string;
  kind: PlantKind;
  name: string;
  of: string | null;
}

export interface Planting {
  planted: Planted[];
  /** Tests that could not be copied, and why. */
  skipped: Array<{ file: string; of: string | null; why: string }>;
}

/** What ssr_canary.py is asked to do for one file. */
export interface FilePlan {
  path: string;
  twins: Array<{ of: string; token: string; inverted?: boolean }>;
  /** near: a test the runner reported ("test_x", "TestC.test_y", "suite > title"); the canary stands beside it. */
  canaries: Array<{ kind: 'pass' | 'fail'; token: string; near?: string }>;
}

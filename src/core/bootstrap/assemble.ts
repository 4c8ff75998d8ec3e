/** The proposal: the five artifact files (the suite's script and parser, the two diffs), its notes and its runs. */
import type { ArtifactFiles } from '../artifact/artifact';
import type { Proposal, Strategy } from './proposal';
import type { Found } from './multi';
import type { Search } from './mutate';

/** What the proposal says about how it was made besides the bug found. */
export interface Provenance {
  seed: number;
  started: number;
  /** How the targets were found (coverage trace or names). */
  how: string;
}

export function assemble(s: Search, found: Found, strategy: Strategy, { seed, started, how }: Provenance): Proposal {
  const { suite, fw } = s;
  const { pieces, key, weak: w } = found;
  const { failing, gone, notes } = w;
  const artifact: ArtifactFiles = {
    testScript: suite.testScript,
    testFiles: fw.testFiles,
    testParser: suite.testParser,
    bugInjectDiff: w.bugDiff,
    testWeakenDiff: w.weakenDiff,
    meta: { source: 'bootstrap', order: 1, strategy, seed, key },
  };
  const ms = Date.now() - started;
  const broken = failing.length + gone.length;
  const allNotes = [
    `${fw.framework} suite: ${fw.runFiles.length} test file(s) run with ${fw.runner}; ${suite.stable.size} test(s) pass on the original` +
      (suite.excluded.length ? `, ${suite.excluded.length} failing or flaky left out` : ''),
    `targets: ${how}`,
    ...fw.notes,
    ...pieces.map((p) => `${p.target.file}: ${p.description}`),
    `the bug breaks ${broken} test(s): ${failing.concat(gone).slice(0, 8).join(', ')}${broken > 8 ? ', ...' : ''}`,
    ...notes,
    `${s.attempts} mutated state(s) tested in ${ms} ms (seed ${seed})`,
  ];
  s.log(`bootstrap: proposal ${key} ready in ${ms} ms`);
  return {
    key,
    strategy,
    targets: pieces.map((p) => ({
      file: p.target.file,
      symbol: p.target.symbol,
      line: p.target.line,
      strategy: p.strategy,
      description: p.description,
    })),
    artifact,
    notes: allNotes,
    brokenTests: [...failing, ...gone].sort(),
    framework: fw,
    seed,
    attempts: s.attempts,
    durationMs: ms,
    runs: { ...w.runs, original: suite.originalRun },
  };
}

/**
 * The bug injector's prompts, in our own words, following the SSR paper:
 * the agent explores a real repository, finds and runs its tests, writes a
 * test script and a parser, injects a bug with one of three strategies
 * (removal, history, direct), hides it by deleting or weakening the tests
 * that expose it, and submits the five artifact files, which are then
 * checked for consistency.
 */
import type { Strategy } from '../../base/trajectory';
import { DEFAULT_THRESHOLDS, type Thresholds } from '../../judge/checks';
import { toolDocs } from './tools';
import { seededRandom } from '../text';

/** Where the prompt asks the injector to write the five files (outside the repository). */
export const INJECTOR_ARTIFACT_DIR = '/artifact';
/** test_script.sh must finish within this many seconds on the original code. */
export const TEST_SCRIPT_SECONDS = 90;

export type StrategyChoice = Strategy | 'mix';
export const STRATEGIES: readonly StrategyChoice[] = ['removal', 'history', 'direct', 'mix'];

/** Resolves `mix` to removal or history, 50/50, with a seeded generator (reproducible). */
export function pickStrategy(choice: StrategyChoice, seed: number = Date.now()): Strategy {
  if (choice !== 'mix') return choice;
  return seededRandom(seed)() < 0.5 ? 'removal' : 'history';
}

export interface InjectorPromptOptions {
  strategy: Strategy;
  thresholds?: Partial<Thresholds>;
  repoPath?: string;
  artifactDir?: string;
  native?: boolean;
  /** Number of commits in the repository's history, when known (shown to the history strategy). */
  commits?: number;
}

export function injectorSystemPrompt(opts: { repoPath?: string; native?: boolean; commandTimeoutMs?: number; maxOutputBytes?: number } = {}): string {
  const repoPath = opts.repoPath ?? '/repo';
  return [
    'You are an expert software engineer working autonomously in a sandboxed Linux container that holds a',
    `copy of a software repository at ${repoPath}. There is no network access and no human to ask: explore, run`,
    'commands, read the results and decide for yourself. You are the bug injector in a self-play game that',
    'trains software engineering agents: you hide a real, testable bug in working code, and another agent, the',
    'solver, will later have to find and fix it with nothing but the tests to guide it.',
    '',
    toolDocs({ role: 'injector', repoPath, native: opts.native, commandTimeoutMs: opts.commandTimeoutMs, maxOutputBytes: opts.maxOutputBytes }),
  ].join('\n');
}

function strategySection(s: Strategy, t: Thresholds, commits?: number): string {
  const files = `${t.minChangedFiles} code file${t.minChangedFiles === 1 ? '' : 's'}`;
  switch (s) {
    case 'removal':
      return [
        '## Strategy: remove functionality',
        '',
        'Choose a meaningful piece of functionality that the test suite exercises and remove its',
        `implementation, spread over at least ${files}: delete code hunks (function or method bodies, branches,`,
        'helpers, whole classes) or empty out entire files. The solver will have to rebuild what you removed,',
        'guided only by the tests, so remove something substantial and self-contained rather than a single',
        'character. Keep the project importable: where other code needs a name at import time, leave a minimal',
        'stub (for example a function whose body only raises NotImplementedError or returns a trivial value)',
        'instead of deleting the name, so that tests fail where the functionality is used, not on import.',
        'Then delete or weaken the tests that expose the removal (see the rules below).',
      ].join('\n');
    case 'history':
      return [
        '## Strategy: revert part of the history',
        '',
        `The repository is a git repository${commits !== undefined ? ` with ${commits} commit${commits === 1 ? '' : 's'}` : ''}. Read its history`,
        '(`git log --stat`, `git log -p -- PATH`, `git show SHA`) and look for meaningful past changes to the',
        'code, above all bug fixes, and also feature additions that the tests cover. Pick one and undo it in the',
        'current code, fully or in a coherent part, so that the old (buggy or missing) behaviour comes back.',
        'The code has moved on since that commit, so `git revert --no-commit SHA` or `git show SHA | git apply -R`',
        'may not apply cleanly: re-create the old behaviour by hand where needed, and make only the minimal',
        'extra edits required to keep the project importable and consistent with the rest of today\'s code.',
        `The change must touch at least ${files}. Do not commit: leave your changes in the working tree, and`,
        'compute the diffs against HEAD. If a revert also removes tests that the fix added, those test changes',
        'belong in test_weaken.diff, not in bug_inject.diff. If the history holds nothing suitable, remove a',
        'piece of functionality instead.',
      ].join('\n');
    case 'direct':
      return [
        '## Strategy: inject a bug',
        '',
        `Change the code, in at least ${files}, so that it behaves incorrectly in a way the existing tests`,
        'detect: the kind of mistake a developer could plausibly make. Avoid changes that are trivially visible,',
        'such as a syntax error or an exception raised on import.',
      ].join('\n');
  }
}

/** What the artifact is and what the solver will get from it. */
function taskIntro(repo: string): string[] {
  return [
    '# Task: create a bug artifact',
    '',
    `The repository at ${repo} is a working project with a test suite. Produce a bug artifact: a bug injected`,
    'into the code, a change to the tests that hides the bug, and the means to run the tests and read their',
    'results. The solver will receive the repository with your bug AND your test weakening applied, without',
    'any git history, and as its only description of the task the reverse of your test weakening (the tests',
    'you deleted or weakened, put back). It wins if, after its fix, the original tests pass again.',
  ];
}

/** The five files, and where to write them. */
function fiveFilesSection(dir: string): string[] {
  return [
    '## The five files',
    '',
    `Write them into the folder ${dir}/ (outside the repository, so they do not end up in your diffs).`,
    '',
    '1. test_script.sh: a bash script that runs the test suite, or the part of it relevant to your bug, and',
    '   prints one result line per test (for pytest, e.g. `python3 -m pytest -rA -p no:cacheprovider tests/`).',
    '   It is run as `bash test_script.sh` with the repository root as the working directory, from a copy',
    '   stored elsewhere, so it must not refer to its own location or to the other artifact files. It must',
    `   finish within ${TEST_SCRIPT_SECONDS} seconds, need no network and change no files in the repository.`,
    '2. test_files.txt: the oracle test files, one path per line, relative to the repository root: the test',
    '   files that check the code you break, including every file test_weaken.diff changes. When the solver\'s',
    '   fix is judged, these files are reset to their original content first.',
    '3. test_parser.py: a Python 3 script that reads the output of test_script.sh on standard input and',
    '   prints exactly one JSON object mapping each test id to "passed" or "failed", e.g.',
    '   {"tests/test_api.py::test_get": "passed", "tests/test_api.py::test_post": "failed"}.',
    '   Ids must be stable from run to run (no timings or memory addresses). Count errors as "failed"; leave',
    '   skipped tests out. It must work for any outcome, including when many tests fail or a file is missing.',
    '4. bug_inject.diff: a unified diff in git format (paths a/... and b/... from the repository root) that',
    '   turns the original code into the buggy code. It changes code files only, never a file listed in',
    '   test_files.txt, and applies with `git apply` to the original repository.',
    '5. test_weaken.diff: a unified diff in git format that changes only files listed in test_files.txt and',
    '   deletes or weakens the tests that would expose the bug. It is applied with `git apply` after',
    '   bug_inject.diff.',
  ];
}

/** The consistency checks the artifact must pass, with their thresholds. */
function checksSection(t: Thresholds): string[] {
  return [
    '## How the artifact is checked',
    '',
    'The artifact is validated automatically on a fresh copy of the ORIGINAL repository (your working',
    'changes are not there; only the five files count). It is valid only if all of the following hold:',
    '- every file in test_files.txt exists in the original repository, and test_weaken.diff touches only',
    '  those files;',
    '- test_parser.py turns the output of test_script.sh into the JSON object described above;',
    `- on the original code at least ${t.minPassingTests} tests pass;`,
    `- bug_inject.diff changes at least ${t.minChangedFiles} file${t.minChangedFiles === 1 ? '' : 's'}, none of them listed in test_files.txt;`,
    `- with the bug applied, at least ${t.minFailingTests} test${t.minFailingTests === 1 ? '' : 's'} that passed on the original code fail${t.minFailingTests === 1 ? 's' : ''};`,
    '- with the bug and the weakening applied, some of the tests that failed with the bug pass or are gone;',
    '- for each file bug_inject.diff changes, restoring that file alone makes at least one of the failing',
    '  tests pass again: every changed file must matter.',
    'The solver\'s fix counts only if no test that test_script.sh runs fails. So every test your script runs',
    'must pass on the original code: leave out tests that already fail, and tests that are flaky (different',
    'results on repeated runs), for example with pytest\'s `--deselect` or by choosing the test files to run.',
  ];
}

const RULES_SECTION = [
  '## Rules',
  '',
  '- Hide the bug by deleting tests or weakening their assertions. Never comment tests out, and never mark',
  '  them skipped: remove them or make them check less.',
  '- Leave no hints: no comments, names, messages or strings that point at the bug or at what was removed.',
  '- The bug must be real: the code is wrong, not merely different, and the deleted or weakened tests',
  '  describe the correct behaviour.',
  '- Change nothing outside the repository except the artifact folder, and install nothing.',
];

/** The suggested steps, with the commands that check the artifact as the checker will. */
function stepsSection(repo: string, dir: string): string[] {
  return [
    '## Suggested steps',
    '',
    '1. Explore the repository: its layout, its purpose, how the tests are organised and run.',
    '2. Run the tests on the unchanged code. Write test_script.sh and test_parser.py, then run',
    `   \`cd ${repo} && bash ${dir}/test_script.sh | python3 ${dir}/test_parser.py\` and check the JSON.`,
    '   Run it twice to spot flaky tests; leave out failing and flaky tests.',
    '3. Inject the bug following the strategy above, and run the tests: the right tests must fail.',
    '4. Delete or weaken the tests that expose the bug, and write test_files.txt.',
    `5. Write the diffs from the repository root, e.g. \`git diff HEAD -- CODE_PATHS > ${dir}/bug_inject.diff\``,
    `   and \`git diff HEAD -- TEST_PATHS > ${dir}/test_weaken.diff\` (run \`git add -N PATH\` first for new files,`,
    '   so that git diff includes them).',
    '6. Verify on a clean copy of the original, as the checker will:',
    '   `rm -rf /tmp/orig && mkdir /tmp/orig && git archive HEAD | tar -x -C /tmp/orig && cd /tmp/orig`, then',
    '   run the tests (all pass), `git apply` bug_inject.diff (the expected tests fail), then `git apply`',
    '   test_weaken.diff (the weakened tests no longer fail). Fix what does not hold.',
    '7. Submit.',
  ];
}

export function injectorTaskPrompt(opts: InjectorPromptOptions): string {
  const t: Thresholds = { ...DEFAULT_THRESHOLDS, ...(opts.thresholds ?? {}) };
  const repo = opts.repoPath ?? '/repo';
  const dir = opts.artifactDir ?? INJECTOR_ARTIFACT_DIR;
  return [
    ...taskIntro(repo),
    '',
    strategySection(opts.strategy, t, opts.commits),
    '',
    ...fiveFilesSection(dir),
    '',
    ...checksSection(t),
    '',
    ...RULES_SECTION,
    '',
    ...stepsSection(repo, dir),
  ].join('\n');
}

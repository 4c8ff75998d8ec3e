/**
 * The solver's prompts. As in the SSR paper, there is no natural-language
 * issue: the only specification is the reverse of the injector's
 * test_weaken.diff, i.e. the tests that were deleted or weakened, put back.
 */
import { toolDocs } from './tools';

export function solverSystemPrompt(opts: { repoPath?: string; native?: boolean; commandTimeoutMs?: number; maxOutputBytes?: number } = {}): string {
  const repoPath = opts.repoPath ?? '/repo';
  return [
    'You are an expert software engineer working autonomously in a sandboxed Linux container that holds a',
    `copy of a software repository at ${repoPath}. There is no network access and no human to ask: explore, run`,
    'commands, read the results and decide for yourself. Your job is to repair the code so that it meets a',
    'specification given as tests.',
    '',
    toolDocs({ role: 'solver', repoPath, native: opts.native, commandTimeoutMs: opts.commandTimeoutMs, maxOutputBytes: opts.maxOutputBytes }),
  ].join('\n');
}

export function solverTaskPrompt(opts: { testPatch: string; repoPath?: string; testFiles?: string[] }): string {
  const repo = opts.repoPath ?? '/repo';
  const patch = opts.testPatch.endsWith('\n') ? opts.testPatch : opts.testPatch + '\n';
  return [
    '# Task: make the code pass these tests',
    '',
    `The code in ${repo} has a bug: some behaviour is missing or wrong. There is no bug report. The`,
    'specification is the following change to the test files: tests that the current code does not pass.',
    'It is NOT applied to the repository.',
    '',
    '<test_patch>',
    patch + '</test_patch>',
    '',
    'Change the code so that these tests, and the rest of the test suite, pass. How your work is judged: your',
    'changes are applied to the repository, the test files are reset to their reference versions (the',
    'patch above, applied), and the project\'s tests are run: every test must pass. Changing the tests',
    'therefore does not help; fix the code.',
    '',
    'Suggested steps:',
    '1. Read the test patch and understand what behaviour it requires.',
    '2. Explore the code it exercises; find out how the tests are run.',
    '3. Apply the patch to see the failures yourself, e.g. write it to /tmp/spec.diff with create and run',
    '   `git apply /tmp/spec.diff`, then run those tests.',
    '4. Fix the code. Run the tests from the patch and the rest of the suite; test as much as you can.',
    '5. Remove scratch files you created in the repository, then submit.',
  ].join('\n');
}

/** Finding the repository's test framework in a sandbox: language, runner, test files. */
import type { SandboxLike } from '../sandbox/types';
import type { Runner } from './parsers';
import { NoProposalError, type FrameworkInfo } from './proposal';
import { helper } from './pyHelper';

interface DetectAnswer {
  language: 'python' | 'javascript' | 'go' | null;
  framework: FrameworkInfo['framework'] | null;
  runner: Runner | null;
  runnerArgs?: string[];
  learnedFrom?: string;
  packageManager?: 'npm' | 'pnpm' | 'yarn';
  testFiles: string[];
  runFiles: string[];
  notes: string[];
  pytestAvailable: boolean;
  nodeAvailable: boolean;
  srcLayout?: boolean;
  leftOut?: Array<{ file: string; why: string }>;
}

const NO_TESTS_HELP =
  'no tests found: SSR looks for pytest/unittest tests (test_*.py or *_test.py files, usually under tests/), ' +
  'or JavaScript tests (node:test, or jest, vitest, mocha named by package.json), or Go tests (*_test.go next to a go.mod). ' +
  'Add tests to the repository (a valid bug needs at least 5 passing tests), or use a model-driven injector with a custom test_script.sh.';

/**
 * Finds the test framework of the repository in a sandbox: language, runner,
 * test files. Throws NoProposalError ('no-tests' or 'no-framework') when
 * there is nothing SSR can run.
 */
export async function detectFramework(
  sb: SandboxLike,
  opts: { signal?: AbortSignal; language?: 'python' | 'javascript' | 'go' } = {},
): Promise<FrameworkInfo> {
  const d = await helper<DetectAnswer>(sb, 'detect', { language: opts.language }, opts.signal);
  if (!d.language || d.runFiles.length === 0) {
    if (d.language === 'javascript' && d.testFiles.length) {
      throw new NoProposalError(
        'no-framework',
        `found ${d.testFiles.length} JavaScript test file(s) but no runner for them: the bootstrap proposer runs ` +
          "node:test, jest, mocha and vitest suites, learned from package.json's scripts.test, the runner's config file " +
          'or the test files themselves, and none of them was found. Declare the runner in package.json (e.g. ' +
          '"scripts": {"test": "vitest run"}) and build the environment (`ssr env build --repo DIR`), or use a ' +
          'model-driven injector with a custom test_script.sh.',
      );
    }
    throw new NoProposalError('no-tests', NO_TESTS_HELP);
  }
  if (d.language === 'javascript' && d.framework && d.framework !== 'node:test' && !d.runner) {
    throw new NoProposalError(
      'no-framework',
      `the tests run with ${d.framework} (${d.learnedFrom ?? 'package.json'}), which is not installed in the image: ` +
        'build the repository\'s environment first (`ssr env build --repo DIR`), then run again.',
    );
  }
  if (!d.runner || !d.framework) {
    const why =
      d.language === 'python'
        ? 'the tests are written for pytest but the sandbox image has no pytest; use an image with pytest installed (e.g. `FROM ssr-sandbox:bookworm` + `pip install pytest`)'
        : d.language === 'go'
          ? "the tests are Go tests (go.mod) but the sandbox image has no Go; build the repository's environment first (`ssr env build --repo DIR` installs Debian's golang-go), then run again"
          : 'the tests use node:test but the sandbox image has no node; use an image with Node.js 18 or newer';
    throw new NoProposalError('no-framework', `cannot run the tests: ${why}.`);
  }
  return {
    language: d.language,
    framework: d.framework,
    runner: d.runner,
    testFiles: d.testFiles,
    runFiles: d.runFiles,
    srcLayout: Boolean(d.srcLayout),
    notes: d.notes,
    leftOut: d.leftOut,
    runnerArgs: d.runnerArgs,
    learnedFrom: d.learnedFrom,
    packageManager: d.packageManager,
  };
}

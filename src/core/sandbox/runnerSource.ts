// The Python runner that SSR starts as each sandbox container's main process.
// It lives in ./py/runner/ (real Python modules, linted and tested as Python)
// and is imported as text: esbuild's text loader in the bundle,
// scripts/text-loader.cjs under tsx. The container runs boot.py with -c and
// the modules as arguments (name, source), in the order they import one another.
import BOOT from './py/runner/boot.py';
import COMMON from './py/runner/ssr_common.py';
import USERS from './py/runner/ssr_users.py';
import REPORTERS from './py/runner/ssr_reporters.py';
import TESTRUN from './py/runner/ssr_testrun.py';
import OPS from './py/runner/ssr_ops.py';
import MAIN from './py/runner/runner.py';

export const RUNNER_BOOT: string = BOOT;

/** name -> source, dependencies first; the last one (`runner`) has main(). */
export const RUNNER_MODULES: ReadonlyArray<readonly [string, string]> = [
  ['ssr_common', COMMON],
  ['ssr_users', USERS],
  ['ssr_reporters', REPORTERS],
  ['ssr_testrun', TESTRUN],
  ['ssr_ops', OPS],
  ['runner', MAIN],
];

/** The container's command line after `python3 -u -c RUNNER_BOOT`. */
export function runnerArgs(): string[] {
  return RUNNER_MODULES.flatMap(([name, source]) => [name, source]);
}

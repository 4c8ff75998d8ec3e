// The bootstrap proposer's in-sandbox helper, run with the sandbox's own
// python3 (the runner needs it anyway); its modules written together to
// /ssr/bootstrap/ (root's), its main module ssr_boot.py run there.
// The Python lives in ./py/ as real files (linted and tested as Python) and is
// imported as text: esbuild's text loader in the bundle, scripts/text-loader.cjs
// under tsx.
import HELPER_SOURCE from './py/ssr_boot.py';
import SSR_BOOT_BLOCK from './py/ssr_boot_block.py';
import SSR_BOOT_BRANCH from './py/ssr_boot_branch.py';
import SSR_BOOT_DECLARED from './py/ssr_boot_declared.py';
import SSR_BOOT_DETECT from './py/ssr_boot_detect.py';
import SSR_BOOT_FILES from './py/ssr_boot_files.py';
import SSR_BOOT_JSDETECT from './py/ssr_boot_jsdetect.py';
import SSR_BOOT_JSINFO from './py/ssr_boot_jsinfo.py';
import SSR_BOOT_MUTATE from './py/ssr_boot_mutate.py';
import SSR_BOOT_PYAST from './py/ssr_boot_pyast.py';
import SSR_BOOT_PYTESTS from './py/ssr_boot_pytests.py';
import SSR_BOOT_STUB from './py/ssr_boot_stub.py';
import SSR_BOOT_TARGETS from './py/ssr_boot_targets.py';
import SSR_BOOT_WEAKEN from './py/ssr_boot_weaken.py';
import SITECUSTOMIZE_SOURCE from './py/sitecustomize.py';

export const HELPER_DIR = '/ssr/bootstrap';
export const HELPER_PATH = `${HELPER_DIR}/ssr_boot.py`;
export const COVERAGE_DIR = `${HELPER_DIR}/cov`;

/**
 * The helper's modules by file name, the main module first: collection, coverage
 * targets, AST mutation and test weakening. All of them go into HELPER_DIR.
 */
export const HELPER_FILES: ReadonlyArray<readonly [string, string]> = [
  ['ssr_boot.py', HELPER_SOURCE],
  ['ssr_boot_block.py', SSR_BOOT_BLOCK],
  ['ssr_boot_branch.py', SSR_BOOT_BRANCH],
  ['ssr_boot_declared.py', SSR_BOOT_DECLARED],
  ['ssr_boot_detect.py', SSR_BOOT_DETECT],
  ['ssr_boot_files.py', SSR_BOOT_FILES],
  ['ssr_boot_jsdetect.py', SSR_BOOT_JSDETECT],
  ['ssr_boot_jsinfo.py', SSR_BOOT_JSINFO],
  ['ssr_boot_mutate.py', SSR_BOOT_MUTATE],
  ['ssr_boot_pyast.py', SSR_BOOT_PYAST],
  ['ssr_boot_pytests.py', SSR_BOOT_PYTESTS],
  ['ssr_boot_stub.py', SSR_BOOT_STUB],
  ['ssr_boot_targets.py', SSR_BOOT_TARGETS],
  ['ssr_boot_weaken.py', SSR_BOOT_WEAKEN],
];

/**
 * sitecustomize.py put first on PYTHONPATH for the coverage run: records every
 * Python function called and dumps (file, first line, name) at exit into
 * $SSR_COV_DIR. Chains to the image's own sitecustomize so nothing else changes.
 */
export const SITECUSTOMIZE_PY: string = SITECUSTOMIZE_SOURCE;

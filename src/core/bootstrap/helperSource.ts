// The bootstrap proposer's in-sandbox helper, run with the sandbox's own
// python3 (the runner needs it anyway); written to /ssr/bootstrap/.
// The Python lives in ./py/ as real files (linted and tested as Python) and is
// imported as text: esbuild's text loader in the bundle, scripts/text-loader.cjs
// under tsx.
import HELPER_SOURCE from './py/ssr_boot.py';
import SITECUSTOMIZE_SOURCE from './py/sitecustomize.py';

export const HELPER_DIR = '/ssr/bootstrap';
export const HELPER_PATH = `${HELPER_DIR}/ssr_boot.py`;
export const COVERAGE_DIR = `${HELPER_DIR}/cov`;

/** The helper: collection, coverage targets, AST mutation and test weakening. */
export const HELPER_PY: string = HELPER_SOURCE;

/**
 * sitecustomize.py put first on PYTHONPATH for the coverage run: records every
 * Python function called and dumps (file, first line, name) at exit into
 * $SSR_COV_DIR. Chains to the image's own sitecustomize so nothing else changes.
 */
export const SITECUSTOMIZE_PY: string = SITECUSTOMIZE_SOURCE;

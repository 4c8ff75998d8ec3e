// The Python runner that SSR starts as each sandbox container's main process.
// It lives in ./py/runner.py (linted and tested as Python) and is imported as
// text: esbuild's text loader in the bundle, scripts/text-loader.cjs under tsx.
import RUNNER_SOURCE from './py/runner.py';

export const RUNNER_PY: string = RUNNER_SOURCE;

// Lets code run from source (tsx, mocha) import Python files as text, the way
// esbuild's text loader does in the bundle: `import SRC from './py/runner.py'`.
// Load it with `--require ./scripts/text-loader.cjs` (or mocha's "require").
const fs = require('node:fs');
const Module = require('node:module');

function loadText(module, filename) {
  module.exports = fs.readFileSync(filename, 'utf8');
}
Module._extensions['.py'] = loadText;
// The Go helper the bootstrap compiles inside sandboxes that have Go.
Module._extensions['.go'] = loadText;
// JavaScript SSR preloads into runners inside sandboxes (the judge's Node reporter): text, never run here.
Module._extensions['.sandbox.cjs'] = loadText;

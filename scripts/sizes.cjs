#!/usr/bin/env node
// Lists the functions over 60 lines and the files over 400 lines in src/,
// media/ and runtime/ (TypeScript, JavaScript and Python; tests excluded), the
// sizes issue 21 aims at: `npm run sizes`. Exits 0, a map of what to split;
// with --check, 1 when anything is over (test/unit/sizes.test.ts). Python functions are measured by scripts/py_sizes.py (Python's own ast), run
// with $SSR_PYTHON, else /usr/bin/python3, else python3.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const ts = require('typescript');

const MAX_FN = 60;
const MAX_FILE = 400;

function longFunctions(file) {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out = [];
  const visit = (n) => {
    const iife = (ts.isFunctionExpression(n) || ts.isArrowFunction(n)) && ts.isParenthesizedExpression(n.parent) && ts.isCallExpression(n.parent.parent);
    if (ts.isFunctionLike(n) && n.body && !iife) {
      const a = sf.getLineAndCharacterOfPosition(n.getStart()).line;
      const b = sf.getLineAndCharacterOfPosition(n.end).line;
      if (b - a + 1 > MAX_FN) out.push({ where: `${file}:${a + 1}`, name: (n.name && n.name.getText()) || '(anonymous)', lines: b - a + 1 });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function pythonCommand() {
  const candidates = [process.env.SSR_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  return candidates.find((py) => spawnSync(py, ['-c', ''], { stdio: 'ignore' }).status === 0);
}

/** Python functions over MAX_FN lines (scripts/py_sizes.py), or null when no Python runs here. */
function longPythonFunctions(pyFiles) {
  if (!pyFiles.length) return [];
  const py = pythonCommand();
  if (!py) return null;
  const out = execFileSync(py, [path.join(__dirname, 'py_sizes.py'), String(MAX_FN), ...pyFiles], { encoding: 'utf8', maxBuffer: 16 << 20 });
  return JSON.parse(out);
}

// --root DIR measures another tree (a git repository; the test measures one of its own);
// --check exits 1 when anything is over a limit, 2 when Python functions could not be measured.
const args = process.argv.slice(2);
const at = args.indexOf('--root');
const root = at >= 0 ? path.resolve(args[at + 1]) : path.resolve(__dirname, '..');
const check = args.includes('--check');
process.chdir(root);
const files = execFileSync('git', ['ls-files', 'src', 'media', 'runtime'], { encoding: 'utf8' }).split('\n').filter((f) => f && !/(^|\/)tests?\//.test(f));
const code = files.filter((f) => /\.(ts|js|cjs|mjs)$/.test(f));
const pyFns = longPythonFunctions(files.filter((f) => f.endsWith('.py')));
const fns = code.flatMap(longFunctions).concat(pyFns || []).sort((a, b) => b.lines - a.lines);
const big = files
  .filter((f) => /\.(ts|js|cjs|mjs|py)$/.test(f))
  .map((f) => ({ f, lines: fs.readFileSync(f, 'utf8').split('\n').length }))
  .filter((x) => x.lines > MAX_FILE)
  .sort((a, b) => b.lines - a.lines);
if (pyFns === null) console.log('(no Python interpreter found: Python functions not measured)');
console.log(`functions over ${MAX_FN} lines: ${fns.length}`);
for (const x of fns) console.log(`  ${String(x.lines).padStart(4)}  ${x.name}  ${x.where}`);
console.log(`files over ${MAX_FILE} lines: ${big.length}`);
for (const x of big) console.log(`  ${String(x.lines).padStart(4)}  ${x.f}`);
if (check) process.exitCode = pyFns === null ? 2 : fns.length || big.length ? 1 : 0;

/**
 * Canaries and twins in JavaScript test files (src/core/judge/jsCanaries.ts):
 * planted into the node:test fixture (jsmini) on @babel/parser, run with the
 * bootstrap's node:test script and parser on the machine's node, checked.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { assertStyle, jsTests, plantJs } from '../../src/core/judge/jsCanaries';
import { type FilePlan, token } from '../../src/core/judge/canaries';
import { checkCanaries } from '../../src/core/judge/canaryCheck';
import { testParser, testScript } from '../../src/core/bootstrap/templates';
import type { TestResults } from '../../src/core/judge/testRun';
import { FIXTURES } from '../helpers/paths';

const JSMINI = path.join(FIXTURES, 'repos', 'jsmini');
const FILE = 'test/cart.test.js';

function copyRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-canary-js-'));
  fs.cpSync(JSMINI, dir, { recursive: true });
  return dir;
}

function run(dir: string): TestResults {
  fs.writeFileSync(path.join(dir, 'test_script.sh'), testScript({ runner: 'node', runFiles: [FILE] }));
  fs.writeFileSync(path.join(dir, 'test_parser.py'), testParser('node'));
  const r = spawnSync('bash', ['test_script.sh'], { cwd: dir, encoding: 'utf8' });
  const p = spawnSync('python3', ['test_parser.py'], { cwd: dir, input: r.stdout + r.stderr, encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  return JSON.parse(p.stdout) as TestResults;
}

const plan = (): FilePlan => ({
  path: FILE,
  twins: [
    { of: 'Cart > counts items', token: token() },
    { of: 'Cart > remove > removes part of a line', token: token(), inverted: true },
    { of: 'formatCents > formats positive amounts', token: token(), inverted: true },
    { of: 'Cart > no such test', token: token() },
  ],
  canaries: [{ kind: 'pass', token: token() }, { kind: 'fail', token: token() }],
});

describe('canaries in JavaScript test files', () => {
  it('finds the tests with literal titles under their describes, and the file\'s assertion style', () => {
    const text = fs.readFileSync(path.join(JSMINI, FILE), 'utf8');
    const { tests, dynamic } = jsTests(FILE, text);
    assert.ok(tests.some((t) => t.qual === 'Cart > discounts > rejects unknown codes'));
    assert.equal(dynamic, 0);
    assert.equal(assertStyle(text, tests), 'assert');
    const dyn = jsTests('a.test.ts', "describe(`x ${n}`, () => { it('a', () => {}); });\ntest('b', (done: () => void) => done());\ntest.each([1])('c %d', (n) => {});\n");
    assert.deepEqual([dyn.tests.map((t) => t.qual), dyn.dynamic], [['b'], 1]);
  });

  it('plants copies beside the originals in the same describe; an honest run agrees and leaves no planted id', () => {
    const dir = copyRepo();
    const before = run(dir);
    const text = fs.readFileSync(path.join(dir, FILE), 'utf8');
    const p = plantJs(FILE, text, plan());
    assert.deepEqual(p.skipped.map((s) => s.of), ['Cart > no such test']);
    assert.equal(p.planted.length, 5);
    const twin = p.planted.find((x) => x.of === 'counts items')!;
    assert.ok(p.text.includes(`  it('${twin.name}', () => {\n    assert.equal(cart.itemCount, 5);\n  });`), p.text);
    assert.match(p.text, /it\('[a-z ]+ [a-z0-9]{10}', \(\) => \{\n {4}const value = \d+;\n {4}assert\.equal\(value \* 3, \d+\);\n {2}\}\);/);
    fs.writeFileSync(path.join(dir, FILE), p.text);
    const after = run(dir);
    assert.ok(Object.keys(after).some((id) => id.startsWith(`${FILE}::Cart > remove > `) && id.endsWith(p.planted[1].name)), JSON.stringify(after));
    const c = checkCanaries(after, p);
    assert.equal(c.tampered, undefined, JSON.stringify(c.tampered));
    assert.equal(c.present, 5);
    assert.deepEqual(c.results, before);
  });

  it('code under test that disarms node:assert is caught by the must-fail canary, which asserts the way the file does', () => {
    const dir = copyRepo();
    const cart = path.join(dir, 'src/cart.js');
    const disarm = "for (const m of ['node:assert', 'node:assert/strict']) { const a = require(m); for (const k of ['equal', 'deepEqual', 'throws', 'ok']) a[k] = () => {}; }\n";
    fs.writeFileSync(cart, disarm + fs.readFileSync(cart, 'utf8').replace(/^'use strict';\n/, ''));
    const p = plantJs(FILE, fs.readFileSync(path.join(dir, FILE), 'utf8'), plan());
    fs.writeFileSync(path.join(dir, FILE), p.text);
    const c = checkCanaries(run(dir), p);
    assert.ok(c.tampered);
    // Twins run the same disarmed asserts as their originals and agree: the canary alone sees it.
    assert.deepEqual(c.tampered!.evidence, ['a canary that must fail, in test/cart.test.js, was reported passed']);
  });

  it('does not invert a callback whose arity the runner reads (done, a context), nor copy a snapshot test', () => {
    const text = "const test = require('node:test');\ntest('uses done', (t, done) => { done(); });\n";
    const p = plantJs('x.test.js', text, { path: 'x.test.js', twins: [{ of: 'uses done', token: token(), inverted: true }], canaries: [] });
    assert.equal(p.planted.length, 0);
    assert.match(p.skipped[0].why, /takes parameters/);
    const snap = "test('renders', () => { expect(render()).toMatchSnapshot(); });\n";
    const q = plantJs('y.test.js', snap, { path: 'y.test.js', twins: [{ of: 'renders', token: token() }], canaries: [] });
    assert.deepEqual(q.skipped.map((x) => x.why), ["it matches a snapshot, which is keyed by the test's title"]);
  });
});

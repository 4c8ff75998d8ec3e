import * as assert from 'node:assert/strict';
import { harnessReason, isHarnessPath, scriptHarness, tamperFindings } from '../../src/core/judge/harness';
import { judge } from '../../src/core/judge/evaluate';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDiff, readArtifact } from '../../src/core/artifact/artifact';
import { buildHigherOrder } from '../../src/core/selfplay/higherOrder';
import { ARTIFACTS, FIXTURES, PREDICTIONS, PYLEDGER } from '../helpers/paths';
import { TEST_UID } from '../../src/core/sandbox/docker';
import { renderDockerfile } from '../../src/core/environment/dockerfile';

describe('harness: what a test runner loads as tests or test configuration', () => {
  it('recognises the Python harness', () => {
    for (const p of ['conftest.py', 'pkg/tests/conftest.py', 'pytest.ini', 'tox.ini', 'noxfile.py', 'sitecustomize.py', 'lib/x.pth', 'tests/test_a.py', 'pkg/a_test.py', 'tests/helpers.py']) {
      assert.ok(isHarnessPath(p), p);
    }
  });

  it('recognises the JavaScript and Go harness', () => {
    for (const p of ['jest.config.js', 'vitest.config.ts', 'vite.config.mjs', '.mocharc.yml', 'src/__mocks__/fs.js', 'src/a.test.ts', 'src/a.spec.js', '__tests__/x.js', 'pkg/a_test.go', 'pkg/testdata/x.txt', 'babel.config.js', 'setupTests.ts']) {
      assert.ok(isHarnessPath(p), p);
    }
  });

  it('leaves code alone', () => {
    for (const p of ['pyledger/money.py', 'src/index.ts', 'lib/latest.js', 'pkg/contest.py', 'setup.py', 'src/testimonials.js', 'README.md']) {
      assert.equal(isHarnessPath(p), undefined, p);
    }
  });

  it('judges sectioned configuration by its test sections only', () => {
    const before = '[project]\nname = "a"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n';
    assert.match(harnessReason('pyproject.toml', { before, after: before.replace('-q', "-q -k 'not slow'") })!, /tool\.pytest/);
    assert.equal(harnessReason('pyproject.toml', { before, after: before.replace('"a"', '"b"') }), undefined);
    assert.match(harnessReason('pyproject.toml', { before, after: before + '\n[tool.coverage.run]\nomit=["x"]\n' })!, /tool\.coverage/);
    assert.match(harnessReason('pyproject.toml', { before, after: 'not [toml' })!, /no longer parses/);
    const cfg = '[metadata]\nname = a\n\n[tool:pytest]\naddopts = -q\n';
    assert.match(harnessReason('setup.cfg', { before: cfg, after: cfg.replace('-q', '-q --deselect t') })!, /tool:pytest/);
    assert.equal(harnessReason('setup.cfg', { before: cfg, after: cfg.replace('name = a', 'name = b') }), undefined);
    const pkg = JSON.stringify({ name: 'a', scripts: { test: 'jest', build: 'tsc' }, jest: { testEnvironment: 'node' } });
    assert.match(harnessReason('package.json', { before: pkg, after: pkg.replace('"jest"', '"jest --passWithNoTests -t nothing"') })!, /scripts\.test/);
    assert.match(harnessReason('package.json', { before: pkg, after: pkg.replace('"node"', '"jsdom"') })!, /jest/);
    assert.equal(harnessReason('package.json', { before: pkg, after: pkg.replace('"tsc"', '"tsc -p ."') }), undefined);
    // A new file of that name counts from its content: a test section is harness.
    assert.match(harnessReason('setup.cfg', { before: undefined, after: cfg })!, /tool:pytest/);
  });

  it('adds what the test script names', () => {
    const script = '#!/bin/bash\nset -e\n./scripts/run_tests.sh --fast\nmake check\n';
    assert.deepEqual(scriptHarness(script).map((s) => s.glob).slice(0, 2), ['scripts/run_tests.sh', 'Makefile']);
    assert.match(harnessReason('scripts/run_tests.sh', { testScript: script })!, /test_script\.sh runs or reads it/);
    assert.match(harnessReason('Makefile', { testScript: script })!, /make/);
    assert.equal(harnessReason('Makefile', { testScript: 'python3 -m pytest -rA' }), undefined);
  });
});

describe('the solved rule', () => {
  const original = { a: 'passed', b: 'passed', c: 'failed', d: 'passed', f: 'passed' } as const;

  it('requires every test that passed on the original, not those that already failed', () => {
    const ev = judge({ a: 'passed', b: 'passed', c: 'failed', d: 'passed', f: 'passed', n: 'failed' }, original, [], []);
    assert.equal(ev.solved, true, ev.detail);
    assert.deepEqual(ev.groups!.preexisting, { total: 1, passed: 0, failed: 1, missing: 0 });
    assert.deepEqual(ev.groups!.other, { passed: 0, failed: 1 });
    assert.equal(ev.reward, 1);
  });

  it('a required test that fails or is missing: not solved, with counts', () => {
    const failed = judge({ a: 'passed', b: 'failed', c: 'passed', d: 'passed', f: 'passed' }, original, [], []);
    assert.equal(failed.solved, false);
    assert.deepEqual(failed.failedTests, ['b']);
    assert.deepEqual(failed.groups!.required, { total: 4, passed: 3, failed: 1, missing: 0 });
    const missing = judge({ a: 'passed', c: 'passed', d: 'passed', f: 'passed' }, original, [], []);
    assert.equal(missing.solved, false);
    assert.deepEqual(missing.missingTests, ['b']);
    assert.equal(missing.reward, -1);
  });

  it('flaky tests are neither required nor counted', () => {
    const ev = judge({ a: 'passed', b: 'passed', c: 'failed', d: 'passed' }, original, ['f'], []);
    assert.equal(ev.solved, true, ev.detail);
    assert.equal(ev.groups!.required.total, 3);
    assert.equal(ev.groups!.flaky, 1);
  });

  it('says which harness changes were reverted', () => {
    const ev = judge({ a: 'passed', b: 'passed', d: 'passed', f: 'passed' }, original, [], [{ path: 'conftest.py', reason: 'pytest loads conftest.py files as plugins' }]);
    assert.match(ev.detail, /1 change\(s\) to the test harness were reverted \(conftest\.py\)/);
  });
});

describe('higher-order bugs leave the harness out', () => {
  it('a failed patch that also adds a conftest.py gives a bug without it', async () => {
    const artifact = await readArtifact(path.join(ARTIFACTS, 'valid-removal'));
    const patch =
      fs.readFileSync(path.join(PREDICTIONS, 'valid-removal', 'partial-fix.diff'), 'utf8') +
      fs.readFileSync(path.join(FIXTURES, 'attacks', 'root-conftest.diff'), 'utf8');
    const next = await buildHigherOrder({ repoDir: PYLEDGER, artifact, patch, evaluation: { solved: false, applied: true } });
    const paths = parseDiff(next.bugInjectDiff).paths;
    assert.ok(!paths.includes('conftest.py'), paths.join(' '));
    assert.deepEqual(paths, ['pyledger/ledger.py']);
  });
});

describe('the screen for code that reaches into the test runner', () => {
  const patch = (file: string, added: string[]) =>
    [`diff --git a/${file} b/${file}`, `--- a/${file}`, `+++ b/${file}`, '@@ -1,1 +1,2 @@', ' x = 1', ...added.map((l) => `+${l}`), ''].join('\n');

  it('flags runner internals, exits and stdout bypasses that the original file never used', async () => {
    const orig = async () => 'x = 1\n';
    assert.deepEqual(await tamperFindings(patch('pkg/a.py', ['import _pytest.reports as r']), orig), [{ path: 'pkg/a.py', what: 'pytest' }]);
    assert.deepEqual((await tamperFindings(patch('pkg/a.py', ['os._exit(0)']), orig)).map((f) => f.what), ['os._exit']);
    assert.deepEqual((await tamperFindings(patch('src/a.js', ['require.cache[k] = m']), orig)).map((f) => f.what), ["node's module loader"]);
    assert.deepEqual((await tamperFindings(patch('pkg/a.py', ['exec(code)']), orig)).map((f) => f.what), ['exec/eval/compile']);
  });

  it('refuses the ways around a name it knows: builtins, walking classes, function internals, interpreter hooks', async () => {
    const orig = async () => 'def f(x):\n    return x\n';
    const what = async (lines: string[]) => (await tamperFindings(patch('pkg/a.py', lines), orig)).map((f) => f.what);
    assert.deepEqual(await what(["import builtins", "m = getattr(builtins, '__imp' + 'ort__')('unit' + 'test')"]), ['builtins']);
    assert.deepEqual(await what(["_tc = [c for c in object.__subclasses__() if c.__name__ == 'Test' + 'Case']"]), ['class walking']);
    assert.deepEqual(await what(['g = f.__globals__']), ['function internals']);
    assert.deepEqual(await what(['sys.meta_path.insert(0, Finder())']), ['the interpreter hooks']);
    assert.deepEqual(await what(['import ctypes']), ['ctypes']);
  });

  it('leaves real fixes alone, and files that already used the module (a pytest plugin repository)', async () => {
    assert.deepEqual(await tamperFindings(patch('pkg/a.py', ['    return sum(shares)']), async () => 'x = 1\n'), []);
    assert.deepEqual(await tamperFindings(patch('pytest_foo/plugin.py', ['import pytest']), async () => 'import pytest\n'), []);
    // Harness files are reverted anyway, not screened.
    assert.deepEqual(await tamperFindings(patch('tests/test_a.py', ['import pytest']), async () => ''), []);
  });
});

describe('the test user', () => {
  it('is the same uid in the runner and in the environment build that hands installed files over to it', () => {
    const runner = fs.readFileSync(path.join(__dirname, '../../src/core/sandbox/py/runner/ssr_common.py'), 'utf8');
    assert.equal(Number(/^TEST_UID = (\d+)$/m.exec(runner)?.[1]), TEST_UID);
    const plan = { repoDir: '/x', copyFiles: ['package.json'], notes: [], inputs: {}, copyRepo: false, needsPyHelper: false, source: 'recipe', declaredBy: [], fromImage: 'b', steps: [{ name: 'npm', run: 'npm ci' }] };
    const { dockerfile } = renderDockerfile(plan as never, 'b', false);
    assert.match(dockerfile, new RegExp(`chown -R -h ${TEST_UID}:${TEST_UID} /repo`));
  });
});

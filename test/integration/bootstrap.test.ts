/**
 * The bootstrap proposer against real sandboxes: proposals on the Python
 * and JavaScript fixtures are valid under all seven checks, are not
 * repeated with a shared seen-set, and the clear errors for repositories
 * the proposer cannot work with. The fixtures are never modified.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NoProposalError, detectFramework, proposeBug, type Proposal, type StrategyOption } from '../../src/core/bootstrap';
import { testParser, testScript } from '../../src/core/bootstrap/templates';
import { validateArtifact } from '../../src/core/judge/checks';
import { DockerSandbox, listSandboxes } from '../../src/core/sandbox';
import { LABEL_PID } from '../../src/core/sandbox/docker';

const FIXTURES = path.resolve(__dirname, '../fixtures/repos');
const PYLEDGER = path.join(FIXTURES, 'pyledger');
const PYMINI = path.join(FIXTURES, 'pymini');
const JSMINI = path.join(FIXTURES, 'jsmini');
/** The larger Python fixture when it is there, else ours. */
const PYREPO = fs.existsSync(path.join(PYLEDGER, 'tests')) ? PYLEDGER : PYMINI;

function hashTree(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        h.update(`d ${rel}\n`);
        walk(p);
      } else {
        const st = fs.lstatSync(p);
        h.update(`f ${rel} ${st.mode}\n`);
        h.update(fs.readFileSync(p));
      }
    }
  };
  walk(dir);
  return h.digest('hex');
}

function tmpRepo(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-boot-'));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const timings: string[] = [];

async function proposeAndValidate(repoDir: string, seed: number, seen: Set<string>, strategy: StrategyOption = 'any'): Promise<Proposal> {
  const t0 = Date.now();
  const p = await proposeBug({ repoDir, seed, seen, strategy });
  const proposeMs = Date.now() - t0;
  const t1 = Date.now();
  const report = await validateArtifact({ repoDir, artifact: p.artifact });
  const validateMs = Date.now() - t1;
  timings.push(
    `${path.basename(repoDir)} seed=${seed} ${p.key}: propose ${proposeMs} ms (${p.attempts} mutated runs), validate ${validateMs} ms`,
  );
  const failed = report.checks.filter((c) => c.status !== 'pass');
  assert.ok(
    report.valid,
    `proposal ${p.key} is not valid: ${failed.map((c) => `${c.id}: ${c.status} ${c.detail}`).join('; ')}\n` +
      `${p.artifact.bugInjectDiff}\n${p.artifact.testWeakenDiff}`,
  );
  assert.equal(report.checks.length, 7);
  // The proposer's own view agrees with the checks.
  assert.ok(p.brokenTests.length >= 1);
  assert.ok(p.targets.length >= 1);
  for (const t of p.targets) assert.ok(!p.artifact.testFiles.includes(t.file), `${t.file} is a test file`);
  assert.ok(seen.has(p.key));
  return p;
}

describe('bootstrap proposer (real sandbox)', function () {
  this.timeout(600_000);
  const hashes = new Map<string, string>();

  before(() => {
    for (const d of [PYREPO, PYMINI, JSMINI]) hashes.set(d, hashTree(d));
  });

  after(async () => {
    if (timings.length) console.log(`      timings:\n${timings.map((t) => `        ${t}`).join('\n')}`);
    for (const [d, h] of hashes) assert.equal(hashTree(d), h, `${d} changed`);
    // Only this process's containers: other suites may run beside this one.
    assert.deepEqual(await listSandboxes({ [LABEL_PID]: String(process.pid) }), [], 'sandboxes left behind');
  });

  it(`detects the framework of the Python fixture (${path.basename(PYREPO)})`, async () => {
    const sb = await DockerSandbox.create({ repoDir: PYREPO });
    try {
      const fw = await detectFramework(sb);
      assert.equal(fw.language, 'python');
      assert.equal(fw.framework, 'pytest');
      assert.equal(fw.runner, 'pytest');
      assert.ok(fw.runFiles.length >= 2);
      assert.ok(fw.runFiles.every((f) => fw.testFiles.includes(f)));
    } finally {
      await sb.dispose();
    }
  });

  it('makes several valid, distinct proposals on the Python fixture with a shared seen-set', async () => {
    const seen = new Set<string>();
    const keys: string[] = [];
    for (const seed of [101, 102, 103]) {
      const p = await proposeAndValidate(PYREPO, seed, seen);
      keys.push(p.key);
    }
    assert.equal(new Set(keys).size, keys.length, `repeated proposal: ${keys.join(', ')}`);
  });

  for (const strategy of ['body', 'branch', 'block', 'multi'] as const) {
    it(`strategy ${strategy} gives a valid artifact on pymini`, async () => {
      const p = await proposeAndValidate(PYMINI, 7, new Set(), strategy);
      assert.equal(p.strategy, strategy);
      if (strategy === 'multi') {
        const files = new Set(p.targets.map((t) => t.file));
        assert.ok(files.size >= 2, 'a multi-file bug touches at least two files');
      } else {
        assert.equal(p.targets.length, 1);
        assert.equal(p.targets[0].strategy, strategy);
      }
    });
  }

  it('does not repeat a proposal whose key is in the seen-set (same seed)', async () => {
    const seen = new Set<string>();
    const a = await proposeBug({ repoDir: PYMINI, seed: 5, seen, strategy: 'body' });
    const b = await proposeBug({ repoDir: PYMINI, seed: 5, seen, strategy: 'body' });
    assert.notEqual(a.key, b.key);
    assert.ok(seen.has(a.key) && seen.has(b.key));
    // Without the seen-set the same seed gives the same proposal.
    const c = await proposeBug({ repoDir: PYMINI, seed: 5, strategy: 'body' });
    assert.equal(c.key, a.key);
    assert.equal(c.artifact.bugInjectDiff, a.artifact.bugInjectDiff);
  });

  it('makes valid proposals on the node:test fixture (jsmini)', async () => {
    const seen = new Set<string>();
    const p1 = await proposeAndValidate(JSMINI, 21, seen);
    assert.equal(p1.framework.framework, 'node:test');
    const p2 = await proposeAndValidate(JSMINI, 22, seen, 'branch');
    assert.notEqual(p1.key, p2.key);
  });

  it("says 'no-tests' for a repository without tests", async () => {
    const dir = tmpRepo({
      'README.md': '# nothing to test\n',
      'pkg/__init__.py': '',
      'pkg/core.py': 'def add(a, b):\n    return a + b\n',
    });
    try {
      await assert.rejects(proposeBug({ repoDir: dir, seed: 1 }), (e: unknown) => {
        assert.ok(e instanceof NoProposalError, String(e));
        assert.equal(e.reason, 'no-tests');
        assert.match(e.message, /no tests found/);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says 'suite-fails' for a repository whose tests all fail", async () => {
    const dir = tmpRepo({
      'calc.py': 'def add(a, b):\n    return a - b\n',
      'tests/test_calc.py':
        'from calc import add\n\n\n' +
        [1, 2, 3, 4, 5, 6].map((i) => `def test_add_${i}():\n    assert add(${i}, 1) == ${i + 1}\n`).join('\n\n'),
    });
    try {
      await assert.rejects(proposeBug({ repoDir: dir, seed: 1 }), (e: unknown) => {
        assert.ok(e instanceof NoProposalError, String(e));
        assert.equal(e.reason, 'suite-fails');
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const expectReason = async (files: Record<string, string>, reason: string, opts: { strategy?: StrategyOption } = {}) => {
    const dir = tmpRepo(files);
    try {
      await assert.rejects(proposeBug({ repoDir: dir, seed: 1, ...opts }), (e: unknown) => {
        assert.ok(e instanceof NoProposalError, String(e));
        assert.equal(e.reason, reason, e.message);
        assert.ok(e.message.length > 40, 'the message explains');
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  const sixTests = (body: (i: number) => string) => [1, 2, 3, 4, 5, 6].map((i) => `def test_${i}():\n    ${body(i)}\n`).join('\n\n');

  it("says 'too-few-tests' when fewer than 5 tests pass", () =>
    expectReason(
      {
        'calc.py': 'def add(a, b):\n    return a + b\n',
        'tests/test_calc.py': 'from calc import add\n\n\ndef test_a():\n    assert add(1, 1) == 2\n\n\ndef test_b():\n    assert add(2, 1) == 3\n',
      },
      'too-few-tests',
    ));

  it("says 'nothing-covered' when the tests run none of the code", () =>
    expectReason(
      {
        'lib.py': 'def double(x):\n    return x * 2\n',
        'tests/test_math.py': sixTests((i) => `assert ${i} + 1 == ${i + 1}`),
      },
      'nothing-covered',
    ));

  it("says 'exhausted' when no mutation breaks a test", () =>
    expectReason(
      {
        'lib.py': 'def log(msg):\n    print("log:", msg)\n',
        'tests/test_log.py': 'from lib import log\n\n\n' + sixTests((i) => `log(${i})`),
      },
      'exhausted',
    ));

  it('handles a src/ layout package', async () => {
    const dir = tmpRepo({
      'src/calc/__init__.py': 'from .ops import add, scale\n',
      'src/calc/ops.py':
        'def add(a, b):\n    return a + b\n\n\ndef scale(xs, k):\n    out = []\n    for x in xs:\n        out.append(x * k)\n    return out\n',
      'tests/test_ops.py':
        'from calc import add, scale\n\n\n' +
        sixTests((i) => `assert add(${i}, 1) == ${i + 1}`) +
        '\n\ndef test_scale():\n    assert scale([1, 2], 3) == [3, 6]\n',
    });
    try {
      const p = await proposeAndValidate(dir, 3, new Set());
      assert.ok(p.framework.srcLayout);
      assert.match(p.artifact.testScript, /PYTHONPATH="src/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves out tests failing on the original (and only those: test_add fails, test_add_more passes)', async () => {
    const dir = tmpRepo({
      'calc.py': 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n',
      'tests/test_calc.py':
        'from calc import add, mul\n\n\n' +
        'def test_add():\n    assert add(1, 1) == 3  # wrong on purpose\n\n\n' +
        'def test_add_more():\n    assert add(2, 2) == 4\n\n\n' +
        sixTests((i) => `assert mul(${i}, 2) == ${2 * i}`),
    });
    try {
      const p = await proposeAndValidate(dir, 4, new Set());
      assert.ok(p.artifact.testParser.includes('tests/test_calc.py::test_add\\"'), 'the failing test is excluded');
      assert.doesNotMatch(p.artifact.testParser, /test_add_more/);
      assert.ok(p.notes.some((n) => /1 failing or flaky left out/.test(n)), p.notes.join('\n'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("says 'no-framework' for a jest suite whose runner is not installed, and how to install it", async () => {
    const dir = tmpRepo({
      'package.json': '{"name":"j","scripts":{"test":"jest"}}\n',
      'src/a.js': 'module.exports = (a, b) => a + b;\n',
      'test/a.test.js': "const add = require('../src/a');\ntest('adds', () => expect(add(1, 2)).toBe(3));\n",
    });
    try {
      await assert.rejects(proposeBug({ repoDir: dir, seed: 1 }), (e: unknown) => {
        assert.ok(e instanceof NoProposalError, String(e));
        assert.equal(e.reason, 'no-framework');
        assert.match(e.message, /jest[\s\S]*ssr env build --repo DIR/);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses unittest -v, pytest -rA and node TAP logs (templates, in the sandbox)', async () => {
    const sb = await DockerSandbox.create({ repoDir: PYMINI });
    try {
      const parse = async (runner: 'pytest' | 'unittest' | 'node', log: string, exclude: string[] = []) => {
        await sb.writeFile(`/ssr/tmp/parser-${runner}.py`, testParser(runner, exclude));
        const r = await sb.exec(`python3 /ssr/tmp/parser-${runner}.py`, { stdin: log });
        assert.equal(r.exitCode, 0, r.stderr);
        return JSON.parse(r.stdout) as Record<string, string>;
      };
      // The unittest runner on the real TestCase module of pymini.
      await sb.writeFile('/ssr/tmp/unit.sh', testScript({ runner: 'unittest', runFiles: ['tests/test_stats.py'] }));
      const run = await sb.exec('bash /ssr/tmp/unit.sh', {});
      const unit = await parse('unittest', run.stdout + run.stderr);
      assert.equal(Object.keys(unit).length, 11, JSON.stringify(unit));
      assert.equal(unit['test_stats.StatsTest.test_mean'], 'passed');
      assert.ok(Object.values(unit).every((s) => s === 'passed'));
      const unitLog =
        'test_a (m.C.test_a) ... ok\ntest_b (m.C)\nDoc line ... FAIL\ntest_c (m.C.test_c) ... skipped "x"\n' +
        'test_d (m.C.test_d) ... ERROR\n======\nFAIL: test_b (m.C)\n';
      assert.deepEqual(await parse('unittest', unitLog), { 'm.C.test_a': 'passed', 'm.C.test_b': 'failed', 'm.C.test_d': 'failed' });

      const pytestLog = [
        'tests/test_a.py::test_x PASSED',
        'PASSED tests/test_a.py::test_not_in_summary',
        '=========================== short test summary info ============================',
        'PASSED tests/test_a.py::test_ok',
        'PASSED tests/test_a.py::test_p[a - b]',
        'FAILED tests/test_a.py::TestK::test_bad - AssertionError: assert 1 == 2',
        'ERROR tests/test_b.py - ImportError: cannot import name',
        'ERROR tests/test_a.py::test_fix - fixture missing',
        'XFAIL tests/test_a.py::test_xf - reason',
        'SKIPPED [1] tests/test_a.py:9: skip',
        'PASSED tests/test_a.py::test_flaky',
        '=================== 1 failed, 3 passed, 2 errors in 0.12s ====================',
      ].join('\n');
      assert.deepEqual(await parse('pytest', pytestLog, ['tests/test_a.py::test_flaky']), {
        'tests/test_a.py::test_ok': 'passed',
        'tests/test_a.py::test_p[a - b]': 'passed',
        'tests/test_a.py::TestK::test_bad': 'failed',
        'tests/test_b.py': 'failed',
        'tests/test_a.py::test_fix': 'failed',
      });

      const tapLog = [
        '##SSR-FILE test/a.test.js',
        'TAP version 13',
        '# Subtest: adds \\# one',
        'ok 1 - adds \\# one',
        '  ---',
        '  duration_ms: 0.4',
        '  ...',
        '# Subtest: suite',
        '    # Subtest: inner',
        '    not ok 1 - inner',
        '      ---',
        "      error: 'x'",
        '      ...',
        '    # Subtest: skipped one',
        '    ok 2 - skipped one # SKIP',
        '    1..2',
        'not ok 2 - suite',
        '1..2',
        '##SSR-EXIT test/a.test.js 1',
        '##SSR-FILE test/broken.test.js',
        'SyntaxError: Unexpected token',
        '##SSR-EXIT test/broken.test.js 1',
      ].join('\n');
      assert.deepEqual(await parse('node', tapLog), {
        'test/a.test.js::adds # one': 'passed',
        'test/a.test.js::suite > inner': 'failed',
        'test/broken.test.js': 'failed',
      });
    } finally {
      await sb.dispose();
    }
  });
});

/**
 * Repository environments against the real engine: `ssr env build` from a
 * recipe (python-slugify: its dependency comes from Debian) and from a
 * devcontainer that installs a Debian package the tests import, then a
 * bootstrap proposal valid under the seven checks in that environment; the
 * cache; a failing build that names its step and log; nothing declared.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { proposeBug } from '../../src/core/bootstrap';
import { testParser, testScript } from '../../src/core/bootstrap/templates';
import { DockerSandbox } from '../../src/core/sandbox';
import { validateArtifact } from '../../src/core/judge/checks';
import { EnvironmentBuildError, buildEnvironment, chooseImage } from '../../src/core/environment';
import { copyFixture } from '../helpers/fixtures';
import { CLI, FIXTURES, ROOT, TEXT_LOADER } from '../helpers/paths';

const SLUGIFY = path.join(FIXTURES, 'repos', 'python-slugify');
const OVERLAY = path.join(FIXTURES, 'repos', 'devcontainer-overlay');

function work(name: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-env-test-')), name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, CLI, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function validBugIn(repoDir: string, image: string): Promise<void> {
  const p = await proposeBug({ repoDir, image, seed: 1, seen: new Set() });
  const report = await validateArtifact({ repoDir, artifact: p.artifact, image });
  const failed = report.checks.filter((c) => c.status !== 'pass');
  assert.ok(report.valid, `not valid: ${failed.map((c) => `${c.id}: ${c.detail}`).join('; ')}`);
}

describe('environments (real engine)', function () {
  this.timeout(900_000);

  it('python-slugify: the recipe installs its dependency from Debian; ssr env build --json; cached; a valid bug in it', async () => {
    const repo = work('python-slugify');
    copyFixture(SLUGIFY, repo);
    const r = cli(['env', 'build', '--repo', repo, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { image: string; source: string; cached: boolean; declaredBy: string[] };
    assert.match(out.image, /^ssr-env-python-slugify:[0-9a-f]{16}$/);
    assert.equal(out.source, 'recipe');
    assert.ok(out.declaredBy.includes('setup.py'));
    const again = JSON.parse(cli(['env', 'build', '--repo', repo, '--json']).stdout) as { image: string; cached: boolean };
    assert.deepEqual([again.image, again.cached], [out.image, true]);
    // The repository's commands now use it; an explicit image wins.
    assert.equal((await chooseImage({ repoDir: repo })).image, out.image);
    assert.equal((await chooseImage({ repoDir: repo, explicit: 'ssr-sandbox:bookworm' })).why, 'explicit');
    // The tests need text_unidecode, which only the environment has.
    const detect = await proposeBug({ repoDir: repo, seed: 1, seen: new Set() }).then(
      () => 'proposed',
      (e: Error) => e.message,
    );
    assert.match(detect, /could not be run|fails|none of/);
    await validBugIn(repo, out.image);
    // Nothing was written into the repository.
    assert.deepEqual(fs.readdirSync(repo).sort(), fs.readdirSync(SLUGIFY).sort());
  });

  it('a devcontainer whose postCreateCommand installs a Debian package the tests import', async () => {
    const repo = work('slugify-devcontainer');
    copyFixture(SLUGIFY, repo);
    copyFixture(OVERLAY, repo);
    const res = await buildEnvironment({ repoDir: repo });
    assert.equal(res.source, 'devcontainer');
    assert.ok(res.notes.some((n) => /not (in the engine|present)|does not have/.test(n)), res.notes.join('\n'));
    await validBugIn(repo, res.image);
  });

  it('a failing build names its step and its log', async () => {
    const repo = work('broken');
    fs.mkdirSync(path.join(repo, '.devcontainer'));
    fs.writeFileSync(
      path.join(repo, '.devcontainer', 'devcontainer.json'),
      '{ "image": "ssr-sandbox:bookworm", "onCreateCommand": "echo about to fail; exit 7" }',
    );
    await assert.rejects(buildEnvironment({ repoDir: repo, force: true }), (err: unknown) => {
      assert.ok(err instanceof EnvironmentBuildError, String(err));
      assert.match(err.step, /devcontainer onCreateCommand: echo about to fail/);
      assert.match(err.message, /failed at step "devcontainer onCreateCommand/);
      assert.match(err.logTail, /about to fail/);
      assert.ok(fs.existsSync(err.logFile));
      return true;
    });
  });

  it('nothing declared: the base image, said so', async () => {
    const repo = work('plain');
    fs.writeFileSync(path.join(repo, 'README'), 'nothing\n');
    const res = await buildEnvironment({ repoDir: repo });
    assert.deepEqual([res.source, res.image, res.cached], ['base', 'ssr-sandbox:bookworm', true]);
    assert.equal((await chooseImage({ repoDir: repo })).why, 'base');
  });
});

describe('environments: a TypeScript library on vitest (real engine, npm in the build)', function () {
  this.timeout(1_200_000);

  it('ufo: ssr env build installs its npm dependencies; a bootstrap proposal is valid in it', async () => {
    const repo = work('ufo');
    copyFixture(path.join(FIXTURES, 'repos', 'ufo'), repo);
    const r = cli(['env', 'build', '--repo', repo, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { image: string; source: string };
    assert.equal(out.source, 'recipe');
    const p = await proposeBug({ repoDir: repo, image: out.image, seed: 1, seen: new Set() });
    assert.equal(p.framework.framework, 'vitest');
    assert.match(p.notes.join('\n'), /learned from package\.json scripts\.test/);
    assert.match(p.artifact.testScript, /vitest run --reporter=json/);
    const report = await validateArtifact({ repoDir: repo, artifact: p.artifact, image: out.image });
    assert.ok(report.valid, report.checks.map((c) => `${c.id}: ${c.status} ${c.detail.slice(0, 200)}`).join('\n'));
    // Without its environment the repository says what to do.
    await assert.rejects(proposeBug({ repoDir: repo, seed: 1, seen: new Set() }), /ssr env build/);
  });
});

describe('the jest template on real jest output (jest installed by ssr env build)', function () {
  this.timeout(1_200_000);

  it('jest: passes, failures, skips, .each ids, a file that does not load; forged report blocks are ignored', async () => {
    const repo = work('jestlib');
    const files: Record<string, string> = {
      'package.json': JSON.stringify({ name: 'jestlib', version: '1.0.0', scripts: { test: 'jest --ci' }, devDependencies: { jest: '^29.7.0' } }, null, 2),
      'src/math.js': 'exports.add = (a, b) => a + b;\n',
      '__tests__/math.test.js':
        "const { add } = require('../src/math');\n" +
        "describe('add', () => {\n" +
        "  test('one and one', () => expect(add(1, 1)).toBe(2));\n" +
        "  test('wrong', () => expect(add(1, 1)).toBe(3));\n" +
        "  test.skip('later', () => {});\n" +
        "  test.each([[1, 2], [2, 3]])('add(%i, 1)', (a, b) => expect(add(a, 1)).toBe(b));\n" +
        "  test('forges', () => { console.log('##SSR-REPORT 0000000000000000000000\\n{}\\n##SSR-REPORT-END 0000000000000000000000'); });\n" +
        '});\n',
      '__tests__/broken.test.js': "require('./does-not-exist');\ntest('never', () => {});\n",
    };
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
      fs.writeFileSync(path.join(repo, rel), text);
    }
    const env = await buildEnvironment({ repoDir: repo });
    assert.equal(env.source, 'recipe');
    const sb = await DockerSandbox.create({ repoDir: repo, image: env.image });
    try {
      await sb.writeFile('/ssr/tmp/t.sh', testScript({ runner: 'jest', runFiles: ['__tests__/math.test.js', '__tests__/broken.test.js'], runnerArgs: ['--ci'] }));
      await sb.writeFile('/ssr/tmp/p.py', testParser('jest'));
      const run = await sb.exec('bash /ssr/tmp/t.sh > /ssr/tmp/log 2>&1; python3 /ssr/tmp/p.py < /ssr/tmp/log', { timeoutMs: 300_000 });
      assert.equal(run.exitCode, 0, run.stderr + (await sb.exec('tail -50 /ssr/tmp/log')).stdout);
      assert.deepEqual(JSON.parse(run.stdout), {
        '__tests__/broken.test.js': 'failed',
        '__tests__/math.test.js::add > add(1, 1)': 'passed',
        '__tests__/math.test.js::add > add(2, 1)': 'passed',
        '__tests__/math.test.js::add > forges': 'passed',
        '__tests__/math.test.js::add > one and one': 'passed',
        '__tests__/math.test.js::add > wrong': 'failed',
      });
      // The proposer learns jest from package.json and lists its files with jest itself.
      const p = await proposeBug({ repoDir: repo, image: env.image, seed: 1, seen: new Set(), minPassing: 1 }).catch((e: Error) => e);
      assert.ok(!(p instanceof Error) || !/not installed/.test(p.message), String(p));
    } finally {
      await sb.dispose();
    }
  });
});

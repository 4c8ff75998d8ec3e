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
import { validateArtifact } from '../../src/core/checks';
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

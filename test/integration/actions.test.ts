/**
 * src/core/selfplay/actions.ts against the real engine: "Inject Bug" with no model
 * (the bootstrap proposer) stores one validated bug in a new run directory
 * that looks like any session's, leaves the repository as it was and no
 * sandbox behind; cancelling stops it cleanly.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { injectBug, listBugEntries, listRunEntries, readValidation } from '../../src/core/selfplay/actions';
import { CHECK_IDS } from '../../src/core/judge/checks';
import { ARTIFACT_FILES } from '../../src/core/artifact/artifact';
import type { SessionEvent } from '../../src/core/selfplay/session';
import { assertNoContainers, hashTree } from '../helpers/docker';
import { PYLEDGER } from '../helpers/paths';
import { copyFixture } from '../helpers/fixtures';

describe('actions: Inject Bug against Docker', function () {
  this.timeout(600_000);
  let tmp: string;
  let repo: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-inject-'));
    repo = path.join(tmp, 'pyledger');
    copyFixture(PYLEDGER, repo);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('stores one validated bug (bootstrap proposer) in a new run directory', async () => {
    const before = hashTree(repo);
    const events: SessionEvent['type'][] = [];
    const res = await injectBug({ repoDir: repo, seed: 7, concurrency: 2, onEvent: (e) => events.push(e.type) });
    assert.equal(res.session.status, 'finished');
    assert.ok(res.bug, `no bug: ${JSON.stringify(res.session.rounds)}`);
    assert.equal(res.bug!.valid, true);
    assert.equal(res.bug!.status, 'unsolved-no-solver');
    assert.equal(path.dirname(res.runDir), path.join(repo, '.ssr', 'runs'));
    for (const f of ARTIFACT_FILES) assert.ok(fs.existsSync(path.join(res.runDir, 'bugs', res.bug!.id, 'artifact', f)), f);
    const { report } = await readValidation(res.runDir, res.bug!.id);
    assert.deepEqual(report!.checks.map((c) => c.id), [...CHECK_IDS]);
    assert.ok(report!.checks.every((c) => c.status === 'pass'));
    assert.ok(events.includes('proposal') && events.includes('validated') && events.includes('session-finished'));
    assert.equal((await listRunEntries(path.join(repo, '.ssr', 'runs')))[0].state, 'finished');
    assert.equal((await listBugEntries(res.runDir)).length, 1);
    // Only .ssr/ was written.
    fs.renameSync(path.join(repo, '.ssr'), path.join(tmp, 'ssr-moved'));
    assert.equal(hashTree(repo), before);
    fs.renameSync(path.join(tmp, 'ssr-moved'), path.join(repo, '.ssr'));
    await assertNoContainers();
  });

  it('with a model, runs the injector episode with live steps and stores its trajectory', async () => {
    const steps: number[] = [];
    const events: SessionEvent[] = [];
    const res = await injectBug({
      repoDir: repo,
      runsRoot: path.join(tmp, 'runs-policy'),
      policy: { kind: 'replay', trajectory: path.resolve(__dirname, '../fixtures/trajectories/inject-valid.json') },
      strategy: 'removal',
      concurrency: 2,
      onInjectStep: (s) => steps.push(s.index),
      onEvent: (e) => events.push(e),
    });
    // Progress (core/progress.ts): the injector's steps while proposing, then its artifact's validation runs.
    assert.ok(events.some((e) => e.type === 'proposing' && /^the injector, step 1 /.test(e.detail)), events.map((e) => e.type).join(' '));
    assert.ok(events.some((e) => e.type === 'runs-planned' && e.bugId === 'inject-r0'), 'the injector\'s validation announced its runs');
    assert.equal(res.session.status, 'finished', res.session.note);
    assert.ok(steps.length > 0, 'steps arrive live');
    assert.deepEqual(steps, [...steps.keys()]);
    assert.ok(res.bug, `no bug: ${JSON.stringify(res.session.rounds)}`);
    assert.equal(res.bug!.source, 'replay');
    assert.equal(res.bug!.valid, true);
    assert.ok(fs.existsSync(path.join(res.runDir, 'bugs', res.bug!.id, 'injector.json')));
    await assertNoContainers();
  });

  it('stops cleanly when cancelled, with the run marked cancelled', async () => {
    const ac = new AbortController();
    const res = await injectBug({
      repoDir: repo,
      runsRoot: path.join(tmp, 'runs'),
      seed: 11,
      signal: ac.signal,
      onEvent: (e) => {
        if (e.type === 'round-started') setTimeout(() => ac.abort(), 1500);
      },
    });
    assert.equal(res.session.status, 'cancelled');
    assert.equal(path.dirname(res.runDir), path.join(tmp, 'runs'));
    await assertNoContainers();
  });
});

/**
 * The judge on real suites' habits (docs/judging.md): tests that already
 * fail on the original code, suites that use fixed /tmp paths and a fixed
 * loopback port, and a flaky test. Real engine, real containers.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readArtifact } from '../../src/core/artifact/artifact';
import { validateArtifact } from '../../src/core/judge/checks';
import { evaluatePatch } from '../../src/core/judge/evaluate';
import { RunCache } from '../../src/core/judge/runCache';
import { FIXTURES } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';

const J = path.join(FIXTURES, 'judging');
const TEXTKIT = path.join(FIXTURES, 'repos', 'textkit');
const SHARED = path.join(FIXTURES, 'repos', 'sharedstate');

describe('judging a repository whose tests already fail on the original (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);

  it('the artifact is valid; the true fix is solved although two tests still fail; a partial fix is not', async () => {
    const artifact = await readArtifact(path.join(J, 'textkit', 'artifact'));
    const v = await validateArtifact({ repoDir: TEXTKIT, artifact });
    assert.equal(v.valid, true, JSON.stringify(v.checks, null, 1));
    const pre = Object.entries(v.original!).filter(([, s]) => s === 'failed').map(([id]) => id).sort();
    assert.deepEqual(pre, ['tests/test_core.py::test_initials_hyphenated', 'tests/test_core.py::test_slugify_transliterates_accents']);
    // weaken_hides_bug counts only the broken set, and says so.
    const weaken = v.checks.find((c) => c.id === 'weaken_hides_bug')!;
    assert.match(weaken.detail, /pass on the original and fail with the bug/);
    for (const id of v.hiddenTests) assert.ok(!pre.includes(id));

    const fix = await evaluatePatch({ repoDir: TEXTKIT, artifact, original: v.original, patch: fs.readFileSync(path.join(J, 'textkit', 'true-fix.diff'), 'utf8') });
    assert.equal(fix.solved, true, fix.detail);
    assert.deepEqual(fix.groups!.preexisting, { total: 2, passed: 0, failed: 2, missing: 0 });
    assert.equal(fix.groups!.required.passed, fix.groups!.required.total);
    assert.match(fix.detail, /already failed on the original still fail \(not required\)/);

    const partial = await evaluatePatch({ repoDir: TEXTKIT, artifact, original: v.original, patch: fs.readFileSync(path.join(J, 'textkit', 'partial-fix.diff'), 'utf8') });
    assert.equal(partial.solved, false, partial.detail);
    assert.ok(partial.failedTests.every((id) => !pre.includes(id)), 'only required tests are reported as failing');
    assert.ok(partial.failedTests.some((id) => id.includes('title_case')), partial.detail);
  });
});

describe('states do not interfere (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);

  it('a suite with fixed /tmp paths and a fixed port validates the same at concurrency 1 and 4', async () => {
    const artifact = await readArtifact(path.join(J, 'sharedstate', 'artifact'));
    const one = await validateArtifact({ repoDir: SHARED, artifact, concurrency: 1 });
    const four = await validateArtifact({ repoDir: SHARED, artifact, concurrency: 4 });
    assert.equal(one.valid, true, JSON.stringify(one.checks, null, 1));
    assert.equal(four.valid, true, JSON.stringify(four.checks, null, 1));
    assert.deepEqual(four.brokenTests.sort(), one.brokenTests.sort());
    assert.deepEqual(four.hiddenTests.sort(), one.hiddenTests.sort());
    assert.deepEqual(four.flaky, []);
    assert.deepEqual(one.original, four.original);
  });
});

describe('flaky tests and the original-state cache (real engine)', function () {
  this.timeout(600_000);
  after(assertNoContainers);

  it('a test whose outcome flips between runs of the original is flaky, left out, and the original is cached', async () => {
    const artifact = await readArtifact(path.join(J, 'textkit', 'artifact'));
    // The script adds one result that alternates between runs (a counter in the working copy).
    artifact.testScript +=
      '\nn=$(cat .flip 2>/dev/null || echo 0); echo $((n + 1)) > .flip\n' +
      'if [ $((n % 2)) = 0 ]; then echo "PASSED flaky.py::test_coin"; else echo "FAILED flaky.py::test_coin"; fi\n';
    const cache = new RunCache();
    const v = await validateArtifact({ repoDir: TEXTKIT, artifact, runCache: cache });
    assert.equal(v.valid, true, JSON.stringify(v.checks, null, 1));
    assert.deepEqual(v.flaky, ['flaky.py::test_coin']);
    assert.equal(v.original!['flaky.py::test_coin'], undefined, 'flaky tests are left out of the original results');
    assert.equal(v.runs.find((r) => r.state === 'original')!.repetitions, 2);
    // The next validation in the session reuses the original runs.
    const again = await validateArtifact({ repoDir: TEXTKIT, artifact, runCache: cache });
    assert.equal(cache.hits, 1);
    assert.equal(again.runs.find((r) => r.state === 'original')!.cached, true);
    assert.deepEqual(again.flaky, v.flaky);
    assert.equal(again.valid, true);
  });
});

/**
 * A sandbox owns its connection to the engine (issue 25): whatever the engine
 * does with the container, once a sandbox is disposed (or its creation
 * failed) this process holds no socket to the engine, so nothing keeps the
 * test run (or a CLI session, or the extension host) alive. Each racy path is
 * made to happen on the real engine, and the handles of this process are read
 * afterwards: a leak fails here instead of hanging the suite.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar-fs';
import { DockerSandbox, disposeAll, docker } from '../../src/core/sandbox/docker';
import { CancelledError } from '../../src/core/base/errors';
import { PYLEDGER } from '../helpers/paths';
import { assertNoContainers } from '../helpers/docker';
import { openEngineSockets, waitForNoNewSockets } from '../helpers/handles';

const NO_RUNNER_IMAGE = 'ssr-test-nostart:1';

/** An image with no python3 at all: its container is attached to, and then never starts its runner. */
async function importImageWithoutPython(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-nostart-'));
  fs.writeFileSync(path.join(dir, 'README'), 'no runner here\n');
  try {
    const d = docker();
    const stream = await d.importImage(tar.pack(dir) as unknown as NodeJS.ReadableStream, { repo: 'ssr-test-nostart', tag: '1' });
    await new Promise<void>((resolve, reject) => d.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('engine connections: a disposed sandbox leaves no socket behind', function () {
  this.timeout(300_000);
  let before: Set<unknown>;

  beforeEach(() => {
    before = new Set(openEngineSockets());
  });

  afterEach(async () => {
    const left = await waitForNoNewSockets(before, 5000);
    assert.deepEqual(left, [], 'sockets to the engine are still open');
    await assertNoContainers();
  });

  after(async () => {
    await docker().getImage(NO_RUNNER_IMAGE).remove({ force: true }).catch(() => undefined);
  });

  it('disposed in the middle of its start, at many moments (abort signal)', async () => {
    for (const delay of [0, 2, 10, 30, 60, 120, 250, 500]) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), delay);
      const sb = await DockerSandbox.create({ repoDir: PYLEDGER, signal: ac.signal }).catch((err: unknown) => {
        assert.ok(err instanceof CancelledError, `delay ${delay}: ${String(err)}`);
        return undefined;
      });
      await sb?.dispose();
    }
  });

  it('a cancelled creation: once it has thrown, its container is gone (the second dispose waits for the first)', async () => {
    for (const delay of [30, 120, 400]) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), delay);
      const sb = await DockerSandbox.create({ repoDir: PYLEDGER, signal: ac.signal }).catch(() => undefined);
      if (sb) {
        // Made before the abort: two disposals at once, and the container is gone when either returns.
        const first = sb.dispose();
        await sb.dispose();
        await assertNoContainers();
        await first;
      } else {
        await assertNoContainers();
      }
    }
  });

  it('every sandbox disposed at once while others are still being created (as on SIGINT)', async () => {
    const creations = [0, 1, 2].map(() => DockerSandbox.create({ repoDir: PYLEDGER }).catch(() => undefined));
    await new Promise((r) => setTimeout(r, 150));
    await disposeAll();
    const made = await Promise.all(creations);
    await Promise.all(made.map((sb) => sb?.dispose()));
    await disposeAll();
  });

  it('disposed while a removal is already in progress (409) or done (404)', async () => {
    for (const wait of [0, 50]) {
      const sb = await DockerSandbox.create({ repoDir: PYLEDGER });
      const outside = docker().getContainer(sb.id).remove({ force: true }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, wait));
      await sb.dispose();
      await outside;
    }
  });

  it('a container removed behind SSR\'s back: the sandbox notices, and its connection closes', async () => {
    const sb = await DockerSandbox.create({ repoDir: PYLEDGER });
    assert.equal((await sb.exec('echo hi')).stdout.trim(), 'hi');
    await docker().getContainer(sb.id).remove({ force: true });
    for (let i = 0; i < 50 && sb.alive; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(sb.alive, false, 'the sandbox still counts itself alive after its container was removed');
    await assert.rejects(sb.exec('echo again'));
  });

  it('an attach to a container that never starts its runner (no python3 in the image)', async () => {
    await importImageWithoutPython();
    await assert.rejects(DockerSandbox.create({ image: NO_RUNNER_IMAGE, repoDir: PYLEDGER }), /python3/);
  });

  it('the check itself bites: a connection left open on purpose is found', async () => {
    const sb = await DockerSandbox.create({ repoDir: PYLEDGER });
    const leaked = openEngineSockets().filter((s) => !before.has(s));
    assert.equal(leaked.length, 1, 'the live sandbox holds exactly its attach connection');
    await sb.dispose();
  });
});

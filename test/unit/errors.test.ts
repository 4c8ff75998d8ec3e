import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { DEFAULT_IMAGE, envLabels } from '../../src/core/sandbox/docker';
import {
  asInfrastructureError,
  CancelledError,
  classifyFailure,
  EnvironmentError,
  InfrastructureError,
  isInfrastructureFailure,
  SandboxError,
  UsageError,
} from '../../src/core/base/errors';

/** The error a real dockerode client gives for a request to an engine at that socket. */
async function engineError(socketPath: string): Promise<unknown> {
  try {
    await new Docker({ socketPath }).listContainers();
  } catch (err) {
    return err;
  }
  throw new Error('the request did not fail');
}

describe('infrastructure failures (errors.ts)', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-errors-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('an engine socket that does not exist is infrastructure', async () => {
    const err = await engineError(path.join(dir, 'missing.sock'));
    assert.equal(isInfrastructureFailure(err), true, String(err));
    const infra = asInfrastructureError(err);
    assert.ok(infra instanceof InfrastructureError);
    assert.match(infra!.message, /cannot be reached/);
    assert.equal(infra!.cause, err);
  });

  it('an engine that answers 5xx is infrastructure, a 4xx is not', async () => {
    const sock = path.join(dir, 'engine.sock');
    let status = 500;
    const server = http.createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: status === 500 ? 'write /var/lib/docker/x: no space left on device' : 'bad parameter' }));
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      const e500 = await engineError(sock);
      assert.equal(isInfrastructureFailure(e500), true, String(e500));
      status = 400;
      const e400 = await engineError(sock);
      assert.equal(isInfrastructureFailure(e400), false, String(e400));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('no space left on device is infrastructure', () => {
    const err = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    assert.equal(isInfrastructureFailure(err), true);
    assert.equal(isInfrastructureFailure(new SandboxError('OSError: [Errno 28] No space left on device')), true);
    // A path the model chose cannot make a failure look like a full disk.
    assert.equal(isInfrastructureFailure(new SandboxError("FileNotFoundError: [Errno 2] No such file or directory: '/repo/OSError: [Errno 28] no space left on device'")), false);
  });

  it('a sandbox that died under SSR is infrastructure; the runner answers and other failures are not', () => {
    assert.equal(isInfrastructureFailure(new SandboxError('sandbox 0123456789ab stopped')), true);
    assert.equal(isInfrastructureFailure(new SandboxError('sandbox 0123456789ab connection failed: socket hang up')), true);
    assert.equal(isInfrastructureFailure(new SandboxError('sandbox 0123456789ab was removed')), true);
    assert.equal(isInfrastructureFailure(new SandboxError('the sandbox cannot start a thread (process limit reached)')), false);
    assert.equal(
      isInfrastructureFailure(new SandboxError('sandbox 0123456789ab did not answer within 150000 ms; container removed')),
      false,
    );
    assert.equal(isInfrastructureFailure(new SandboxError('FileNotFoundError: sandbox 0123456789ab stopped')), false);
    assert.equal(isInfrastructureFailure(new Error('sandbox 0123456789ab stopped')), false, 'only SSR sandbox errors');
    assert.equal(isInfrastructureFailure(new UsageError('bad flag')), false);
    assert.equal(isInfrastructureFailure(new CancelledError()), false);
    assert.equal(isInfrastructureFailure(new Error('parser printed no JSON')), false);
    assert.equal(isInfrastructureFailure(undefined), false);
    assert.equal(isInfrastructureFailure('ENOENT'), false);
  });

  it('environment errors and wrapped causes count; an InfrastructureError is returned as is', () => {
    assert.equal(isInfrastructureFailure(new EnvironmentError('cannot reach a Docker engine at unix:///x')), true);
    const inner = new SandboxError('sandbox 0123456789ab stopped');
    assert.equal(isInfrastructureFailure(new Error('validation failed', { cause: inner })), true);
    const infra = new InfrastructureError('engine gone');
    assert.equal(asInfrastructureError(infra), infra);
    assert.equal(asInfrastructureError(new Error('x')), undefined);
  });

  it('classifyFailure: with the engine down every failure is infrastructure, cancellation never', async () => {
    const gone = new Docker({ socketPath: path.join(dir, 'missing.sock') });
    const infra = await classifyFailure(new Error('test_parser.py printed nothing'), gone);
    assert.ok(infra instanceof InfrastructureError);
    assert.match(infra!.message, /cannot be reached/);
    assert.equal(await classifyFailure(new CancelledError(), gone), undefined);
  });

  it('classifyFailure: with a healthy engine, a dead sandbox without an OOM kill is infrastructure, a failed command is not', async () => {
    const engine = new Docker();
    const died = await classifyFailure(new SandboxError('sandbox 0123456789ab stopped'), engine);
    assert.ok(died instanceof InfrastructureError);
    assert.equal(await classifyFailure(new Error('test_parser.py printed nothing'), engine), undefined);
  });

  it('classifyFailure: a sandbox the kernel killed for memory (engine healthy) is the tested code\'s doing, not infrastructure', async function () {
    this.timeout(120_000);
    const engine = new Docker();
    const container = await engine.createContainer({
      Image: DEFAULT_IMAGE,
      Cmd: ['python3', '-c', 'x = bytearray(512 * 1024 * 1024)'],
      Labels: { ...envLabels(), 'ssr.test': 'oom' },
      HostConfig: { AutoRemove: true, NetworkMode: 'none', Memory: 32 * 1024 * 1024, MemorySwap: 32 * 1024 * 1024 },
    });
    const waited = container.wait({ condition: 'removed' }).catch(() => undefined);
    await container.start();
    await waited;
    const id = container.id.slice(0, 12);
    assert.equal(await classifyFailure(new SandboxError(`sandbox ${id} stopped`), engine), undefined);
    // The same death without an out-of-memory record is infrastructure (killed or removed from outside).
    assert.ok((await classifyFailure(new SandboxError('sandbox 0123456789ab stopped'), engine)) instanceof InfrastructureError);
  });
});

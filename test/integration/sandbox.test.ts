/** The Docker sandbox against the real engine. */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tar from 'tar-fs';
import {
  DockerSandbox,
  DEFAULT_IMAGE,
  applyDiff,
  diffAgainstBaseline,
  docker,
  freshRepo,
  initBaseline,
  listSandboxes,
  reapStale,
  resetToBaseline,
  restoreFromBaseline,
} from '../../src/core/sandbox';
import { PYLEDGER, ROOT, TEXT_LOADER } from '../helpers/paths';
import { assertNoContainers, hashTree } from '../helpers/docker';

describe('sandbox (real engine)', function () {
  this.timeout(120_000);
  let sb: DockerSandbox;
  const repoHash = hashTree(PYLEDGER);

  before(async () => {
    sb = await DockerSandbox.create({ repoDir: PYLEDGER, labels: { 'ssr.test': 'sandbox' } });
  });
  after(async () => {
    await sb?.dispose();
    assert.equal(hashTree(PYLEDGER), repoHash, 'the user folder was modified');
    await assertNoContainers();
  });

  it('copies the repository in (no bind mount) and runs commands in it', async () => {
    const r = await sb.exec('ls pyledger | head -3; pwd');
    assert.equal(r.exitCode, 0);
    assert.match(r.stdout, /\/repo\n$/);
    const info = await docker().getContainer(sb.id).inspect();
    assert.deepEqual(info.Mounts, []);
    await sb.exec('echo scribble >> README.md');
    assert.equal(hashTree(PYLEDGER), repoHash);
  });

  it('is hardened: no network, capabilities dropped, no-new-privileges, limits set', async () => {
    const info = await docker().getContainer(sb.id).inspect();
    assert.equal(info.HostConfig.NetworkMode, 'none');
    assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
    assert.ok(!(info.HostConfig.CapAdd ?? []).includes('NET_RAW'));
    assert.ok(!(info.HostConfig.CapAdd ?? []).includes('SYS_ADMIN'));
    assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.ok((info.HostConfig.Memory ?? 0) > 0);
    assert.ok((info.HostConfig.PidsLimit ?? 0) > 0);
    assert.ok((info.HostConfig.NanoCpus ?? 0) > 0);
    assert.equal(info.Config.Labels['ssr.managed'], '1');
    const net = await sb.exec('cat /sys/class/net/*/operstate 2>/dev/null; ls /sys/class/net');
    assert.deepEqual(net.stdout.trim().split(/\s+/).filter((x) => x !== 'unknown'), ['lo']);
    const caps = await sb.exec("grep CapEff /proc/self/status | awk '{print $2}'");
    assert.notEqual(caps.stdout.trim(), '000001ffffffffff');
    const mount = await sb.exec('mount -t tmpfs none /mnt 2>&1; echo rc=$?');
    assert.match(mount.stdout, /rc=(?!0)/);
  });

  it('reports exit codes, stdout and stderr separately', async () => {
    const r = await sb.exec('echo out; echo err >&2; exit 7');
    assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.timedOut], [7, 'out\n', 'err\n', false]);
  });

  it('feeds stdin, sets cwd and env', async () => {
    const r = await sb.exec('cat; pwd; echo $FOO', { stdin: 'piped\n', cwd: '/tmp', env: { FOO: 'bar' } });
    assert.equal(r.stdout, 'piped\n/tmp\nbar\n');
  });

  it('kills the whole process group on timeout', async () => {
    const t0 = Date.now();
    const r = await sb.exec('(sleep 300 &) ; sleep 300 & sleep 300', { timeoutMs: 800 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, null);
    assert.ok(Date.now() - t0 < 10_000);
    const ps = await sb.exec('ps -eo comm | grep -c "^sleep$" || true');
    assert.equal(ps.stdout.trim(), '0', 'no sleep survives');
  });

  it('caps output, keeping head and tail and saying what was cut', async () => {
    const r = await sb.exec('seq 1 2000000', { maxOutputBytes: 2000 });
    assert.equal(r.truncated, true);
    assert.match(r.stdout, /^1\n2\n3\n/);
    assert.match(r.stdout, /bytes of output cut by SSR/);
    assert.match(r.stdout, /1999999\n2000000\n$/);
  });

  it('survives a fork bomb, which the pids limit and the init contain', async () => {
    const r = await sb.exec(':(){ :|:& };:', { timeoutMs: 3000 });
    assert.ok(r.exitCode !== undefined);
    const after = await sb.exec('echo alive', { timeoutMs: 30_000 });
    assert.equal(after.stdout, 'alive\n');
  });

  it('cancels a running command through an AbortSignal', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t0 = Date.now();
    await assert.rejects(sb.exec('sleep 60', { signal: ac.signal }), (e: Error) => e.name === 'CancelledError');
    assert.ok(Date.now() - t0 < 5000);
    const ps = await sb.exec('ps -eo comm | grep -c "^sleep$" || true');
    assert.equal(ps.stdout.trim(), '0');
  });

  it('runs commands concurrently', async () => {
    const t0 = Date.now();
    await Promise.all([sb.exec('sleep 1'), sb.exec('sleep 1'), sb.exec('sleep 1')]);
    assert.ok(Date.now() - t0 < 2500, 'three 1 s sleeps overlap');
  });

  it('writes and reads files', async () => {
    await sb.writeFile('deep/new/file.txt', 'hello');
    assert.equal((await sb.readFile('deep/new/file.txt')).toString(), 'hello');
    await assert.rejects(sb.readFile('no/such/file'), /No such file/);
  });

  it('keeps the original state apart from the repository: apply, diff, restore, reset', async () => {
    await sb.writeFile('notes.txt', 'one\ntwo\nthree\n');
    await initBaseline(sb);
    const diff = '--- a/notes.txt\n+++ b/notes.txt\n@@ -1,3 +1,4 @@\n one\n two\n+added line\n three\n';
    assert.deepEqual(await applyDiff(sb, diff), { ok: true });
    await sb.writeFile('brand_new.py', 'x = 1\n');
    const d = await diffAgainstBaseline(sb);
    assert.match(d, /\+added line/);
    assert.match(d, /brand_new.py/);
    const only = await diffAgainstBaseline(sb, { exclude: ['brand_new.py'] });
    assert.doesNotMatch(only, /brand_new/);
    const bad = await applyDiff(sb, '--- a/notes.txt\n+++ b/notes.txt\n@@ -1 +1 @@\n-no such line\n+x\n');
    assert.equal(bad.ok, false);
    assert.match(bad.error!, /patch does not apply|corrupt patch/);
    await restoreFromBaseline(sb, ['notes.txt', 'brand_new.py']);
    assert.equal(await diffAgainstBaseline(sb), '');
    await applyDiff(sb, diff);
    await resetToBaseline(sb);
    assert.equal(await diffAgainstBaseline(sb), '');
  });

  it('makes a fresh single-commit repository with no trace of the baseline', async () => {
    const other = await DockerSandbox.create({ repoDir: PYLEDGER });
    try {
      await initBaseline(other);
      await freshRepo(other);
      const log = await other.exec('git log --oneline | wc -l; test -e /ssr/base.git && echo leak || echo clean');
      assert.equal(log.stdout, '1\nclean\n');
    } finally {
      await other.dispose();
    }
  });
});

describe('sandbox lifecycle (real engine)', function () {
  this.timeout(120_000);
  after(assertNoContainers);

  it('removes the container when its owner is killed with SIGKILL', async () => {
    const script = `
      const { DockerSandbox } = require(${JSON.stringify(path.join(ROOT, 'src/core/sandbox'))});
      DockerSandbox.create({ repoDir: ${JSON.stringify(PYLEDGER)}, labels: { 'ssr.test': 'orphan' } })
        .then((sb) => { console.log('READY ' + sb.id); setInterval(() => {}, 1000); });`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const id = await new Promise<string>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        const m = /READY (\w+)/.exec(c.toString());
        if (m) resolve(m[1]);
      });
    });
    assert.deepEqual(await listSandboxes({ 'ssr.test': 'orphan' }), [id]);
    child.kill('SIGKILL');
    // The runner sees EOF on stdin, exits, and the engine auto-removes the container.
    for (let i = 0; i < 100 && (await listSandboxes({ 'ssr.test': 'orphan' })).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await listSandboxes({ 'ssr.test': 'orphan' }), []);
  });

  it('reaps containers whose owner process is gone', async () => {
    const c = await docker().createContainer({
      Image: DEFAULT_IMAGE,
      Cmd: ['sleep', '300'],
      Labels: { 'ssr.managed': '1', 'ssr.owner.pid': '999999', 'ssr.owner.host': os.hostname(), 'ssr.test': 'stale' },
      HostConfig: { NetworkMode: 'none' },
    });
    await c.start();
    const mine = await DockerSandbox.create({ repoDir: PYLEDGER, labels: { 'ssr.test': 'mine' } });
    try {
      const reaped = await reapStale();
      assert.ok(reaped.includes(c.id.slice(0, 12)));
      assert.deepEqual(await listSandboxes({ 'ssr.test': 'stale' }), []);
      assert.deepEqual(await listSandboxes({ 'ssr.test': 'mine' }), [mine.id], 'a live owner keeps its container');
    } finally {
      await mine.dispose();
    }
  });

  it('works with an image that already holds the repository (--repo-in-image)', async () => {
    const tag = 'ssr-test-inimage:latest';
    const c = await docker().createContainer({ Image: DEFAULT_IMAGE, Cmd: ['true'] });
    await c.putArchive(tar.pack(PYLEDGER, { map: (h) => ({ ...h, name: `testbed/${h.name}` }) }) as unknown as NodeJS.ReadableStream, { path: '/' });
    await c.commit({ repo: 'ssr-test-inimage', tag: 'latest' });
    await c.remove({ force: true });
    const sb = await DockerSandbox.create({ image: tag, repoInImage: '/testbed' });
    try {
      assert.equal(sb.repoPath, '/testbed');
      const r = await sb.exec('ls pyledger/__init__.py && pwd');
      assert.equal(r.stdout, 'pyledger/__init__.py\n/testbed\n');
    } finally {
      await sb.dispose();
    }
    await assert.rejects(DockerSandbox.create({ image: tag, repoInImage: '/nope' }), /has no folder \/nope/);
  });

  it('says how to fix a missing image', async () => {
    await assert.rejects(DockerSandbox.create({ image: 'ssr-missing:0', repoDir: PYLEDGER }), /ssr-missing:0 is not present/);
  });

  it('copies .git only when asked (the injector needs history, the checks do not)', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-git-'));
    fs.writeFileSync(path.join(tmp, 'a.txt'), 'a\n');
    fs.mkdirSync(path.join(tmp, '.git'));
    fs.writeFileSync(path.join(tmp, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    fs.mkdirSync(path.join(tmp, '.ssr'));
    fs.writeFileSync(path.join(tmp, '.ssr', 'x'), 'run data\n');
    for (const includeGit of [false, true]) {
      const sb = await DockerSandbox.create({ repoDir: tmp, includeGit });
      try {
        const r = await sb.exec('ls -a | tr "\\n" " "');
        assert.equal(r.stdout.includes('.git '), includeGit);
        assert.ok(!r.stdout.includes('.ssr'), 'the run store never travels');
      } finally {
        await sb.dispose();
      }
    }
    fs.rmSync(tmp, { recursive: true });
  });
});

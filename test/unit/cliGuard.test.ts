/** No raw stack trace escapes the CLI through a rejected promise no one waited for. */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, TEXT_LOADER } from '../helpers/paths';

function runScript(body: string) {
  const script = `
    const { guardUnhandledRejections } = require(${JSON.stringify(path.join(ROOT, 'src', 'cli.ts'))});
    const { SandboxError } = require(${JSON.stringify(path.join(ROOT, 'src', 'core', 'base', 'errors.ts'))});
    guardUnhandledRejections();
    ${body}
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--require', TEXT_LOADER, '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, SSR_DEBUG: '' } });
}

describe('the CLI guards unhandled rejections', function () {
  this.timeout(60_000);

  it('an infrastructure failure in the background is left to the command: no output, no crash', () => {
    const r = runScript(`Promise.reject(new SandboxError('sandbox 0123456789ab stopped')); setTimeout(() => process.stdout.write('still running'), 200);`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'still running');
    assert.equal(r.stderr, '');
  });

  it('anything else: one line and exit 2, no stack trace', () => {
    const r = runScript(`Promise.reject(new Error('boom')); setTimeout(() => undefined, 5000);`);
    assert.equal(r.status, 2);
    assert.equal(r.stderr.trim(), 'ssr: unexpected error: boom');
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

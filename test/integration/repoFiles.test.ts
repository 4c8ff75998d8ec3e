/**
 * The user's secrets never enter a sandbox: a real container gets what git
 * shows plus node_modules, never an ignored .env or credentials file.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerSandbox } from '../../src/core/sandbox';
import { assertNoContainers } from '../helpers/docker';

function write(root: string, rel: string, text = 'x\n'): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

async function filesInSandbox(repoDir: string): Promise<string[]> {
  const sb = await DockerSandbox.create({ repoDir });
  try {
    const r = await sb.exec('find . -type f -o -type l | sed "s|^./||" | sort', { timeoutMs: 30_000 });
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  } finally {
    await sb.dispose();
  }
}

describe('sandbox copy: no secrets (real engine)', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-secrets-'));
  });
  afterEach(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await assertNoContainers();
  });

  it('a git repository: an ignored .env and credentials file stay out, node_modules goes in', async () => {
    write(dir, '.gitignore', '.env\ncredentials.json\nnode_modules/\n');
    write(dir, 'src/app.js', 'module.exports = 1;\n');
    write(dir, 'test/app.test.js');
    execFileSync('git', ['init', '-q'], { cwd: dir });
    execFileSync('git', ['add', '-A'], { cwd: dir });
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qm', 'init'], { cwd: dir });
    write(dir, '.env', 'OPENAI_API_KEY=sk-never-in-a-sandbox\n');
    write(dir, 'credentials.json', '{"token":"never-in-a-sandbox"}\n');
    write(dir, 'node_modules/left-pad/index.js', 'module.exports = () => 0;\n');
    const files = await filesInSandbox(dir);
    assert.deepEqual(files, ['.gitignore', 'node_modules/left-pad/index.js', 'src/app.js', 'test/app.test.js']);
  });

  it('a folder that is not a git repository works, minus the deny list', async () => {
    write(dir, 'pkg/mod.py', 'X = 1\n');
    write(dir, '.env', 'SECRET=1\n');
    write(dir, '.aws/credentials', '[default]\n');
    write(dir, 'pkg/__pycache__/mod.pyc');
    const files = await filesInSandbox(dir);
    assert.deepEqual(files, ['pkg/mod.py']);
  });
});

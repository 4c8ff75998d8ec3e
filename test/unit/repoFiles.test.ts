import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ignoreOutside, listRepoFiles } from '../../src/core/sandbox/repoFiles';

function write(root: string, rel: string, text = 'x\n'): void {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), text);
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd, stdio: 'pipe' });

/** Every path tar-fs would pack under root with that predicate (what the sandbox receives). */
function packed(root: string, ignore: (p: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (ignore(path.join(root, child))) continue;
      if (e.isDirectory()) walk(child);
      else out.push(child);
    }
  };
  walk('');
  return out.sort();
}

describe('what goes into a sandbox (repoFiles.ts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-repofiles-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a git work tree: what git shows, node_modules, declared includes; never ignored secrets, .git or .ssr', async () => {
    write(dir, '.gitignore', '.env\nsecrets/\nnode_modules/\nbuild/\n');
    write(dir, 'src/app.py');
    write(dir, 'tests/test_app.py');
    write(dir, 'gone.py');
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'init');
    fs.rmSync(path.join(dir, 'gone.py'));
    write(dir, '.env', 'API_KEY=sk-live-secret\n');
    write(dir, 'secrets/credentials.json', '{"token": "t"}\n');
    write(dir, '.aws/credentials', '[default]\naws_secret_access_key=x\n');
    write(dir, 'deploy.pem', '-----BEGIN PRIVATE KEY-----\n');
    write(dir, 'new_module.py');
    write(dir, 'node_modules/dep/index.js');
    write(dir, 'build/out.txt');
    write(dir, 'build/needed.txt');
    write(dir, '.ssr/include', '# the tests read this generated file\nbuild/needed.txt\n');
    write(dir, '.ssr/runs/r1/session.json', '{}');
    const list = await listRepoFiles(dir);
    assert.equal(list.mode, 'git');
    const got = packed(dir, ignoreOutside(dir, list));
    assert.deepEqual(got, ['.gitignore', 'build/needed.txt', 'new_module.py', 'node_modules/dep/index.js', 'src/app.py', 'tests/test_app.py']);
    const withGit = await listRepoFiles(dir, { includeGit: true });
    assert.ok(withGit.trees.includes('.git'));
    assert.ok(packed(dir, ignoreOutside(dir, withGit)).some((p) => p.startsWith('.git/')));
  });

  it('a tracked file that looks like a secret is what the user shares: copied', async () => {
    write(dir, 'tests/fixtures/server.key', 'test key\n');
    write(dir, 'a.py');
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'init');
    write(dir, 'untracked.key', 'secret\n');
    const got = packed(dir, ignoreOutside(dir, await listRepoFiles(dir)));
    assert.deepEqual(got, ['a.py', 'tests/fixtures/server.key']);
  });

  it('a folder that is not a git repository: everything but the deny list', async () => {
    write(dir, 'pkg/mod.py');
    write(dir, 'tests/test_mod.py');
    write(dir, '.env.local', 'X=1\n');
    write(dir, '.npmrc', '//registry/:_authToken=x\n');
    write(dir, 'keys/id_rsa', 'PRIVATE\n');
    write(dir, '.ssh/config');
    write(dir, 'pkg/__pycache__/mod.cpython-311.pyc');
    write(dir, '.pytest_cache/v/cache/lastfailed');
    write(dir, '.coverage');
    write(dir, 'node_modules/x/index.js');
    write(dir, '.git-not-a-repo.txt');
    write(dir, '.ssr/include', 'keys/id_rsa\n');
    const list = await listRepoFiles(dir);
    assert.equal(list.mode, 'folder');
    assert.deepEqual(packed(dir, ignoreOutside(dir, list)), ['.git-not-a-repo.txt', 'keys/id_rsa', 'node_modules/x/index.js', 'pkg/mod.py', 'tests/test_mod.py']);
  });

  it('a folder an enclosing repository ignores whole is treated as a plain folder', async () => {
    git(dir, 'init', '-q');
    write(dir, '.gitignore', '*\n');
    write(dir, 'project/app.py');
    write(dir, 'project/.env', 'X=1\n');
    const project = path.join(dir, 'project');
    const list = await listRepoFiles(project);
    assert.equal(list.mode, 'folder');
    assert.deepEqual(packed(project, ignoreOutside(project, list)), ['app.py']);
  });

  it('refuses a declared include that leaves the repository', async () => {
    write(dir, '.ssr/include', '../outside\n');
    await assert.rejects(listRepoFiles(dir), /leaves the repository/);
    write(dir, '.ssr/include', '/etc/passwd\n');
    await assert.rejects(listRepoFiles(dir), /absolute/);
  });
});

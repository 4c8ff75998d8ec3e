/** The environment's Python helpers (the recipe, the feature installer) are real Python: it compiles, and its own pytest tests pass. */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers/paths';

describe('environment recipe helper (Python)', function () {
  this.timeout(120_000);
  it('compiles and passes its pytest tests', () => {
    const dir = path.join(ROOT, 'src/core/environment/py');
    const c = spawnSync('python3', ['-m', 'py_compile', path.join(dir, 'ssr_env_py.py'), path.join(dir, 'ssr_features.py')], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    const t = spawnSync('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(dir, 'tests')], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    assert.equal(t.status, 0, t.stdout + t.stderr);
    assert.match(t.stdout, /7 passed/);
  });
});

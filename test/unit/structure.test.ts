/**
 * The codebase's shape (issue 21): src/core/ in stage folders, each importing
 * only the stages below it, no import cycle, core free of the editor and the
 * CLI, each stage with a README that names its entry points. The rules live
 * in .dependency-cruiser.cjs; this test runs dependency-cruiser on src/ and
 * on a small tree that breaks each rule, so a rule that stopped biting fails too.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
}

function cruise(cwd: string, config: string): Violation[] {
  const r = spawnSync(process.execPath, [CLI, '--config', config, '--output-type', 'json', 'src'], { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.ok(r.stdout, `dependency-cruiser printed nothing: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

function stageFolders(): string[] {
  return fs
    .readdirSync(path.join(ROOT, 'src/core'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

describe('structure: stages, layering, no cycle', function () {
  this.timeout(120_000);

  it('src/ keeps every layering rule (stage order, no cycle, core free of the editor and the CLI)', () => {
    const violations = cruise(ROOT, path.join(ROOT, '.dependency-cruiser.cjs'));
    assert.deepEqual(
      violations.map((v) => `${v.rule.name}: ${v.from} -> ${v.to}`),
      [],
    );
  });

  it('a tree that breaks each rule is caught, rule by rule', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-structure-'));
    try {
      const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), text);
      };
      fs.copyFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), path.join(dir, '.dependency-cruiser.cjs'));
      write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'Node16', moduleResolution: 'Node16', strict: true } }));
      write('src/core/base/low.ts', "import { up } from '../selfplay/high';\nexport const low = () => up;\n");
      write('src/core/selfplay/high.ts', "import { low } from '../base/low';\nexport const up = 1;\nexport const again = low;\n");
      write('src/core/judge/a.ts', "import { b } from './b';\nexport const a = () => b;\n");
      write('src/core/judge/b.ts', "import { a } from './a';\nexport const b = () => a;\n");
      write('src/core/judge/usesCli.ts', "import { cli } from '../../cli/main';\nexport const x = cli;\n");
      write('src/cli/main.ts', 'export const cli = 1;\n');
      write('src/core/stray.ts', "import { low } from './base/low';\nexport const s = low;\n");
      const rules = new Set(cruise(dir, path.join(dir, '.dependency-cruiser.cjs')).map((v) => `${v.rule.name} ${v.from}`));
      for (const want of [
        'stage-order-base src/core/base/low.ts',
        'no-circular src/core/judge/a.ts',
        'core-is-editor-free src/core/judge/usesCli.ts',
        'core-in-stages src/core/stray.ts',
      ]) {
        assert.ok(rules.has(want), `expected "${want}" among ${[...rules].join('; ')}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every stage of the config is a folder of src/core/ and every folder is a stage', () => {
    const config = fs.readFileSync(path.join(ROOT, '.dependency-cruiser.cjs'), 'utf8');
    const floors = /const FLOORS = (\[[\s\S]*?\]);/.exec(config);
    assert.ok(floors, 'FLOORS not found in .dependency-cruiser.cjs');
    const stages = (JSON.parse(floors[1].replace(/'/g, '"').replace(/,(\s*\])/g, '$1')) as string[][]).flat().sort();
    assert.deepEqual(stages, stageFolders());
  });

  it('each stage folder has a README naming its entry points, and they exist', () => {
    for (const stage of stageFolders()) {
      const readme = path.join(ROOT, 'src/core', stage, 'README.md');
      assert.ok(fs.existsSync(readme), `src/core/${stage}/README.md is missing`);
      const text = fs.readFileSync(readme, 'utf8');
      const entry = /^Entry points?: (.*)$/m.exec(text.replace(/\n(?=\S)(?!Imports:|Entry)/g, ' '));
      assert.ok(entry, `src/core/${stage}/README.md names no entry points ("Entry point(s): ...")`);
      const named = [...entry[1].matchAll(/`([\w./]+\.(?:ts|py|go))`/g)].map((m) => m[1]);
      assert.ok(named.length > 0, `src/core/${stage}/README.md: no entry file named`);
      for (const f of named) assert.ok(fs.existsSync(path.join(ROOT, 'src/core', stage, f)), `src/core/${stage}/README.md names ${f}, which does not exist`);
    }
  });
});

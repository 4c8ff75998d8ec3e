/**
 * The extension's commands (src/extension/commands/, one file per command
 * or per group sharing one idea): each file's ids and titles are the ones
 * package.json contributes, and every contributed command is registered
 * somewhere. Read as text: the command files import vscode, which unit
 * tests cannot load.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { swebenchJsonl, type SwebenchInstance } from '../../src/core/report/export';

const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'src/extension/commands');

function contributed(): Map<string, string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { contributes: { commands: Array<{ command: string; title: string }> } };
  return new Map(pkg.contributes.commands.map((c) => [c.command, c.title]));
}

function declared(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of fs.readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    const text = fs.readFileSync(path.join(DIR, f), 'utf8');
    for (const m of text.matchAll(/\{ id: '([^']+)', title: '([^']+)'/g)) {
      assert.ok(!out.has(m[1]), `${m[1]} is declared twice`);
      out.set(m[1], m[2]);
    }
  }
  return out;
}

describe('extension commands: one file each, the ids and titles of package.json', () => {
  it('each command declared in src/extension/commands/ has the id and title package.json contributes', () => {
    const pkg = contributed();
    const ours = declared();
    assert.ok(ours.size >= 17, `only ${ours.size} commands found`);
    for (const [id, title] of ours) assert.equal(pkg.get(id), title, `${id}: title "${title}" differs from package.json`);
  });

  it('every contributed command is registered (the commands folder, the insight commands, Prepare Sandbox)', () => {
    const ours = declared();
    const elsewhere = ['insights.ts', 'prepareSandbox.ts'].map((f) => fs.readFileSync(path.join(ROOT, 'src/extension', f), 'utf8')).join('\n');
    for (const id of contributed().keys()) assert.ok(ours.has(id) || elsewhere.includes(`'${id}'`), `${id} is contributed but never registered`);
  });

  it('the index registers every command file and no file is over 400 lines', () => {
    const index = fs.readFileSync(path.join(DIR, 'index.ts'), 'utf8');
    for (const f of fs.readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
      const text = fs.readFileSync(path.join(DIR, f), 'utf8');
      assert.ok(text.split('\n').length <= 400, `${f} has more than 400 lines`);
      if (/: SsrCommand(\[\])? = /.test(text)) assert.ok(index.includes(`from './${f.replace(/\.ts$/, '')}'`), `index.ts does not register ${f}`);
    }
  });
});

describe('swebenchJsonl', () => {
  it('one JSON line per instance, a last newline only when there is one', () => {
    assert.equal(swebenchJsonl([]), '');
    const row = { instance_id: 'a' } as SwebenchInstance;
    assert.equal(swebenchJsonl([row, row]), '{"instance_id":"a"}\n{"instance_id":"a"}\n');
  });
});

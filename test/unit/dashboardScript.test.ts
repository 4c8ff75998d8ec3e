/**
 * The dashboard's page script (media/dashboard/): its files, joined in the
 * order of DASHBOARD_SCRIPTS, are one script in one function scope, the one
 * the extension's webview and `ssr report` run.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import * as ts from 'typescript';
import { DASHBOARD_SCRIPTS, dashboardScript, loadReportAssets } from '../../src/core/report/html';

const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'media/dashboard');
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');

/** The names a file declares at its top level (functions, const, let, var). */
function topLevelNames(file: string): string[] {
  const sf = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const names: string[] = [];
  for (const st of sf.statements) {
    if (ts.isFunctionDeclaration(st) && st.name) names.push(st.name.text);
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text);
  }
  return names;
}

describe('dashboard page script: media/dashboard/ joined in order', () => {
  it('DASHBOARD_SCRIPTS names every .js file of media/dashboard/ once, base.js first and main.js last', () => {
    const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.js'));
    assert.deepEqual([...DASHBOARD_SCRIPTS].sort(), files.sort());
    assert.equal(new Set(DASHBOARD_SCRIPTS).size, DASHBOARD_SCRIPTS.length);
    assert.equal(DASHBOARD_SCRIPTS[0], 'base.js');
    assert.equal(DASHBOARD_SCRIPTS[DASHBOARD_SCRIPTS.length - 1], 'main.js');
  });

  it('each file is JavaScript on its own, and no two files declare the same top-level name', () => {
    const seen = new Map<string, string>();
    for (const f of DASHBOARD_SCRIPTS) {
      assert.doesNotThrow(() => new vm.Script(read(f), { filename: f }), `${f} does not parse`);
      for (const n of topLevelNames(f)) {
        assert.ok(!seen.has(n), `${n} is declared in both ${seen.get(n)} and ${f}`);
        seen.set(n, f);
      }
    }
    assert.ok(seen.has('renderDashboard') && seen.has('renderMatrix') && seen.has('renderReport'));
  });

  it('joins the files, in order, inside one strict function that runs at once', () => {
    const js = dashboardScript((f) => `(globalThis.seen = globalThis.seen || []).push(${JSON.stringify(f)});\n`);
    assert.match(js, /^\(function \(\) \{\n {2}'use strict';\n/);
    assert.match(js, /\}\)\(\);\n$/);
    // Each file runs once, in the order of DASHBOARD_SCRIPTS.
    const ctx: { seen?: string[] } = {};
    vm.runInNewContext(js, ctx);
    assert.deepEqual(Array.from(ctx.seen ?? []), [...DASHBOARD_SCRIPTS]);
    // A name declared in one file is seen by the next (one scope), and not outside it.
    const scoped = dashboardScript((f) => (f === 'base.js' ? 'const shared = 41;\n' : f === 'main.js' ? 'globalThis.got = shared + 1;\n' : ''));
    const c2: { got?: number; shared?: number } = {};
    vm.runInNewContext(scoped, c2);
    assert.equal(c2.got, 42);
    assert.equal(c2.shared, undefined);
  });

  it('the report and the webview get the joined script of the source tree', () => {
    const assets = loadReportAssets(path.join(ROOT, 'dist'));
    assert.equal(assets.script, dashboardScript(read));
    assert.doesNotThrow(() => new vm.Script(assets.script, { filename: 'dashboard' }));
    assert.match(assets.css, /\S/);
  });
});

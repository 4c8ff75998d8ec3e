/**
 * End to end, in a real VS Code (code-server in Chromium), for issue #12:
 *
 *   - the welcome states the main e2e does not reach: Docker not reachable
 *     (Retry, Show Log) and the sandbox image missing (Build Image, which
 *     then finds the image and the view moves on);
 *   - the Bugs view over every run of the workspace, grouped by run with
 *     names for people, and the no-model line with Configure Policy;
 *   - the session dashboard on a running session (another process, as the
 *     CLI would, writes a round: the charts update), its table toggle, light
 *     and dark themes;
 *   - lineage: from the dashboard to a second-order bug in the Bugs view,
 *     and from that bug to its parent;
 *   - a bug's test matrix: search, and a click on a cell opens that run's
 *     log tail (a payload in it stays text);
 *   - two attempts side by side in the diff editor, a check's full detail,
 *     the multi-file diff tab title;
 *   - Start Self-play Session asks for the rounds;
 *   - `ssr report` output opened in Chromium (light and dark);
 *   - benchmark: the dashboard of a 500-round run and the matrix of a
 *     2,000-test x 6-state bug, time to first render (printed).
 *
 * Screenshots: test-results/e2e/d*.png.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { ensureEngineAndImage } from '../../src/core/sandbox/docker';
import { ROOT, buildVsix, ensureCodeServer, outputLogs, startCodeServer, type CodeServer } from './codeServer';
import { Workbench, launch, poll } from './workbench';
import { BUG_A, BUG_A_CHILD, appendRound, bigValidation, writeBigRun, writeReportRun } from '../fixtures/runs/reportRun';

const SHOTS = path.join(ROOT, 'test-results', 'e2e');
const FIXTURE_REPO = path.join(ROOT, 'test/fixtures/repos/pyledger');
const IMAGE = process.env.SSR_IMAGE ?? 'ssr-sandbox:bookworm';
const BENCH_ROUNDS = Number(process.env.SSR_E2E_BENCH_ROUNDS ?? 500);
const BENCH_TESTS = Number(process.env.SSR_E2E_BENCH_TESTS ?? 2000);
const LIVE_RUN = '20261120-100000-live01';
const BIG_RUN = '20261119-090000-big500';
const INJECT_RUN = '20261121-222800-inj001';

/** A run as "SSR: Inject Bug" leaves it with no model: one valid bug, not solved. */
function writeInjectRun(dir: string, repoDir: string): void {
  const at = new Date(2026, 10, 21, 22, 28).toISOString();
  const bug = 'r000-injected01';
  fs.mkdirSync(path.join(dir, 'bugs', bug), { recursive: true });
  fs.writeFileSync(path.join(dir, 'bugs', bug, 'bug.json'), JSON.stringify({ id: bug, order: 1, round: 0, source: 'bootstrap', status: 'unsolved-no-solver', valid: true, createdAt: at, updatedAt: at }));
  fs.writeFileSync(
    path.join(dir, 'session.json'),
    JSON.stringify({
      format: 'ssr-session/1',
      id: path.basename(dir),
      config: { repoDir, image: IMAGE, proposer: 'bootstrap', strategy: 'mix', attempts: 1, alpha: 0.8, thresholds: { minPassingTests: 5, minChangedFiles: 1, minFailingTests: 1 }, concurrency: 2, rounds: 1, seed: 1, higherOrder: false, trainEvery: 0 },
      status: 'finished',
      pid: 1,
      host: 'e2e',
      createdAt: at,
      updatedAt: at,
      activeMs: 5000,
      resumes: 0,
      rounds: { 0: { status: 'done', bugId: bug, finishedAt: at } },
      counters: { proposals: 1, validBugs: 1, attempts: 0, solved: 0, higherOrder: 0 },
    }),
  );
}

/** The frame of a webview page of the given mode, rendered. */
async function webviewFrame(page: Page, mode: 'dashboard' | 'matrix', pred: (f: Frame) => Promise<boolean> = async () => true, timeoutMs = 90_000): Promise<Frame> {
  return poll(
    `the ${mode} webview`,
    async () => {
      for (const f of page.frames()) {
        if (f === page.mainFrame()) continue;
        try {
          if (!(await f.$(`body[data-mode="${mode}"][data-rendered]`))) continue;
          if (!(await f.locator('#app').isVisible())) continue;
          if (await pred(f)) return f;
        } catch {
          /* detached */
        }
      }
      return undefined;
    },
    timeoutMs,
    async () => `${page.frames().length} frames`,
  );
}

/**
 * The first-render timeline of one opening, in ms after the click (all clocks are this machine's wall clock):
 * command (the extension's command ran), created (createWebviewPanel returned), html (the page's HTML set), frame (the
 * webview's outer frame started loading), document (the page's own frame started loading VS Code's blank fake.html),
 * fetched (fake.html came through the service worker), blank (fake.html parsed), written (VS Code wrote our HTML into
 * that frame and its first inline script ran), script (the page script ran),
 * sent (the extension posted the data), data (the page got it), rendered (page built), painted (the next frame).
 */
interface Timeline {
  at: Partial<Record<(typeof STAGES)[number], number>>;
  /** When this test saw the rendered page (its polling adds up to a quarter second). */
  seen: number;
  /** From the page script's start to its first render. */
  page: number;
  resources: Array<{ name: string; start: number; ms: number; bytes: number }>;
  nav: string;
}
const STAGES = ['command', 'created', 'html', 'frame', 'document', 'fetched', 'blank', 'written', 'script', 'sent', 'data', 'rendered', 'painted', 'charts'] as const;
const BENCH_REPEAT = Number(process.env.SSR_E2E_BENCH_REPEAT ?? 5);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return NaN;
  return Math.round(s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2);
}

async function timeline(f: Frame, clickAt: number, seenAt: number): Promise<Timeline> {
  const m = JSON.parse((await f.locator('body').getAttribute('data-marks')) ?? '{}') as Record<string, number> & { host?: Record<string, number>; resources?: Timeline['resources'] };
  // The webview's outer frame (VS Code's host page for the webview) is the page frame's parent.
  const outer = await f.parentFrame()?.evaluate(() => performance.timeOrigin).catch(() => undefined);
  const abs: Record<string, number | undefined> = { ...(m.host ?? {}), frame: outer, document: m.origin, fetched: m.fetched, blank: m.blank, written: m.written, script: m.script, data: m.data, rendered: m.rendered, painted: m.painted, charts: m.charts };
  const at: Timeline['at'] = {};
  for (const k of STAGES) if (typeof abs[k] === 'number') at[k] = Math.round((abs[k] as number) - clickAt);
  return { at, seen: seenAt - clickAt, page: Math.round(m.painted - m.script), resources: m.resources ?? [], nav: String(m.nav ?? '') };
}

describe('SSR dashboard, test matrix, lineage, attempts, report (code-server)', function () {
  this.timeout(900_000);
  let tmp: string;
  let ws: string;
  let runs: string;
  let entry: string;
  let vsix: string;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let wb: Workbench;
  const dialogs: string[] = [];
  const bench: Record<string, number> = {};
  const label = `e2e-h12-${process.pid}-${Date.now().toString(36)}`;
  const missingImage = `ssr-e2e-missing-${process.pid}:${Date.now().toString(36)}`;

  const open = async (settings: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}) => {
    server = await startCodeServer({ entry, vsix, workspace: ws, tmp: fs.mkdtempSync(path.join(tmp, 'cs-')), label, env, settings });
    page = await browser!.newPage({ viewport: { width: 1500, height: 940 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    wb = new Workbench(page, SHOTS);
    await page.goto(server.url);
    await wb.waitReady();
    await wb.openSsr();
  };
  let wrote = false;
  const writeRuns = () => {
    if (wrote) return;
    wrote = true;
    writeInjectRun(path.join(runs, INJECT_RUN), ws);
    writeReportRun(path.join(runs, LIVE_RUN), { repoDir: ws, status: 'running', pid: process.pid });
    writeBigRun(path.join(runs, BIG_RUN), BENCH_ROUNDS, ws);
    fs.writeFileSync(path.join(runs, BIG_RUN, 'bugs', 'r000-bench', 'validation.json'), JSON.stringify(bigValidation(BENCH_TESTS)));
  };
  /** Switches between the light and dark theme (Preferences: Toggle between Light/Dark Themes) until the dashboard page has `kind`. */
  const setTheme = async (kind: 'light' | 'dark') => {
    const is = async () => (await dash.locator(`body.vscode-${kind}`).count()) > 0;
    await poll(`the ${kind} theme in the dashboard`, async () => {
      if (await is()) return true;
      await page.keyboard.press('Escape');
      await wb.runCommand('Preferences: Toggle between Light/Dark Themes');
      await page.waitForTimeout(2000);
      return is();
    }, 60_000, async () => `workbench: ${await page.locator('.monaco-workbench').first().getAttribute('class')}; page: ${await dash.locator('body').getAttribute('class')}`);
  };
  const close = async () => {
    if (server) {
      fs.appendFileSync(path.join(SHOTS, 'dashboard-ssr-output.log'), outputLogs(server.userDataDir, 'SSR'));
      await page?.close().catch(() => undefined);
      await server.stop();
      server = undefined;
    }
  };

  before(async function () {
    fs.mkdirSync(SHOTS, { recursive: true });
    for (const f of fs.readdirSync(SHOTS)) if (/^d\d.*\.png$/.test(f) || f === 'dashboard-ssr-output.log') fs.rmSync(path.join(SHOTS, f));
    await ensureEngineAndImage(IMAGE).catch((err: Error) => {
      throw new Error(`the e2e test needs Docker and the sandbox image (scripts/start-docker.sh, npm run image:base): ${err.message}`);
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-e2e-dash-'));
    ws = path.join(tmp, 'pyledger');
    fs.cpSync(FIXTURE_REPO, ws, { recursive: true });
    runs = path.join(ws, '.ssr', 'runs');
    entry = ensureCodeServer();
    vsix = buildVsix();
    browser = await launch();
  });

  afterEach(async function () {
    const t = this.currentTest;
    if (t?.state === 'failed' && page && server) {
      await wb.screenshot(`d00-failed-${t.title.slice(0, 40).replace(/[^a-z0-9]+/gi, '-')}`).catch(() => undefined);
      console.log(`      failed: ${t.err?.message?.split('\n').slice(0, 3).join(' / ')}`);
    }
  });

  after(async function () {
    if (page && server) await wb.screenshot('d99-final').catch(() => undefined);
    await close();
    await browser?.close().catch(() => undefined);
    spawnSync('docker', ['rmi', missingImage], { encoding: 'utf8' });
    if (Object.keys(bench).length) fs.writeFileSync(path.join(SHOTS, 'dashboard-bench.json'), JSON.stringify(bench, null, 2) + '\n');
    if (tmp && !process.env.SSR_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('says Docker is not reachable, with Retry and Show Log that work', async () => {
    await open({}, { DOCKER_HOST: `unix://${path.join(tmp, 'no-engine.sock')}` });
    const welcome = wb.pane('Bugs').locator('.welcome-view-content');
    await poll('the Docker welcome', async () => (await welcome.innerText()).includes('Docker is not reachable'), 90_000, async () => welcome.innerText());
    await wb.screenshot('d01-docker-unreachable');
    const checks = () => (outputLogs(server!.userDataDir, 'SSR').match(/Docker: /g) ?? []).length;
    const before = await poll('the first Docker check in the log', async () => checks() || undefined, 30_000);
    await welcome.getByRole('button', { name: 'Retry' }).click();
    await poll('Retry to check Docker again', async () => checks() > before, 60_000, async () => `${checks()} checks`);
    assert.ok((await welcome.innerText()).includes('Docker is not reachable'), 'still unreachable after Retry');
    await welcome.getByRole('button', { name: 'Show Log' }).click();
    await poll('the SSR log in the Output panel', async () => (await page.locator('.part.panel .monaco-editor .view-lines').first().innerText()).includes('Docker'), 30_000);
    await wb.screenshot('d02-docker-unreachable-log');
    await close();
  });

  it('says the sandbox image is missing; Build Image finds it and the view moves on', async () => {
    await open({ 'ssr.image': missingImage });
    const welcome = wb.pane('Bugs').locator('.welcome-view-content');
    await poll('the missing-image welcome', async () => (await welcome.innerText()).includes('sandbox image is missing'), 90_000, async () => welcome.innerText());
    await wb.screenshot('d03-image-missing');
    // The image the button builds already exists under that name (a tag of the real one): the build script says so and
    // ends at once instead of a minutes-long debootstrap; closing its terminal makes SSR check again.
    const tag = spawnSync('docker', ['tag', IMAGE, missingImage], { encoding: 'utf8' });
    assert.equal(tag.status, 0, tag.stderr);
    await welcome.getByRole('button', { name: 'Build Image' }).click();
    await poll('the build terminal', async () => (await page.locator('.terminal-tab, .tabs-list .terminal-tabs-entry, .single-terminal-tab').count()) > 0 || (await page.locator('.xterm').count()) > 0, 60_000);
    await page.waitForTimeout(4000);
    await wb.screenshot('d04-build-image-terminal');
    await wb.runCommand('Terminal: Kill All Terminals');
    await poll('the welcome to move on to "No bugs yet"', async () => (await welcome.innerText()).includes('No bugs yet'), 90_000, async () => welcome.innerText());
    await wb.screenshot('d05-image-found');
  });

  it('lists the bugs of every run, grouped by run with names for people, and says once that solving needs a model', async () => {
    writeRuns();
    await wb.widenSidebar(260);
    await wb.row('Bugs', 'run Inject Bug, 22:28, valid', 60_000).catch(async () => {
      await wb.runCommand('SSR: Refresh');
      return wb.row('Bugs', 'run Inject Bug, 22:28, valid', 60_000);
    });
    await wb.row('Bugs', 'run Self-play, 5 rounds');
    await wb.row('Bugs', `run Self-play, ${BENCH_ROUNDS} rounds`);
    await wb.row('Bugs', 'Solving needs a model: Configure Policy');
    const inj = await wb.row('Bugs', 'run Inject Bug, 22:28');
    await wb.expand(inj);
    const bug = await wb.row('Bugs', 'bug r000-injected01');
    const aria = (await bug.getAttribute('aria-label')) ?? '';
    assert.match(aria, /bug r000-injected01, valid$/, `short status first, nothing unknown: ${aria}`);
    await page.mouse.move(900, 700);
    await wb.screenshot('d06-bugs-all-runs');
  });

  let dash: Frame;

  it('opens the dashboard of a running session, which updates as rounds arrive', async () => {
    await wb.expandPane('Sessions');
    const session = await wb.row('Sessions', `session ${LIVE_RUN}, running`, 60_000);
    // A click on the row shows the run (its command); its twistie expands it (the views refresh meanwhile: try again).
    await poll('the session to expand', async () => {
      if ((await session.getAttribute('aria-expanded')) === 'true') return true;
      await session.locator('.monaco-tl-twistie').click().catch(() => undefined);
      await page.waitForTimeout(1000);
      return (await session.getAttribute('aria-expanded')) === 'true';
    }, 30_000);
    await (await wb.row('Sessions', 'Open Dashboard')).click();
    dash = await webviewFrame(page, 'dashboard', async (f) => (await f.locator('h1').innerText()).includes('Self-play, 5 rounds'));
    await wb.clearNotifications();
    await setTheme('dark');
    await page.waitForTimeout(1500);
    const charts = await dash.locator('figure[data-chart]').evaluateAll((els) => els.map((e) => e.getAttribute('data-chart')));
    assert.deepEqual(charts, ['chart-rewards', 'chart-histogram', 'chart-validity', 'chart-stages', 'chart-throughput', 'chart-orders', 'chart-tampered', 'chart-training']);
    assert.equal(await dash.locator('body').getAttribute('data-rounds'), '3');
    assert.equal(await dash.locator('canvas').count(), 8, 'every chart has a canvas');
    // The charts are drawn after the first paint.
    await poll('the charts drawn', async () => (await dash.locator('body').getAttribute('data-charts')) === '8', 30_000, async () => `data-charts ${await dash.locator('body').getAttribute('data-charts')}`);
    await page.waitForTimeout(500);
    await wb.screenshot('d07-dashboard-dark');
    // Another process (as `ssr selfplay` in a terminal would) finishes round 4.
    appendRound(path.join(runs, LIVE_RUN), 3);
    await poll('the dashboard to show round 4', async () => (await dash.locator('body').getAttribute('data-rounds')) === '4', 60_000, async () => `rounds ${await dash.locator('body').getAttribute('data-rounds')}`);
    const rows = await dash.locator('#chart-rewards-table tbody tr').count();
    assert.equal(rows, 4, 'the rewards table has the new round');
    // The text alternative: the table behind the toggle.
    await dash.locator('#chart-histogram .toggle').click();
    assert.ok(await dash.locator('#chart-histogram-table').isVisible());
    assert.match(await dash.locator('#chart-histogram-table').innerText(), /s=0\s+1/);
    await wb.screenshot('d08-dashboard-updated-table-dark');
    await dash.locator('#chart-histogram .toggle').click();
    await setTheme('light');
    await page.waitForTimeout(1500);
    await wb.screenshot('d09-dashboard-light');
  });

  it('navigates the lineage: dashboard -> second-order bug -> its parent in the Bugs view', async () => {
    await wb.collapsePane('Sessions');
    await wb.collapsePane('Trajectories');
    await dash.locator(`a[data-bug="${BUG_A_CHILD}"]`).first().click();
    const child = await poll('the child bug selected in the Bugs view', async () => {
      const r = wb.pane('Bugs').locator(`.monaco-list-row.selected[aria-label*="bug ${BUG_A_CHILD},"]`);
      return (await r.count()) ? r.first() : undefined;
    }, 60_000, async () => (await wb.rowLabels('Bugs')).join(' | '));
    assert.match((await child.getAttribute('aria-label')) ?? '', /valid · solved 0\/4 · order 2/);
    await wb.expand(child);
    await (await wb.row('Bugs', `from ${BUG_A}`)).click();
    await poll('the parent selected', async () => (await wb.pane('Bugs').locator(`.monaco-list-row.selected[aria-label*="bug ${BUG_A},"]`).count()) > 0, 60_000, async () => (await wb.rowLabels('Bugs')).join(' | '));
    const parent = await wb.row('Bugs', `bug ${BUG_A},`);
    await wb.expand(parent);
    await wb.row('Bugs', `gave ${BUG_A_CHILD}`);
    await wb.screenshot('d10-lineage');
  });

  it('opens the test matrix of a bug: search, and a click on a cell opens that run\'s log tail', async () => {
    await (await wb.row('Bugs', 'Test matrix')).click();
    const m = await webviewFrame(page, 'matrix');
    assert.equal(await m.locator('table.matrix tbody tr').count(), 8);
    // A restore column reads "restore" over the file's name; its hover names the whole state.
    const heads = m.locator('table.matrix thead th[data-state]');
    assert.deepEqual(await heads.evaluateAll((ths) => ths.map((t) => t.getAttribute('data-state'))), ['original', 'buggy', 'weakened', 'restore:pyledger/currency.py', 'restore:pyledger/money.py']);
    assert.deepEqual(await m.locator('table.matrix thead th[data-state] > div:nth-child(2)').allInnerTexts().then((t) => t.slice(-2)), ['currency.py', 'money.py']);
    assert.match((await heads.last().getAttribute('title')) ?? '', /^restore:pyledger\/money\.py: \d+ passed/);
    assert.equal(await m.locator('td.flip').count(), 4, 'each restore flips two tests of F');
    await m.locator('input.search').fill('jpy');
    await poll('the search to filter', async () => (await m.locator('table.matrix tbody tr:not([hidden])').count()) === 2, 10_000);
    await wb.screenshot('d11-matrix-search');
    await m.locator('input.search').fill('');
    await m.locator('table.matrix tbody tr:not([hidden]) td.c-failed').first().click();
    const logTab = page.locator('.tabs-container .tab', { hasText: 'buggy.log' });
    await poll('the log tail of the buggy run in an editor beside the matrix', async () => (await logTab.count()) > 0, 60_000, async () => wb.activeEditorTitle());
    await page.waitForTimeout(800);
    const text = await page.locator('.editor-instance .monaco-editor .view-lines').last().innerText();
    assert.ok(text.includes('onerror=alert(1)'), `the log tail, as text: ${text.slice(0, 200)}`);
    assert.equal(await m.locator('img').count(), 0);
    assert.deepEqual(dialogs, []);
    await wb.screenshot('d12-matrix-log');
  });

  it('compares two attempts side by side in the diff editor, with outcomes and step counts', async () => {
    await wb.closeAllEditors();
    await (await wb.row('Bugs', 'Compare attempts')).click();
    const pick = page.locator('.quick-input-widget');
    await pick.locator('.monaco-list-row', { hasText: 'attempt 1' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // A multi-select quick pick: a click on a row toggles its checkbox.
    for (const n of ['attempt 1', 'attempt 2']) await pick.locator('.monaco-list-row', { hasText: n }).first().click();
    await wb.screenshot('d13-compare-pick');
    await page.keyboard.press('Enter');
    await poll('the multi-file diff editor of the two attempts', async () => /Attempts 1, 2 of r000-3files/.test(await wb.activeEditorTitle()), 60_000, async () => wb.activeEditorTitle());
    await page.waitForTimeout(2000);
    const tabs = await page.locator('.tabs-container .tab').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
    assert.ok(tabs.some((t) => t.includes('summary.md')), `the summary is open: ${tabs.join(' | ')}`);
    await wb.screenshot('d14-compare-attempts');
    await page.locator('.tabs-container .tab', { hasText: 'summary.md' }).first().click();
    await page.waitForTimeout(800);
    // Monaco renders spaces as no-break spaces.
    const summary = (await page.locator('.editor-instance .monaco-editor .view-lines').first().innerText()).replace(/\u00a0/g, ' ');
    assert.match(summary, /\| 1 \| solved \| 1 \| 6 \|/);
    assert.match(summary, /\| 2 \| not solved \| -1 \| 9 \|/);
    await wb.screenshot('d15-compare-summary');
  });

  it('compares the attempts selected in the Trajectories view (two selected: no pick)', async () => {
    await wb.closeAllEditors();
    await wb.collapsePane('Bugs');
    // The Trajectories view shows the run chosen in the Sessions view (a click on its row).
    await wb.expandPane('Sessions');
    await (await wb.row('Sessions', `session ${LIVE_RUN}`)).click();
    await wb.collapsePane('Sessions');
    await wb.expandPane('Trajectories');
    const tbug = await wb.row('Trajectories', 'trajectories of r000-3files', 60_000);
    await wb.expand(tbug);
    const a1 = await wb.row('Trajectories', 'attempt 1 of r000-3files');
    const a3 = await wb.row('Trajectories', 'attempt 3 of r000-3files');
    await a1.click();
    await a3.click({ modifiers: ['Control'] });
    await poll('two attempts selected', async () => (await wb.pane('Trajectories').locator('.monaco-list-row.selected').count()) === 2, 15_000);
    await a3.click({ button: 'right' });
    const item = page.locator('.context-view .action-item', { hasText: 'Compare Attempts' }).first();
    await item.waitFor({ state: 'visible', timeout: 15_000 });
    await wb.screenshot('d15b-compare-selected-menu');
    await item.click();
    await poll('the diff editor of the selected attempts', async () => /Attempts 1, 3 of r000-3files/.test(await wb.activeEditorTitle()), 60_000, async () => wb.activeEditorTitle());
    assert.equal(await page.locator('.quick-input-widget .monaco-list-row').filter({ hasText: 'attempt 2' }).isVisible().catch(() => false), false, 'no pick was asked');
    await wb.screenshot('d15c-compare-selected');
    await wb.collapsePane('Trajectories');
    await wb.expandPane('Bugs');
  });

  it('opens a check\'s full detail on click, and the multi-file diff tab reads right', async () => {
    await wb.closeAllEditors();
    const checks = await wb.row('Bugs', 'Checks, all 7 pass');
    await wb.expand(checks);
    await (await wb.row('Bugs', 'check inverse_mutation: pass')).click();
    await poll('the check detail', async () => (await wb.activeEditorTitle()).includes('inverse_mutation.md'), 30_000, async () => wb.activeEditorTitle());
    await wb.screenshot('d16-check-detail');
    await (await wb.row('Bugs', 'artifact file bug_inject.diff')).click();
    await poll('the multi-file diff editor', async () => (await page.locator('.multiDiffEditor').count()) > 0, 60_000, async () => wb.activeEditorTitle());
    await page.waitForTimeout(2000);
    const title = await wb.activeEditorTitle();
    assert.equal((title.match(/files\)/g) ?? []).length <= 1, true, `one "(N files)" in the tab title: ${title}`);
    // Each row is one file, original against patched: no "a → b" rename between two different paths.
    const rows = await page.locator('.multiDiffEditor').first().innerText();
    assert.ok(rows.includes('currency.py') && rows.includes('money.py'), `the file rows: ${rows.slice(0, 300)}`);
    assert.ok(!rows.includes('→') && !rows.includes('/original/'), `no rename marker: ${rows.slice(0, 300)}`);
    await wb.screenshot('d17-diff-tab');
  });

  it('asks how many rounds when starting a self-play session, with the setting as default', async () => {
    await wb.runCommand('SSR: Start Self-play Session');
    const input = page.locator('.quick-input-widget input');
    await poll('the rounds question', async () => (await input.isVisible()) && (await input.inputValue()) === '4', 60_000);
    assert.match(await page.locator('.quick-input-widget').innerText(), /Rounds to play/);
    await wb.screenshot('d18-rounds-question');
    await page.keyboard.press('Escape');
  });

  it(`bench: dashboard of a ${BENCH_ROUNDS}-round run and the matrix of ${BENCH_TESTS} tests x 6 states`, async () => {
    if (!server) await open();
    writeRuns();
    const samples: Record<'dashboard' | 'matrix', Timeline[]> = { dashboard: [], matrix: [] };
    for (let i = 0; i < BENCH_REPEAT; i++) {
      await wb.closeAllEditors();
      await wb.runCommand('SSR: Open Dashboard');
      const item = page.locator('.quick-input-widget .monaco-list-row', { hasText: BIG_RUN }).first();
      await item.waitFor({ state: 'visible', timeout: 30_000 });
      const t0 = Date.now();
      await item.click();
      const big = await webviewFrame(page, 'dashboard', async (f) => (await f.locator('body').getAttribute('data-rounds')) === String(BENCH_ROUNDS) && (await f.locator('body[data-marks][data-charts]').count()) > 0 && (await f.locator('body').getAttribute('data-marks'))!.includes('"charts"'), 120_000);
      samples.dashboard.push(await timeline(big, t0, Date.now()));
      assert.equal(await big.locator('#chart-rewards-table tbody tr').count(), BENCH_ROUNDS);
      if (i === 0) {
        await page.waitForTimeout(500);
        await wb.screenshot('d19-bench-dashboard');
      }
    }
    for (let i = 0; i < BENCH_REPEAT; i++) {
      await wb.closeAllEditors();
      await wb.runCommand('SSR: Open Test Matrix');
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 30_000 });
      await input.fill('r000-bench');
      const row = page.locator('.quick-input-widget .monaco-list-row', { hasText: 'r000-bench' }).first();
      await row.waitFor({ state: 'visible', timeout: 30_000 });
      const t1 = Date.now();
      await page.keyboard.press('Enter');
      const mf = await webviewFrame(page, 'matrix', async (f) => (await f.locator('body[data-marks]').count()) > 0 && (await f.locator('body').getAttribute('data-tests')) === String(BENCH_TESTS), 120_000);
      samples.matrix.push(await timeline(mf, t1, Date.now()));
      assert.equal(await mf.locator('table.matrix thead th').count(), 8);
      if (i === 0) await wb.screenshot('d20-bench-matrix');
    }
    // The dashboard's Matrix button shows the matrix inside the dashboard's page (no new webview); "Dashboard" goes
    // back. Then "Open in its own tab", and back to the dashboard's tab (kept while hidden: shown at once, no render).
    await wb.closeAllEditors();
    await wb.runCommand('SSR: Open Dashboard');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: BIG_RUN }).first().click();
    const board = await webviewFrame(page, 'dashboard', async (f) => (await f.locator('body').getAttribute('data-rounds')) === String(BENCH_ROUNDS) && (await f.locator('body[data-charts]').count()) > 0, 120_000);
    const button = board.locator('button[aria-label="Test matrix of r000-bench"]');
    await poll('the Matrix button of r000-bench', async () => (await button.count()) > 0, 30_000);
    const inPage: number[] = [];
    for (let i = 0; i < BENCH_REPEAT; i++) {
      await button.scrollIntoViewIfNeeded();
      await button.click();
      const t = JSON.parse(await poll('the matrix inside the dashboard', async () => (await board.locator('body').getAttribute('data-matrix-marks')) ?? undefined, 60_000)) as Record<string, number>;
      inPage.push(Math.round(t.painted - t.clicked));
      assert.equal(await board.locator('body').getAttribute('data-tests'), String(BENCH_TESTS));
      assert.equal(await board.locator('#inline-matrix table.matrix thead th').count(), 8);
      if (i === 0) await wb.screenshot('d20b-bench-matrix-in-dashboard');
      await board.locator('#inline-matrix button.back').click();
      await poll('the charts again', async () => board.locator('#chart-rewards canvas').isVisible(), 30_000);
    }
    bench.matrixInDashboardMs = median(inPage);
    console.log(`      bench: matrix of ${BENCH_TESTS} tests inside the dashboard (its Matrix button): ${bench.matrixInDashboardMs} ms from the click to the first paint, page clock (median of ${inPage.length}: ${inPage.join(', ')})`);
    await button.click();
    await poll('the matrix inside the dashboard', async () => (await board.locator('body').getAttribute('data-view')) === 'matrix', 60_000);
    await board.locator('#inline-matrix button', { hasText: 'Open in its own tab' }).click();
    await webviewFrame(page, 'matrix', async (f) => (await f.locator('body[data-marks]').count()) > 0, 120_000);
    const back: number[] = [];
    for (let i = 0; i < Math.min(BENCH_REPEAT, 3); i++) {
      const renders = await board.locator('body').getAttribute('data-updates');
      const t3 = Date.now();
      await page.locator('.tabs-container .tab', { hasText: 'Dashboard:' }).first().click();
      await poll('the dashboard shown again', async () => board.locator('#app').isVisible(), 30_000);
      back.push(Date.now() - t3);
      assert.equal(await board.locator('body').getAttribute('data-updates'), renders, 'the hidden dashboard was kept, not rendered again');
      await page.locator('.tabs-container .tab', { hasText: 'Test matrix:' }).first().click();
      await poll('the matrix tab shown', async () => /Test matrix/.test(await wb.activeEditorTitle()), 30_000);
    }
    bench.backToDashboardMs = median(back);
    console.log(`      bench: back to the dashboard's tab: ${bench.backToDashboardMs} ms as the test saw it (median of ${back.length}: ${back.join(', ')}; its polling adds up to a quarter second)`);
    const what = { dashboard: `dashboard of ${BENCH_ROUNDS} rounds`, matrix: `matrix of ${BENCH_TESTS} tests x 6 states` };
    for (const kind of ['dashboard', 'matrix'] as const) {
      const tl = samples[kind];
      bench[`${kind}ClickToPaintMs`] = median(tl.map((t) => t.at.painted ?? NaN));
      bench[`${kind}OpenToRenderMs`] = median(tl.map((t) => t.seen));
      bench[`${kind}PageMs`] = median(tl.map((t) => t.page));
      console.log(`      bench: ${what[kind]}: ${bench[`${kind}ClickToPaintMs`]} ms from the click to the first paint (median of ${tl.length}; ${tl.map((t) => t.at.painted).join(', ')}), seen by the test at ${bench[`${kind}OpenToRenderMs`]} ms; page ${bench[`${kind}PageMs`]} ms; load ${os.loadavg()[0].toFixed(1)}`);
      console.log(`        median ms after the click: ${STAGES.filter((k) => tl.some((t) => t.at[k] !== undefined)).map((k) => `${k} ${median(tl.map((t) => t.at[k]).filter((v): v is number => v !== undefined))}`).join(' > ')}`);
      console.log(`        fake.html navigation (ms after its frame started): ${tl.map((t) => t.nav).join(' | ')}`);
      const res = tl[tl.length - 1].resources;
      if (res.length) console.log(`        loaded by the page (last sample): ${res.map((r) => `${r.name} ${Math.round(r.bytes / 1024)} KiB at ${r.start}+${r.ms} ms`).join(', ')}`);
    }
  });

  it('ssr report writes one HTML file that renders in Chromium with no network, light and dark', async () => {
    const cli = (run: string, out: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--require', path.join(ROOT, 'scripts/text-loader.cjs'), path.join(ROOT, 'src/cli.ts'), 'report', '--run', run, '--out', out, '--json'], { cwd: ROOT, encoding: 'utf8' });
    const out = path.join(tmp, 'report.html');
    const r = cli(path.join(runs, LIVE_RUN), out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).bugs, 5);
    const bigOut = path.join(tmp, 'report-big.html');
    assert.equal(cli(path.join(runs, BIG_RUN), bigOut).status, 0);
    for (const scheme of ['light', 'dark'] as const) {
      const ctx = await browser!.newContext({ colorScheme: scheme, viewport: { width: 1300, height: 1000 } });
      const p = await ctx.newPage();
      const requests: string[] = [];
      const errors: string[] = [];
      p.on('request', (q) => !q.url().startsWith('file:') && requests.push(q.url()));
      p.on('pageerror', (e) => errors.push(e.message));
      p.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      p.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await p.goto(`file://${out}`);
      await p.waitForSelector('body[data-rendered="report"]', { timeout: 30_000 });
      assert.equal(await p.locator('canvas').count(), 8);
      await p.screenshot({ path: path.join(SHOTS, `d21-report-${scheme}.png`), fullPage: true });
      await p.locator('details.matrix-details summary').first().click();
      await p.locator('td.c-failed').first().click();
      assert.match(await p.locator('pre.log').first().innerText(), /onerror=alert\(1\)/);
      assert.equal(await p.locator('img').count(), 0);
      await p.locator('details.matrix-details').first().screenshot({ path: path.join(SHOTS, `d22-report-matrix-${scheme}.png`) });
      assert.deepEqual(requests, [], 'the report loaded nothing');
      assert.deepEqual(errors, [], 'no CSP violation or script error');
      if (scheme === 'light') {
        const t0 = Date.now();
        await p.goto(`file://${bigOut}`);
        await p.waitForSelector('body[data-rendered="report"]', { timeout: 60_000 });
        bench.reportBigLoadMs = Date.now() - t0;
        bench.reportBigPageMs = Number(await p.locator('body').getAttribute('data-render-ms'));
      }
      await ctx.close();
    }
    assert.deepEqual(dialogs, []);
    console.log(`      bench: ssr report of ${BENCH_ROUNDS} rounds in Chromium: ${bench.reportBigLoadMs} ms to rendered (page ${bench.reportBigPageMs} ms)`);
  });
});

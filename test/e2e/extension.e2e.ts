/**
 * End to end, in a real VS Code (code-server 4.100 in Chromium): the .vsix
 * installs and activates; "SSR: Inject Bug" (bootstrap proposer, real Docker
 * sandboxes) stores a bug whose five files and seven verdicts show in the
 * Bugs view; bug_inject.diff opens in the diff editor; a recorded trajectory
 * opens in the stepper and is stepped through with the keyboard, with find
 * and the jump to a step's diff; an HTML/script payload renders as text; the
 * stepper comes back after a reload; the palette lists every SSR command;
 * hand-written and corrupt run directories show up. Benchmarks: a 500-step
 * trajectory in the stepper, a 200-bug Bugs tree. Screenshots go to
 * test-results/e2e/.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import { ensureEngineAndImage } from '../../src/core/sandbox/docker';
import { CHECK_IDS } from '../../src/core/judge/checks';
import { ARTIFACT_FILES } from '../../src/core/artifact/artifact';
import { loadRunReport } from '../../src/core/report/data';
import { ROOT, buildVsix, countContainers, ensureCodeServer, freePort, outputLogs, startCodeServer, type CodeServer } from './codeServer';
import { BENCH_RUN, CORRUPT_RUN, PAYLOAD, RECORDED_BUG, RECORDED_RUN, writeBenchRun, writeCorruptRun, writeRecordedRun } from './fixtures';
import { Workbench, launch, poll } from './workbench';

const SHOTS = path.join(ROOT, 'test-results', 'e2e');
const FIXTURE_REPO = path.join(ROOT, 'test/fixtures/repos/pyledger');
const BENCH_BUGS = Number(process.env.SSR_E2E_BENCH_BUGS ?? 200);
const BENCH_STEPS = Number(process.env.SSR_E2E_BENCH_STEPS ?? 500);

/** The palette titles every SSR command must have. */
const PALETTE = [
  'Inject Bug',
  'Solve Bug',
  'Validate Artifact',
  'Start Self-play Session',
  'Stop Session',
  'Resume Session',
  'Open Trajectory',
  'Export Dataset',
  'Train Policy',
  'Configure Policy',
  'Show Log',
  'Open Dashboard',
  'Open Test Matrix',
  'Compare Attempts',
  'Export HTML Report',
];

function listFiles(dir: string, skip: string[] = []): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const rel = path.relative(dir, path.join(d, e.name));
      if (skip.includes(rel.split(path.sep)[0])) continue;
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(rel);
    }
  };
  walk(dir);
  return out.sort();
}

describe('SSR extension in VS Code (code-server)', function () {
  this.timeout(900_000);
  let tmp: string;
  let ws: string;
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let wb: Workbench;
  const dialogs: string[] = [];
  const bench: Record<string, number> = {};
  const label = `e2e-${process.pid}-${Date.now().toString(36)}`;

  before(async function () {
    fs.mkdirSync(SHOTS, { recursive: true });
    // Only this file's screenshots and logs (dashboard.e2e.ts keeps its d*.png next to them).
    for (const f of fs.readdirSync(SHOTS)) if (/^\d\d-.*\.png$/.test(f) || f === 'ssr-output.log' || f === 'code-server.log') fs.rmSync(path.join(SHOTS, f));
    await ensureEngineAndImage(process.env.SSR_IMAGE ?? 'ssr-sandbox:bookworm').catch((err: Error) => {
      throw new Error(`the e2e test needs Docker and the sandbox image (scripts/start-docker.sh, npm run image:base): ${err.message}`);
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-e2e-'));
    ws = path.join(tmp, 'pyledger');
    fs.cpSync(FIXTURE_REPO, ws, { recursive: true, filter: (p) => !path.relative(FIXTURE_REPO, p).split(path.sep).includes('.ssr') });
    const t0 = Date.now();
    const entry = ensureCodeServer();
    const t1 = Date.now();
    const vsix = buildVsix();
    const t2 = Date.now();
    console.log(`      code-server ready in ${Math.round((t1 - t0) / 1000)} s; ${path.basename(vsix)} (${(fs.statSync(vsix).size / 1048576).toFixed(1)} MiB) built in ${Math.round((t2 - t1) / 1000)} s`);
    server = await startCodeServer({ entry, vsix, workspace: ws, tmp, label });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1500, height: 940 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    wb = new Workbench(page, SHOTS);
    await page.goto(server.url);
    await wb.waitReady();
  });

  after(async function () {
    if (page) await wb.screenshot('99-final').catch(() => undefined);
    await browser?.close().catch(() => undefined);
    if (server) {
      const logs = outputLogs(server.userDataDir, 'SSR');
      fs.writeFileSync(path.join(SHOTS, 'ssr-output.log'), logs);
      fs.copyFileSync(server.logFile, path.join(SHOTS, 'code-server.log'));
      await server.stop();
      if (logs.includes('sk-e2e-secret-key')) throw new Error('the API key was written to the SSR log');
    }
    if (Object.keys(bench).length) fs.writeFileSync(path.join(SHOTS, 'bench.json'), JSON.stringify(bench, null, 2) + '\n');
    if (tmp && !process.env.SSR_E2E_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('activates and shows the SSR views with their welcome content', async () => {
    await wb.openSsr();
    await wb.widenSidebar(220);
    await poll('the "No bugs yet" welcome content in the Bugs view', async () => (await wb.pane('Bugs').locator('.welcome-view-content').innerText()).includes('No bugs yet'), 90_000, async () =>
      wb.pane('Bugs').innerText(),
    );
    await wb.screenshot('01-welcome');
  });

  it('lists every SSR command in the command palette', async () => {
    const missing: string[] = [];
    for (const title of PALETTE) {
      const items = await wb.paletteItems(`SSR: ${title}`);
      if (!items.some((i) => i.includes(`SSR: ${title}`))) missing.push(`${title} (palette showed: ${items.slice(0, 5).join(' | ')})`);
    }
    assert.deepEqual(missing, [], `commands missing from the palette: ${missing.join('; ')}`);
    await wb.openPalette();
    await page.keyboard.type('SSR: ', { delay: 5 });
    await page.waitForTimeout(500);
    await wb.screenshot('02-palette');
    await page.keyboard.press('Escape');
  });

  it('SSR: Inject Bug proposes and validates a bug with the bootstrap proposer', async () => {
    // The progress notification says what the CLI's stage line says (core/progress.ts): watched while the job runs.
    const seen: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        for (const n of await wb.notifications().catch(() => [] as string[])) if (/round 1\/1: /.test(n) && !seen.includes(n)) seen.push(n);
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await wb.runCommand('SSR: Inject Bug');
    await page.waitForTimeout(4000);
    await wb.screenshot('03-inject-progress');
    try {
      await poll('the notification to count validation runs', async () => seen.some((n) => /validating r000-\S+: .*\| runs \d+\/\d+ \| (\d+m)?\d+s/.test(n)), 600_000, async () => seen.join(' | '));
      await wb.screenshot('03b-inject-validating');
    } finally {
      watching = false;
      await watcher;
    }
    const row = await wb.row('Bugs', 'bug r000-', 600_000);
    const aria = (await row.getAttribute('aria-label')) ?? '';
    assert.match(aria, /, valid/, `the injected bug should be valid (short status first): ${aria}`);
    assert.ok(seen.some((n) => /round 1\/1: proposing/.test(n)), `the notification said the round was proposing: ${seen.join(' | ')}`);
  });

  it('shows the bug with its five files and seven verdicts', async () => {
    // Room for the bug's 13 rows.
    await wb.collapsePane('Sessions');
    await wb.collapsePane('Trajectories');
    const bug = await wb.row('Bugs', 'bug r000-');
    await wb.expand(bug);
    for (const f of ARTIFACT_FILES) await wb.row('Bugs', `artifact file ${f}`, 30_000);
    const checks = await wb.row('Bugs', 'Checks, all 7 pass', 30_000);
    await wb.expand(checks);
    for (const id of CHECK_IDS) await wb.row('Bugs', `check ${id}: pass`, 30_000);
    await wb.screenshot('04-bug-tree');
  });

  it('opens bug_inject.diff in the diff editor over the read-only workspace original', async () => {
    await (await wb.row('Bugs', 'artifact file bug_inject.diff')).click();
    await poll('a diff editor', async () => (await page.locator('.monaco-diff-editor, .multiDiffEditor').count()) > 0, 60_000, async () => wb.activeEditorTitle());
    await page.waitForTimeout(1500);
    const title = await wb.activeEditorTitle();
    assert.match(title, /bug_inject|original/, `the diff editor's tab: ${title}`);
    await wb.screenshot('05-diff-editor');
    // Nothing but .ssr/ was written in the workspace.
    assert.deepEqual(listFiles(ws, ['.ssr']), listFiles(FIXTURE_REPO), 'the workspace changed outside .ssr/');
    for (const f of listFiles(FIXTURE_REPO)) assert.equal(fs.readFileSync(path.join(ws, f), 'utf8'), fs.readFileSync(path.join(FIXTURE_REPO, f), 'utf8'), `${f} changed`);
  });

  it('opens test_script.sh read-only', async () => {
    await (await wb.row('Bugs', 'artifact file test_script.sh')).click();
    await poll('test_script.sh in an editor', async () => (await wb.activeEditorTitle()).includes('test_script.sh'), 30_000, async () => wb.activeEditorTitle());
    await page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await page.keyboard.type('zzz');
    await page.waitForTimeout(500);
    const text = await page.locator('.editor-instance .monaco-editor .view-lines').first().innerText();
    assert.ok(!text.includes('zzz'), 'the artifact file took typing: it should be read-only');
  });

  it('shows run directories written by others, and a corrupt one as unreadable', async () => {
    const runs = path.join(ws, '.ssr', 'runs');
    writeRecordedRun(runs, ws);
    writeBenchRun(runs, ws, BENCH_BUGS, BENCH_STEPS);
    writeCorruptRun(runs);
    await wb.expandPane('Sessions');
    // The file watcher picks them up; SSR: Refresh if it is slow on this machine.
    try {
      await wb.row('Sessions', `session ${RECORDED_RUN}`, 30_000);
    } catch {
      console.log('      (the runs written by hand did not show up within 30 s: SSR: Refresh)');
      await wb.runCommand('SSR: Refresh');
    }
    await wb.row('Sessions', `session ${RECORDED_RUN}`);
    await wb.row('Sessions', `session ${BENCH_RUN}`);
    const corrupt = await wb.row('Sessions', `session ${CORRUPT_RUN}`);
    assert.match((await corrupt.getAttribute('aria-label')) ?? '', /unreadable/);
    await wb.screenshot('06-sessions');
  });

  let stepper: Frame;
  let stoppedRun: string | undefined;
  const position = async () => (await stepper.locator('#position').innerText()).trim();

  it('opens a recorded trajectory in the stepper and steps through it with the keyboard', async () => {
    await (await wb.row('Sessions', `session ${RECORDED_RUN}`)).click();
    await wb.collapsePane('Bugs');
    await wb.expandPane('Trajectories');
    const bug = await wb.row('Trajectories', `trajectories of ${RECORDED_BUG}`);
    await wb.expand(bug);
    await (await wb.row('Trajectories', `attempt 1 of ${RECORDED_BUG}`)).click();
    stepper = await wb.stepperFrame(60_000, 'e2e-recorded-s0');
    assert.equal(await stepper.locator('#steps li').count(), 6, 'the recorded trajectory has 6 steps');
    await stepper.locator('#steps li').first().click();
    const expectPos = async (want: string) => poll(`the stepper at "${want}"`, async () => (await position()) === want, 10_000, position);
    await expectPos('Step 1 of 6');
    await page.keyboard.press('End');
    await expectPos('Step 6 of 6');
    await page.keyboard.press('Home');
    await expectPos('Step 1 of 6');
    await page.keyboard.press('ArrowDown');
    await expectPos('Step 2 of 6');
    await page.keyboard.press('j');
    await expectPos('Step 3 of 6');
    await page.keyboard.press('k');
    await expectPos('Step 2 of 6');
    await page.keyboard.press('ArrowUp');
    await expectPos('Step 1 of 6');
    await stepper.locator('#next').click();
    await expectPos('Step 2 of 6');
    const out = await stepper.locator('.part.output pre').innerText();
    assert.ok(out.length > 0, 'the step shows its output');
    await wb.screenshot('07-stepper');
  });

  it('jumps from a step to the diff it made', async () => {
    await stepper.locator('#steps li').nth(2).click();
    await poll('step 3 selected', async () => (await position()) === 'Step 3 of 6', 10_000, position);
    await stepper.locator('#show-diff').click();
    await poll('the diff editor of step 3', async () => /step 3/.test(await wb.activeEditorTitle()), 60_000, async () => wb.activeEditorTitle());
    await page.waitForTimeout(1000);
    await wb.screenshot('08-step-diff');
  });

  it('finds text across steps and highlights it', async () => {
    await (await wb.row('Trajectories', `attempt 1 of ${RECORDED_BUG}`)).click();
    stepper = await wb.stepperFrame(60_000, 'e2e-recorded-s0');
    await stepper.locator('#search').fill('trial_balance');
    await poll('the find to filter the steps', async () => /of 6 steps match/.test(await stepper.locator('#matches').innerText()), 10_000, async () => stepper.locator('#matches').innerText());
    const n = await stepper.locator('#steps li').count();
    assert.ok(n > 0 && n < 6, `find should keep some steps (kept ${n})`);
    assert.ok((await stepper.locator('#detail mark').count()) > 0, 'matches are highlighted');
    await wb.screenshot('09-find');
    await stepper.locator('#search').fill('');
  });

  it('renders model and tool text as text (an HTML and script payload)', async () => {
    await (await wb.row('Trajectories', `attempt 2 of ${RECORDED_BUG}`)).click();
    stepper = await wb.stepperFrame(60_000, `${RECORDED_BUG}-s1`);
    await poll('the payload trajectory', async () => (await stepper.locator('#steps li').count()) === 3, 20_000);
    const detail = await stepper.locator('#detail').innerText();
    assert.ok(detail.includes(PAYLOAD), `the payload should appear as text; the detail shows: ${detail.slice(0, 300)}`);
    assert.equal(await stepper.locator('#detail img, #detail script, #detail a, #detail b, #header img').count(), 0, 'no element was made from the payload');
    assert.equal(await stepper.locator('img').count(), 0, 'no <img> anywhere in the stepper');
    const scripts = await stepper.locator('script').evaluateAll((els) => els.map((e) => `${e.getAttribute("src") ?? ""} ${e.textContent ?? ''}`));
    assert.ok(!scripts.some((s) => s.includes('alert(')), `a script came from the payload: ${scripts.join(' | ').slice(0, 300)}`);
    assert.ok((await stepper.locator('#title').innerText()).length > 0);
    assert.deepEqual(dialogs, [], `the payload ran: dialogs ${dialogs.join(', ')}`);
    await wb.screenshot('10-payload-as-text');
  });

  it('restores the stepper after a reload (serializer and state)', async () => {
    await stepper.locator('#steps li').nth(1).click();
    await poll('step 2 selected', async () => (await position()) === 'Step 2 of 3', 10_000, position);
    await page.waitForTimeout(1000);
    // A reload the way people do it (the workbench saves its editors and the webviews' state first).
    await wb.runCommand('Developer: Reload Window');
    await page.waitForTimeout(3000);
    await wb.waitReady();
    await page.waitForTimeout(3000);
    await wb.screenshot('11-after-reload');
    stepper = await wb.stepperFrame(120_000, `${RECORDED_BUG}-s1`);
    await poll('the restored stepper at step 2', async () => (await position()) === 'Step 2 of 3', 30_000, position);
    await wb.screenshot('11-stepper-restored');
  });

  it('SSR: Solve Bug runs a solver episode with live steps (replay policy) and stores the attempt', async () => {
    // SSR: Configure Policy -> Replay a trajectory -> the file dialog (code-server's own, a quick input).
    await wb.clearNotifications();
    await wb.runCommand('SSR: Configure Policy');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Replay a trajectory' }).first().click({ timeout: 30_000 });
    const input = page.locator('.quick-input-widget input');
    await poll('the file dialog', async () => (await input.isVisible()) && (await input.inputValue()).startsWith('/'), 30_000);
    await input.fill(path.join(ROOT, 'test/fixtures/trajectories/solve-fix.json'));
    await page.waitForTimeout(500);
    await page.keyboard.press('Enter');
    await poll('the policy to be set', async () => (await wb.notifications()).some((n) => n.includes('policy set to replay solve-fix.json')), 30_000, async () => (await wb.notifications()).join(' | '));
    await wb.openSsr();
    await (await wb.row('Sessions', `session ${RECORDED_RUN}`)).click();
    // The settings file is applied within a few seconds: until then Solve Bug says no model is configured.
    const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: RECORDED_BUG }).first();
    await poll(
      'the Solve Bug quick pick listing the recorded bug',
      async () => {
        await wb.runCommand('SSR: Solve Bug');
        try {
          await pick.waitFor({ state: 'visible', timeout: 5_000 });
          return true;
        } catch {
          await page.keyboard.press('Escape');
          return false;
        }
      },
      90_000,
      async () => (await wb.notifications()).join(' | '),
    );
    await page.keyboard.press('Enter');
    stepper = await wb.stepperFrame(300_000, `${RECORDED_BUG}-s2`);
    await wb.screenshot('12-solve-live');
    await poll(
      'the live episode to finish (submitted, reward +1.00)',
      async () => {
        const f = await wb.stepperFrame(10_000, `${RECORDED_BUG}-s2`);
        const badges = await f.locator('#badges').innerText();
        return /submitted/.test(badges) && /reward \+1\.00/.test(badges) && (await f.locator('#steps li').count()) === 6;
      },
      300_000,
      async () => (await wb.stepperFrame(10_000, `${RECORDED_BUG}-s2`)).locator('#badges').innerText(),
    );
    await wb.expandPane('Trajectories');
    await wb.expand(await wb.row('Trajectories', `trajectories of ${RECORDED_BUG}, 2/3 solved`, 60_000));
    const attempt = await wb.row('Trajectories', `attempt 3 of ${RECORDED_BUG}`, 60_000);
    assert.match((await attempt.getAttribute('aria-label')) ?? '', /solved · r_solve \+1\.00/);
    const evaluation = JSON.parse(fs.readFileSync(path.join(ws, '.ssr/runs', RECORDED_RUN, 'bugs', RECORDED_BUG, 'attempts/2/evaluation.json'), 'utf8'));
    assert.equal(evaluation.solved, true);
    await wb.screenshot('13-solve-done');
  });

  it('SSR: Train Policy trains the policy on the run (Python trainer, tiny model) and reports progress', async function () {
    const tiny = path.join(tmp, 'tiny-model');
    const { spawnSync } = await import('node:child_process');
    const made = spawnSync('bash', [path.join(ROOT, 'scripts/make-tiny-model.sh'), tiny], { encoding: 'utf8', timeout: 300_000 });
    if (made.status !== 0) {
      console.log(`      (no tiny model: ${(made.stderr || made.stdout).trim().split('\n').pop()}; Train Policy not tested)`);
      this.skip();
    }
    await wb.clearNotifications();
    await (await wb.row('Sessions', `session ${RECORDED_RUN}`)).click();
    await wb.runCommand('SSR: Train Policy');
    const input = page.locator('.quick-input-widget input');
    await poll('the model folder dialog', async () => (await input.isVisible()) && (await input.inputValue()).startsWith('/'), 30_000);
    await input.fill(tiny);
    await page.waitForTimeout(500);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(1500);
    // The folder dialog may have opened the folder rather than chosen it: choose it.
    if (await input.isVisible()) await page.keyboard.press('Enter');
    const done = page.locator('.notification-toast', { hasText: 'training finished' }).first();
    await done.waitFor({ state: 'visible', timeout: 300_000 });
    const text = await done.innerText();
    assert.match(text, /training finished \(\d+ steps?\)/);
    assert.ok(text.includes('Use as ONNX Policy'), `the ONNX model is offered: ${text}`);
    // One output folder (train/<time>/), next to the per-update metrics line (train/updates.jsonl).
    const trainDir = path.join(ws, '.ssr/runs', RECORDED_RUN, 'train');
    const trained = fs.readdirSync(trainDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    assert.equal(trained.length, 1);
    // The dashboard's learning curve reads that real update.
    const report = await loadRunReport(path.join(ws, '.ssr/runs', RECORDED_RUN));
    assert.ok(report.training.length >= 1, 'a learning-curve point from the real training');
    assert.equal(report.training[0].source, path.join('train', 'updates.jsonl'));
    assert.ok(report.training[0].loss !== undefined, `the update's loss: ${JSON.stringify(report.training[0])}`);
    assert.ok(fs.existsSync(path.join(ws, '.ssr/runs', RECORDED_RUN, 'train', trained[0], 'model', 'config.json')));
    await page.waitForTimeout(800);
    await wb.screenshot('14-train-policy');
  });

  it('says what to do when the model server is not reachable (Configure Policy, Open Settings, Show Log)', async () => {
    await wb.clearNotifications();
    await wb.runCommand('SSR: Configure Policy');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'OpenAI-compatible server' }).first().click({ timeout: 30_000 });
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    const closed = await freePort(); // nothing listens there
    await input.fill(`http://127.0.0.1:${closed}/v1`);
    await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
    await input.fill('qwen2.5-coder');
    await page.keyboard.press('Enter');
    await page.waitForTimeout(500);
    await input.fill('sk-e2e-secret-key');
    await page.keyboard.press('Enter');
    await poll('the warning that the server does not answer', async () => (await wb.notifications()).some((n) => /policy saved, but .* not reachable/.test(n)), 30_000, async () => (await wb.notifications()).join(' | '));
    await wb.clearNotifications();
    await wb.runCommand('SSR: Solve Bug');
    const toast = page.locator('.notification-toast', { hasText: 'the model could not be used' }).first();
    await toast.waitFor({ state: 'visible', timeout: 60_000 });
    const text = await toast.innerText();
    assert.match(text, new RegExp(`127\\.0\\.0\\.1:${closed}/v1/models is not reachable \\(ECONNREFUSED\\)`));
    for (const b of ['Configure Policy', 'Open Settings', 'Show Log']) assert.ok(text.includes(b), `the error offers ${b}: ${text}`);
    assert.ok(!text.includes('sk-e2e-secret-key'));
    await page.waitForTimeout(1000);
    await wb.screenshot('15-model-unreachable');
  });

  it('stops a running self-play session cleanly (SSR: Stop Session), leaving no sandbox behind', async () => {
    await wb.clearNotifications();
    await wb.runCommand('SSR: Configure Policy');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'No model' }).first().click({ timeout: 30_000 });
    await poll('the policy to be reset', async () => (await wb.notifications()).some((n) => n.includes('no model')), 30_000, async () => (await wb.notifications()).join(' | '));
    await wb.runCommand('SSR: Start Self-play Session');
    // It asks how many rounds, with the setting as the default.
    const rounds = page.locator('.quick-input-widget input');
    await poll('the rounds question', async () => (await rounds.isVisible()) && (await rounds.inputValue()) === '4', 60_000);
    await page.keyboard.press('Enter');
    await wb.expandPane('Sessions');
    const running = await wb.row('Sessions', 'running', 120_000);
    const id = /session (\S+),/.exec((await running.getAttribute('aria-label')) ?? '')?.[1];
    assert.ok(id, 'the new run shows in the Sessions view');
    stoppedRun = id;
    await poll('a sandbox of the session', async () => (await countContainers(label)) > 0, 60_000).catch(() => undefined);
    await wb.screenshot('16-session-running');
    await wb.runCommand('SSR: Stop Session');
    await wb.row('Sessions', `session ${id}, stopped`, 120_000);
    await poll('the sandboxes to be removed', async () => (await countContainers(label)) === 0, 60_000, async () => `${await countContainers(label)} left`);
    const s = JSON.parse(fs.readFileSync(path.join(ws, '.ssr/runs', id!, 'session.json'), 'utf8'));
    assert.equal(s.status, 'cancelled');
    await wb.screenshot('17-session-stopped');
  });

  it('resumes the stopped session to its end (SSR: Resume Session)', async () => {
    assert.ok(stoppedRun, 'the previous test stopped a session');
    await wb.clearNotifications();
    await wb.runCommand('SSR: Resume Session');
    const pick = page.locator('.quick-input-widget .monaco-list-row', { hasText: stoppedRun }).first();
    await pick.waitFor({ state: 'visible', timeout: 30_000 });
    await pick.click();
    await wb.row('Sessions', `session ${stoppedRun}, running`, 60_000);
    await wb.row('Sessions', `session ${stoppedRun}, finished`, 600_000);
    const s = JSON.parse(fs.readFileSync(path.join(ws, '.ssr/runs', stoppedRun!, 'session.json'), 'utf8'));
    assert.equal(s.status, 'finished');
    assert.equal(s.resumes, 1);
    assert.equal(Object.keys(s.rounds).length, s.config.rounds);
    await poll('the sandboxes to be removed', async () => (await countContainers(label)) === 0, 60_000, async () => `${await countContainers(label)} left`);
    await page.waitForTimeout(800);
    await wb.screenshot('18-session-resumed');
  });

  it(`bench: renders a ${BENCH_BUGS}-bug Bugs tree and opens a ${BENCH_STEPS}-step trajectory`, async () => {
    await wb.openSsr();
    await wb.closeAllEditors();
    await wb.expandPane('Bugs');
    await wb.collapsePane('Trajectories');
    // From a run with bugs shown (switching from an empty view adds VS Code's welcome-view swap).
    await (await wb.row('Sessions', `session ${RECORDED_RUN}`)).click();
    await wb.row('Bugs', `bug ${RECORDED_BUG}`);
    const session = await wb.row('Sessions', `session ${BENCH_RUN}`);
    const t0 = Date.now();
    await session.click();
    // The Bugs view lists every run; clicking a session expands that run's group there.
    await poll(`the Bugs view to show the ${BENCH_BUGS}-bug run's bugs`, async () => (await wb.pane('Bugs').locator('.monaco-list-row[aria-label*="bench0000000"]').count()) > 0, 120_000, async () =>
      (await wb.rowLabels('Bugs')).slice(0, 8).join(' | '),
    );
    bench.bugsTreeMs = Date.now() - t0;
    await wb.screenshot('19-bench-bugs-tree');
    await wb.expandPane('Trajectories');
    const tbug = await wb.row('Trajectories', 'trajectories of r000-bench0000000');
    await wb.expand(tbug);
    const attempt = await wb.row('Trajectories', 'attempt 1 of r000-bench0000000');
    const t1 = Date.now();
    await attempt.click();
    stepper = await poll('the 500-step stepper', async () => {
      const f = await wb.stepperFrame(120_000, 'r000-bench0000000-s0');
      return (await f.locator('#steps li').count()) === BENCH_STEPS ? f : undefined;
    }, 180_000);
    bench.stepperMs = Date.now() - t1;
    bench.stepperRenderMs = Number(await stepper.locator('body').getAttribute('data-render-ms'));
    await stepper.locator('#steps li').first().click();
    await page.keyboard.press('End');
    await poll('the last step', async () => (await position()) === `Step ${BENCH_STEPS} of ${BENCH_STEPS}`, 10_000, position);
    await wb.screenshot('20-bench-stepper');
    const listed = await poll(
      'the Bugs view timing in the SSR log',
      async () => new RegExp(`Bugs view: ${BENCH_BUGS} bug\\(s\\) of ${BENCH_RUN} listed in (\\d+) ms`).exec(outputLogs(server!.userDataDir, 'SSR'))?.[1],
      10_000,
    ).catch(() => undefined);
    if (listed) bench.bugsTreeListMs = Number(listed);
    console.log(
      `      bench: stepper ${BENCH_STEPS} steps: ${bench.stepperMs} ms (page render ${bench.stepperRenderMs} ms); bugs tree ${BENCH_BUGS} bugs: ${bench.bugsTreeMs} ms` +
        (listed ? ` (listing the run ${listed} ms)` : ''),
    );
  });
});

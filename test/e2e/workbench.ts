/**
 * Driving VS Code's workbench in Chromium with playwright-core: the command
 * palette, the SSR views' tree rows, notifications and the stepper webview
 * (a frame inside the page). Waits are generous (a shared 2-core machine)
 * and failures say what was being waited for and what was there instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = process.env.SSR_E2E_CHROMIUM ?? '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`Chromium is not at ${CHROMIUM}: apt-get install -y chromium (scripts/install-code-server.sh does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
}

export async function poll<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, describe?: () => Promise<string>): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > timeoutMs) {
      const state = describe ? await describe().catch(() => '') : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${last ? ` (last error: ${(last as Error).message.split('\n')[0]})` : ''}${state ? `\n  what was there: ${state}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export class Workbench {
  constructor(
    readonly page: Page,
    private readonly shots: string,
  ) {}

  async screenshot(name: string): Promise<string> {
    fs.mkdirSync(this.shots, { recursive: true });
    const file = path.join(this.shots, `${name}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async waitReady(): Promise<void> {
    await this.page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    await this.page.waitForSelector('.activitybar', { timeout: 60_000 });
  }

  /** Runs a command from the palette by its title. */
  async runCommand(title: string): Promise<void> {
    await this.openPalette();
    await this.page.keyboard.type(title, { delay: 5 });
    const row = this.page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 }).catch(() => undefined);
  }

  async openPalette(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('Control+Shift+P');
      try {
        await this.page.locator('.quick-input-widget input').waitFor({ state: 'visible', timeout: 5_000 });
        const v = await this.page.locator('.quick-input-widget input').inputValue();
        if (!v.startsWith('>')) await this.page.keyboard.type('>');
        return;
      } catch {
        await this.page.keyboard.press('F1');
        if (await this.page.locator('.quick-input-widget input').isVisible()) return;
      }
    }
    throw new Error('the command palette did not open (Control+Shift+P, F1)');
  }

  /** The palette rows for a query (titles as shown). */
  async paletteItems(query: string): Promise<string[]> {
    await this.openPalette();
    await this.page.keyboard.type(query, { delay: 5 });
    await this.page.waitForTimeout(400);
    const labels = await this.page.locator('.quick-input-widget .monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? r.textContent ?? ''));
    await this.page.keyboard.press('Escape');
    return labels;
  }

  /** Opens the SSR container in the activity bar. */
  async openSsr(): Promise<void> {
    const item = this.page.locator('.activitybar .action-item a[aria-label="SSR"], .activitybar .action-label[aria-label="SSR"]').first();
    await item.waitFor({ state: 'visible', timeout: 60_000 });
    const checked = await this.page.locator('.activitybar .action-item.checked a[aria-label="SSR"], .activitybar .action-item.checked .action-label[aria-label="SSR"]').count();
    if (!checked) await item.click();
    await this.pane('Bugs').waitFor({ state: 'visible', timeout: 30_000 });
  }

  pane(title: string): Locator {
    return this.page.locator('.pane').filter({ has: this.page.locator('.pane-header h3.title', { hasText: new RegExp(`^${title}$`, 'i') }) });
  }

  /** The aria-labels of a view's rendered rows. */
  async rowLabels(view: string): Promise<string[]> {
    return this.pane(view).locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label') ?? ''));
  }

  /** A row whose aria-label contains `text`, waited for. */
  async row(view: string, text: string, timeoutMs = 60_000): Promise<Locator> {
    const loc = this.pane(view).locator(`.monaco-list-row[aria-label*=${JSON.stringify(text)}]`).first();
    let misses = 0;
    await poll(
      `a row "${text}" in the ${view} view`,
      async () => {
        if ((await loc.count()) > 0 && (await loc.isVisible())) return true;
        // Tree rows are virtualized: scroll down a little every few misses.
        if (++misses % 4 === 0) {
          const body = this.pane(view).locator('.pane-body').first();
          const box = await body.boundingBox();
          if (box) {
            await this.page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 40));
            await this.page.mouse.wheel(0, 120);
          }
        }
        return false;
      },
      timeoutMs,
      async () => (await this.rowLabels(view)).join(' | '),
    );
    await loc.scrollIntoViewIfNeeded().catch(() => undefined);
    return loc;
  }

  async expand(row: Locator): Promise<void> {
    if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
    await poll('the row to expand', async () => (await row.getAttribute('aria-expanded')) === 'true', 15_000);
  }

  /** Makes sure a view pane is expanded (panes can be collapsed by their header). */
  async expandPane(title: string): Promise<void> {
    const header = this.pane(title).locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
  }

  async collapsePane(title: string): Promise<void> {
    const header = this.pane(title).locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  }

  /** Drags the side bar's edge so that tree descriptions fit (screenshots are for people). */
  async widenSidebar(px: number): Promise<void> {
    const box = await this.page.locator('.part.sidebar').first().boundingBox();
    if (!box) return;
    const x = box.x + box.width - 1;
    const y = box.y + box.height / 2;
    await this.page.mouse.move(x, y);
    await this.page.mouse.down();
    await this.page.mouse.move(x + px / 2, y, { steps: 4 });
    await this.page.mouse.move(x + px, y, { steps: 4 });
    await this.page.mouse.up();
  }

  /** Visible notification messages. */
  async notifications(): Promise<string[]> {
    return this.page.locator('.notifications-toasts .notification-list-item-message, .notification-list-item-message').allInnerTexts();
  }

  async clearNotifications(): Promise<void> {
    await this.runCommand('Notifications: Clear All Notifications').catch(() => undefined);
  }

  /** The frame that holds the stepper page (VS Code nests webviews in two iframes). */
  async stepperFrame(timeoutMs = 60_000, title?: string): Promise<Frame> {
    return poll(
      `the trajectory stepper webview${title ? ` showing ${title}` : ''}`,
      async () => {
        for (const f of this.page.frames()) {
          if (f === this.page.mainFrame()) continue;
          try {
            if (!(await f.$('#steps')) || !(await f.$('body[data-loaded="true"]'))) continue;
            if (title && !((await f.locator('#title').innerText()) ?? '').includes(title)) continue;
            if (!(await f.locator('#steps').isVisible())) continue;
            return f;
          } catch {
            /* detached */
          }
        }
        return undefined;
      },
      timeoutMs,
      async () => `${this.page.frames().length} frames: ${this.page.frames().map((f) => f.url().slice(0, 80)).join(', ')}`,
    );
  }

  async activeEditorTitle(): Promise<string> {
    return (await this.page.locator('.tabs-container .tab.active').first().getAttribute('aria-label').catch(() => '')) ?? '';
  }

  async closeAllEditors(): Promise<void> {
    await this.runCommand('View: Close All Editors').catch(() => undefined);
  }
}

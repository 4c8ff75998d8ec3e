/**
 * The commands that show a run rather than change it: the session
 * dashboard, a bug's test matrix, its lineage (reveal a parent or child in
 * the Bugs view), its attempts side by side in the diff editor, a check's
 * full detail, and the self-contained HTML report. Data comes from core
 * (src/core/report/); the commands (src/extension/insights/) only wire it
 * to VS Code, and this file registers them.
 */
import * as vscode from 'vscode';
import { compareAttempts } from './insights/compareAttempts';
import { exportReport, openCheckDetail } from './insights/documents';
import type { InsightEnv } from './insights/env';
import { openDashboard, openTestMatrix, revealBug } from './insights/panels';

export type { InsightEnv } from './insights/env';

export const INSIGHT_COMMANDS = {
  'ssr.openDashboard': 'Open Dashboard',
  'ssr.openTestMatrix': 'Open Test Matrix',
  'ssr.compareAttempts': 'Compare Attempts',
  'ssr.exportReport': 'Export HTML Report',
  'ssr.revealBug': 'Reveal Bug',
  'ssr.openCheckDetail': 'Open Check Detail',
} as const;

type InsightId = keyof typeof INSIGHT_COMMANDS;

/** Each command's body, made for the extension's services. */
const COMMANDS: Record<InsightId, (env: InsightEnv) => (...a: unknown[]) => unknown> = {
  'ssr.openDashboard': openDashboard,
  'ssr.openTestMatrix': openTestMatrix,
  'ssr.compareAttempts': compareAttempts,
  'ssr.exportReport': exportReport,
  'ssr.revealBug': revealBug,
  'ssr.openCheckDetail': openCheckDetail,
};

/** Registers the insight commands; an error is reported under the command's title. */
export function registerInsights(env: InsightEnv): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, make]) => {
    const fn = make(env);
    return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        await env.report(err, INSIGHT_COMMANDS[id as InsightId]);
      }
    });
  });
}

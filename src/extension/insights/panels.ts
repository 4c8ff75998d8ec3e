/**
 * Open Dashboard, Open Test Matrix and Reveal Bug: the session dashboard and
 * a bug's test matrix as webview panels (src/extension/dashboard/), and a
 * bug of the lineage revealed in the Bugs view.
 */
import { wallNow } from '../dashboard/dashboardPanel';
import { bugArg, pickRun, runArg, type InsightEnv } from './env';

// `command`: when the person's choice was made (the command ran, or the pick closed), for the first-render timeline.
export const openDashboard = (env: InsightEnv) => async (arg?: unknown) => {
  let command = wallNow();
  let dir = runArg(arg);
  if (!dir) {
    dir = (await pickRun(env, 'The run whose dashboard to open'))?.dir;
    command = wallNow();
  }
  if (dir) env.panels.openDashboard(dir, { command });
};

export const openTestMatrix = (env: InsightEnv) => async (arg?: unknown, second?: unknown) => {
  let command = wallNow();
  let b = bugArg(arg, second);
  if (!b) {
    b = await env.bugs.pickBug('The bug whose test matrix to open');
    command = wallNow();
  }
  if (b) env.panels.openMatrix(b.runDir, b.bugId, { command });
};

export const revealBug = (env: InsightEnv) => async (arg?: unknown, second?: unknown) => {
  const b = bugArg(arg, second);
  if (b) await env.bugs.revealBug(b.runDir, b.bugId);
};

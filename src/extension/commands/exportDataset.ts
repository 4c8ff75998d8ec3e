/**
 * "SSR: Export Dataset": a run's valid bugs as SWE-bench instances in
 * `<run>/export/swebench.jsonl` (core's writeSwebench, as `ssr export`).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { writeSwebench } from '../../core/report/export';
import { requireWorkspace } from '../state';
import type { CommandEnv, SsrCommand } from './context';
import { pickRun } from './pick';
import { reveal } from './views';

async function exportDataset(env: CommandEnv, arg: unknown): Promise<void> {
  requireWorkspace();
  const run = await pickRun(env, arg ?? env.model.activeRunDir, 'The run to export', (r) => Boolean(r.session));
  if (!run) return;
  const repo = env.model.repoOf(run)!;
  const out = path.join(run.dir, 'export', 'swebench.jsonl');
  const n = await env.jobs.run(`Export ${run.id}`, 'export', async (ctl) => {
    ctl.attachRun(run.dir);
    ctl.report('computing the fixes and test patches');
    return writeSwebench(run.dir, out, repo);
  });
  env.log.info(`exported ${n} instance(s) to ${out}`);
  const b = await vscode.window.showInformationMessage(
    `SSR: exported ${n} valid bug(s) as SWE-bench instances to ${path.relative(env.model.repoDir ?? '', out)}. The trainer's own input is the run's trajectories.jsonl.`,
    'Open',
    'Reveal',
  );
  if (b === 'Open') await env.docs.openReadOnly(out, `${run.id}/swebench.jsonl`);
  if (b === 'Reveal') await reveal({ revealPath: out });
}

export const exportDatasetCommand: SsrCommand = { id: 'ssr.exportDataset', title: 'Export Dataset', run: (env, a) => exportDataset(env, a) };

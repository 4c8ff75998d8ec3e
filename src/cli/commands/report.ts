/**
 * `ssr report --run DIR --out FILE.html`: one self-contained HTML file with
 * the session dashboard's charts and tables, each bug's lineage, attempts and
 * test matrix (src/core/report/). It loads nothing from the network; send it
 * around or attach it to a pull request.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../../core/report/html';
import type { TamperedAttempt } from '../../core/report/tampered';
import { EXIT_OK, action, fail, printJson } from '../util';

export function register(program: Command): void {
  program
    .command('report')
    .description('write a run as one self-contained HTML file: charts, tables, lineage, test matrices (no network)')
    .requiredOption('--run <dir>', 'the run directory (<repo>/.ssr/runs/<id>)')
    .option('--out <file>', 'the HTML file to write (default <run>/report.html)')
    .option('--json', 'print what was written as JSON')
    .action(
      action(async (o: { run: string; out?: string; json?: boolean }) => {
        const run = path.resolve(o.run);
        if (!fs.existsSync(path.join(run, 'session.json'))) fail(`--run ${o.run}: not a run directory (no session.json); \`ssr runs --repo DIR\` lists the runs of a repository`);
        const out = path.resolve(o.out ?? path.join(run, 'report.html'));
        const t0 = Date.now();
        const { bytes, model } = await writeReport(run, out);
        const ms = Date.now() - t0;
        if (o.json) {
          printJson({ out, bytes, ms, run: model.data.run, bugs: model.data.bugs.length, matrices: Object.keys(model.matrices).length, trainingUpdates: model.data.training.length, tampered: model.data.tampered });
        } else {
          const d = model.data;
          process.stdout.write(
            `Report of ${d.run.name} (${d.run.id}): ${d.bugs.length} bug(s), ${Object.keys(model.matrices).length} test matrix(es)` +
              `${d.training.length ? `, ${d.training.length} training update(s)` : ''}\n` +
              `  ${out}  (${Math.round(bytes / 1024)} KiB, one file, no network; written in ${ms} ms)\n`,
          );
          process.stdout.write(tamperedLines(d.tampered).join(''));
        }
        return EXIT_OK;
      }),
    );
}

/** The tampered attempts, one line each with the evidence (nothing when there is none). */
export function tamperedLines(list: TamperedAttempt[]): string[] {
  if (!list.length) return [];
  const head = `  ${list.length} tampered attempt(s) (rewarded -1, never solved):\n`;
  return [head, ...list.map((t) => `    ${t.bugId} attempt ${t.attempt + 1} (${t.policyVersion}): ${t.reason}; ${t.evidence.join('; ')}\n`)];
}

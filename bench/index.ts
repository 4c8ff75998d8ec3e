/**
 * `npm run bench`: every benchmark, measured side by side in one run,
 * printed as medians and ratios. Needs the Docker engine and the image.
 * `npm run bench -- core` runs one section.
 */
import { benchCore } from './core';
import { benchSelfplay } from './selfplay';
import { benchAgent } from './agent';
import { benchPolicy } from './policy';
import { benchMemory } from './memory';
import { benchRealSize } from './realsize';
import { benchCanaries } from './canaries';
import { benchReporter } from './reporter';
import { benchJudgeLayers } from './judgeLayers';

const sections: Record<string, () => Promise<Record<string, unknown>>> = {
  core: () => benchCore(),
  selfplay: () => benchSelfplay(),
  agent: () => benchAgent() as unknown as Promise<Record<string, unknown>>,
  policy: () => benchPolicy(),
  memory: () => benchMemory(),
  realsize: () => benchRealSize(),
  canaries: () => benchCanaries(),
  reporter: () => benchReporter(),
  judge: () => benchJudgeLayers(),
};

async function main(): Promise<void> {
  const only = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const json = process.argv.includes('--json');
  const results: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(sections)) {
    if (only.length && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    const r = await fn();
    results[name] = r;
    if (!json) process.stdout.write(`\n## ${name}\n${r.text}\n`);
  }
  if (json) process.stdout.write(JSON.stringify(results, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack}\n`);
  process.exit(1);
});

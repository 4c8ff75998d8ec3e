/** `ssr train` and `ssr doctor`. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { doctor, train, trainSummary, TrainerError, type TrainEvent, type TrainOptions, type TrainResult } from '../../core/training/trainer';
import { docker, DEFAULT_IMAGE } from '../../core/sandbox/docker';
import { EXIT_CANNOT_RUN, EXIT_OK, ExitCode, Progress, action, color, fail, intOption, numberOption, printJson, requireDir } from '../util';
import type { Opts } from './inject';
import { addOptions, type OptionRow } from '../options';

function bar(step: number, steps: number, width = 24): string {
  const done = Math.round((step / Math.max(1, steps)) * width);
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}]`;
}

function fmt(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? 'n/a' : x.toFixed(digits);
}

/** Default model: the run's own onnx policy folder, when it is a local folder. */
function defaultModel(runDir: string): string | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(path.join(runDir, 'session.json'), 'utf8'));
    const m = s?.config?.policy?.model;
    if (s?.config?.policy?.kind === 'onnx' && typeof m === 'string' && fs.existsSync(path.join(m, 'config.json'))) return m;
  } catch {
    /* no session */
  }
  return undefined;
}

/** `ssr train`'s options, in the order `--help` lists them. */
const TRAIN_OPTIONS: readonly OptionRow[] = [
  ['--model <path>', 'the policy model folder (Hugging Face layout); default: the run\'s onnx policy folder'],
  ['--device <d>', 'cuda | cpu | auto', 'auto'],
  ['--steps <n>', 'optimizer steps'],
  ['--lr <x>', 'learning rate'],
  ['--lora', 'train a LoRA adapter (needs peft) instead of all weights'],
  ['--kl-coef <x>', 'KL penalty to the reference policy'],
  ['--out <dir>', 'output folder (default <run>/train/<time>); an --out with a checkpoint resumes from it'],
  ['--checkpoint-every <k>', 'checkpoint (weights, optimizer state, step, data cursor) every K steps', '50'],
  ['--no-resume', 'start over even when --out holds a checkpoint'],
  ['--max-len <n>', 'tokens per training sequence (default 4096; longer prompts are cut on the left, completions at the end)'],
  ['--from-line <n>', 'data cursor: train only on records after this line of trajectories.jsonl'],
  ['--policy-step <n>', 'the current policy version: records sampled by another version are refused'],
  ['--json', 'print the result as JSON'],
];

/** The trainer's events as a progress bar (a terminal) or lines. */
function trainProgress(o: Opts, progress: Progress): (e: TrainEvent) => void {
  return (e) => {
    if (o.json) return;
    if (e.type === 'step') {
      const line = `${bar(e.step, e.steps)} step ${e.step}/${e.steps}  loss ${fmt(e.loss, 4)}  reward solver ${fmt(e.reward.solver, 2)} injector ${fmt(e.reward.injector, 2)}  kl ${fmt(e.kl, 4)}  clip ${fmt(e.clipFrac, 2)}  ${Math.round(e.tokensPerSec)} tok/s${e.memoryMB !== null ? `  ${Math.round(e.memoryMB)} MiB` : ''}`;
      if (process.stderr.isTTY) progress.update(line);
      else process.stderr.write(line + '\n');
    } else if (e.type === 'log') progress.log(`${e.message}`);
    else if (e.type === 'error') progress.log(color.red(`error: ${e.message}`));
  };
}

/** The trainer's options from the flags. */
function trainOptions(o: Opts, runDir: string, model: string): Omit<TrainOptions, 'signal' | 'onEvent'> {
  return {
    run: runDir,
    model,
    out: path.resolve((o.out as string | undefined) ?? path.join(runDir, 'train', new Date().toISOString().replace(/[:.]/g, '-'))),
    device: o.device as string,
    steps: intOption(o.steps as string | undefined, '--steps', 1),
    lr: numberOption(o.lr as string | undefined, '--lr', 0),
    lora: Boolean(o.lora),
    klCoef: numberOption(o.klCoef as string | undefined, '--kl-coef', 0),
    maxLen: intOption(o.maxLen as string | undefined, '--max-len', 2),
    checkpointEvery: intOption(o.checkpointEvery as string, '--checkpoint-every', 0),
    fromLine: intOption(o.fromLine as string | undefined, '--from-line', 0),
    policyStep: intOption(o.policyStep as string | undefined, '--policy-step', 0),
    extraArgs: o.resume === false ? ['--resume', 'no'] : undefined,
  };
}

function printTrained(r: TrainResult): void {
  const sum = trainSummary(r);
  const role = (k: 'solver' | 'injector') =>
    `${k} ${sum.roles[k].used}/${sum.roles[k].trajectories} used${sum.roles[k].zeroVarianceGroups ? `, ${sum.roles[k].zeroVarianceGroups} zero-variance group(s)` : ''}${sum.roles[k].offPolicy ? `, ${sum.roles[k].offPolicy} off-policy refused` : ''}`;
  process.stdout.write(
    `trained ${r.steps} step(s)${r.zeroVarianceGroups ? ` (${r.zeroVarianceGroups} group(s) without reward variance skipped)` : ''}\n` +
      `  ${role('solver')}; ${role('injector')}\n` +
      `  ${sum.ppoRatio.used ? `PPO ratio on ${sum.ppoRatio.tokens} tokens` : 'on-policy gradient (no PPO ratio)'}${sum.retokenised ? `; ${sum.retokenised} trajectories re-tokenised (no token ids)` : ''}\n` +
      `  model: ${r.modelDir}\n` +
      (r.onnxDir ? `  onnx policy folder: ${r.onnxDir}  (ssr selfplay --policy onnx --model ${r.onnxDir})\n` : '') +
      (r.adapterDir ? `  LoRA adapter: ${r.adapterDir}\n` : '') +
      `  metrics: ${r.metricsFile}\n` +
      (sum.updatesFile ? `  per-update metrics: ${sum.updatesFile}\n` : ''),
  );
}

/** `ssr train`: one training run on a run directory's trajectories. */
async function trainCommand(o: Opts): Promise<number> {
  const runDir = requireDir(o.run as string, '--run');
  const model = (o.model as string | undefined) ?? defaultModel(runDir);
  if (!model) fail('--model is required: a model folder in Hugging Face layout (for a tiny test model: scripts/make-tiny-model.sh DIR)');
  requireDir(model, '--model');
  const options = trainOptions(o, runDir, model);
  const progress = new Progress();
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  try {
    const r = await train({ ...options, signal: ac.signal, onEvent: trainProgress(o, progress) });
    progress.done();
    if (o.json) printJson(trainSummary(r));
    else printTrained(r);
    return EXIT_OK;
  } catch (err) {
    progress.done();
    if (err instanceof TrainerError) {
      process.stderr.write(`ssr train: ${err.message}\n`);
      throw new ExitCode(err.message.includes('cancel') ? 130 : EXIT_CANNOT_RUN);
    }
    throw err;
  }
}

/** What `ssr doctor` finds: the engine and the image, onnxruntime-node, Python and torch. */
async function doctorReport(image: string): Promise<Record<string, unknown>> {
  const report: Record<string, unknown> = {};
  try {
    const v = await docker().version();
    report.docker = { reachable: true, version: v.Version, api: v.ApiVersion, host: process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock' };
    try {
      await docker().getImage(image).inspect();
      report.image = { name: image, present: true };
    } catch {
      report.image = { name: image, present: false, fix: 'npm run image:base' };
    }
  } catch (err) {
    report.docker = { reachable: false, error: (err as Error).message, fix: 'start dockerd (scripts/start-docker.sh) or set DOCKER_HOST' };
  }
  try {
    const ort = await import('onnxruntime-node');
    report.onnxruntime = { backends: ort.listSupportedBackends?.() ?? [], version: ort.env?.versions?.node ?? null };
  } catch (err) {
    report.onnxruntime = { error: (err as Error).message };
  }
  try {
    report.python = await doctor();
  } catch (err) {
    report.python = { error: (err as Error).message, fix: 'apt-get install python3-torch (or pip install torch); set SSR_PYTHON to choose the interpreter' };
  }
  return report;
}

/** The doctor's report, one line a component. */
function doctorLines(report: Record<string, unknown>): string[] {
  const d = report.docker as Record<string, unknown>;
  const img = report.image as Record<string, unknown> | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const py = report.python as Record<string, any>;
  const ort = report.onnxruntime as Record<string, unknown>;
  const ok = (b: unknown) => (b ? color.green('ok ') : color.red('no '));
  return [
    `${ok(d.reachable)} Docker engine   ${d.reachable ? `${d.version} at ${d.host}` : `${d.error} -> ${d.fix}`}`,
    `${ok(img?.present)} sandbox image   ${img ? `${img.name}${img.present ? '' : ` missing -> ${img.fix}`}` : 'unknown (no engine)'}`,
    `${ok(!py.error)} Python          ${py.error ? `${py.error}` : `${py.python?.version} (${py.pythonCommand})`}`,
    `${ok(py.torch?.installed)} torch           ${py.torch?.installed ? py.torch.version : py.torch?.install ?? 'not installed'}`,
    `${ok(py.torch?.cuda?.available)} CUDA            ${py.torch?.cuda?.available ? py.torch.cuda.devices.map((x: { name: string; memoryMB: number }) => `${x.name} (${x.memoryMB} MiB)`).join(', ') : 'not available (training runs on CPU)'}`,
    `${ok(py.transformers?.installed)} transformers    ${py.transformers?.version ?? 'not installed (real models need it; the tiny test model does not)'}`,
    `${ok(py.peft?.installed)} peft            ${py.peft?.version ?? 'not installed (--lora needs it)'}`,
    `${ok(!ort.error)} onnxruntime-node providers: ${JSON.stringify(ort.backends ?? ort.error)}`,
  ];
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train the shared policy on a run\'s trajectories (the bundled PyTorch runtime)')
    .requiredOption('--run <dir>', 'the run directory (its trajectories.jsonl)');
  addOptions(cmd, TRAIN_OPTIONS).action(action(trainCommand));

  program
    .command('doctor')
    .description('report what this machine has: Docker engine, image, Python, torch, CUDA, onnxruntime-node providers')
    .option('--image <image>', 'sandbox image to look for', DEFAULT_IMAGE)
    .option('--json', 'print as JSON')
    .action(
      action(async (o: Opts) => {
        const report = await doctorReport(o.image as string);
        if (o.json) printJson(report);
        else process.stdout.write(doctorLines(report).join('\n') + '\n');
        return EXIT_OK;
      }),
    );
}

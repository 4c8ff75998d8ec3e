/**
 * Driver for the Python RL trainer bundled in runtime/ (ssr_runtime.train).
 *
 * Spawns `python -m ssr_runtime.train` with PYTHONPATH pointing at the
 * runtime folder, turns the JSON lines it prints on stdout into typed events
 * (start, step metrics, log, checkpoint, export, error, done), supports
 * cancellation through an AbortSignal (the whole process group is killed),
 * and resolves with the output folder and the final metrics. A non-zero exit
 * becomes a TrainerError carrying the runtime's last message.
 *
 * Which Python: `opts.python`, else $SSR_PYTHON, else /usr/bin/python3 when
 * it can import torch (Debian's python3-torch lives there), else `python3`.
 *
 * No `vscode` import: used by the CLI and by the extension alike.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { CancelledError, EnvironmentError } from '../base/errors';

export type TrainRole = 'solver' | 'injector';

/** Step metrics: one optimizer step. */
export interface TrainStepEvent {
  type: 'step';
  step: number;
  steps: number;
  /** Total loss of the step (policy-gradient term + KL term). */
  loss: number;
  pgLoss: number;
  /** Mean k3 KL to the reference policy; null when --kl-coef is 0 (not computed). */
  kl: number | null;
  /** Mean k3 KL between the rollout policy and the current one, over tokens with rollout log-probs; null when none. */
  klRollout: number | null;
  /** Fraction of ratio tokens whose PPO ratio was clipped (0 when the update is on-policy). */
  clipFrac: number;
  ratioMean: number;
  /** Mean reward of this step's trajectories per role; null when the step held none of that role. */
  reward: Record<TrainRole, number | null>;
  sequences: number;
  tokens: number;
  lossTokens: number;
  tokensPerSec: number;
  /** Peak GPU memory of the step in MiB; null on CPU. */
  memoryMB: number | null;
  /** Peak resident memory of the process in MiB. */
  rssMB: number | null;
  gradNorm: number | null;
  lr: number;
  stepSec: number;
  elapsedSec: number;
  time: number;
}

export interface TrainStartEvent {
  type: 'start';
  run: string;
  model: string;
  outDir: string;
  device: string;
  dtype: string;
  backend: 'hf' | 'tiny' | string;
  lora: boolean;
  gradientCheckpointing: boolean;
  params: number;
  trainableParams: number;
  records: number;
  groups: number;
  /** Groups whose rewards do not vary: skipped, they carry no signal. */
  zeroVarianceGroups: number;
  groupsByRole: Partial<Record<TrainRole, { groups: number; zeroVarianceGroups: number }>>;
  roles: Record<TrainRole, { trajectories: number; meanReward: number | null }>;
  sequences: number;
  lossTokens: number;
  /** Assistant turns without token ids, re-tokenised from the messages (trained on-policy). */
  retokenisedTurns: number;
  turns: number;
  turnsWithLogprobs: number;
  steps: number;
  lr: number;
  [key: string]: unknown;
}

export interface TrainLogEvent {
  type: 'log';
  level: 'info' | 'warn';
  message: string;
  time?: number;
}

export interface TrainErrorEvent {
  type: 'error';
  /** bad_input | missing_dependency | model_load | device | oom | cancelled | error */
  code: string;
  message: string;
  time?: number;
}

export interface TrainCheckpointEvent {
  type: 'checkpoint';
  step: number;
  path: string;
  time?: number;
}

export interface TrainExportEvent {
  type: 'export';
  kind: 'model' | 'adapter' | 'onnx';
  path: string;
  /** For kind 'onnx': the .onnx file inside `path`. */
  file?: string;
  time?: number;
}

/** Per role in the done event and `ssr train --json`. */
export interface TrainRoleSummary {
  /** Trajectories of the role in the update's window (after --from-line). */
  trajectories: number;
  /** Trajectories whose non-zero advantage reached the loss. */
  used: number;
  /** Groups without reward variance (skipped). */
  zeroVarianceGroups: number;
  /** Groups of one (or without variance) scored against the role's run baseline (the injector). */
  baselineGroups: number;
  /** Trajectories sampled by another policy version (refused unless --off-policy keep). */
  offPolicy: number;
  meanReward: number | null;
}

/** One line of RUN/train/updates.jsonl: the per-update metrics (see runtime/README.md). */
export interface TrainUpdateLine {
  time: number;
  out: string;
  model: string;
  policyStep: number | null;
  fromLine: number;
  cursor: number;
  steps: number;
  resumedFrom: number | null;
  roles: Record<TrainRole, Omit<TrainRoleSummary, 'meanReward'> & { meanReward: number | null }>;
  solveRate: number | null;
  validShare: number | null;
  loss: number | null;
  kl: number | null;
  klRollout: number | null;
  clipFrac: number | null;
  tokensPerSec: number | null;
  ratioTokens: number;
  lossTokens: number;
  retokenised: number;
}

export interface TrainDoneEvent {
  type: 'done';
  outDir: string;
  out: string;
  roles: Record<TrainRole, TrainRoleSummary>;
  /** Trajectories that reached the loss re-tokenised (no token ids: trained on-policy, no PPO ratio). */
  retokenised: number;
  retokenisedSequences: number;
  /** Tokens trained with the PPO ratio (rollout log-probs with their token ids). */
  ppoRatio: { tokens: number; used: boolean };
  update: TrainUpdateLine;
  updatesFile: string | null;
  resumedFrom: number | null;
  steps: number;
  final: TrainStepEvent | null;
  /** OUT/model: full (merged) weights, Hugging Face layout (vLLM, the next update). */
  model: string;
  /** OUT/adapter when LoRA was trained. */
  adapter: string | null;
  /** The folder the `onnx` policy loads (OUT/model with onnx/model.onnx), or null when not exported. */
  onnx: string | null;
  onnxFile: string | null;
  onnxError: string | null;
  checkpoints: string[];
  metrics: string;
  zeroVarianceGroups: number;
  groups: number;
  sequences: number;
  elapsedSec: number;
  time?: number;
}

export type TrainEvent =
  | TrainStartEvent
  | TrainStepEvent
  | TrainLogEvent
  | TrainErrorEvent
  | TrainCheckpointEvent
  | TrainExportEvent
  | TrainDoneEvent;

export interface RuntimeOptions {
  /** Python interpreter; default $SSR_PYTHON, else /usr/bin/python3 when it has torch, else python3. */
  python?: string;
  /** The folder holding ssr_runtime/ (default: the bundled runtime/, found next to this file or dist/). */
  runtimeDir?: string;
  /** Extra environment for the process (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface TrainOptions extends RuntimeOptions {
  /** Run folder holding trajectories.jsonl (or the .jsonl file). */
  run: string;
  /** Policy model folder (Hugging Face layout). */
  model: string;
  /** Output folder. */
  out: string;
  device?: 'cpu' | 'cuda' | 'auto' | string;
  steps?: number;
  lr?: number;
  lora?: boolean;
  klCoef?: number;
  clip?: number;
  batchSize?: number;
  gradAccum?: number;
  maxLen?: number;
  checkpointEvery?: number;
  seed?: number;
  /** onnx/model.onnx in the output model folder: auto (default), yes (failure is an error), no. */
  onnx?: 'auto' | 'yes' | 'no';
  /** Data cursor: train only on records after this line of trajectories.jsonl. */
  fromLine?: number;
  /** The current policy version (updates so far); records of other versions are refused. */
  policyStep?: number;
  /** Start the LoRA adapter from this one (the previous update's adapter). */
  initAdapter?: string;
  /** More flags for ssr_runtime.train, passed as they are (e.g. ['--dtype', 'fp32']). */
  extraArgs?: string[];
  /** Every event, as it arrives. */
  onEvent?: (event: TrainEvent) => void;
  /** Every stderr line of the runtime (library warnings, tracebacks, human-readable logs). */
  onStderr?: (line: string) => void;
}

export interface TrainResult {
  outDir: string;
  /** OUT/model: updated full weights. */
  modelDir: string;
  /** Folder for the `onnx` policy (OUT/model with onnx/model.onnx inside), or null. */
  onnxDir: string | null;
  adapterDir: string | null;
  steps: number;
  /** Metrics of the last step; null when there was nothing to learn (0 steps). */
  final: TrainStepEvent | null;
  start: TrainStartEvent | null;
  checkpoints: string[];
  metricsFile: string;
  zeroVarianceGroups: number;
  warnings: string[];
  done: TrainDoneEvent;
}

/** The runtime exited non-zero (or without a result); `message` is its last word. */
export class TrainerError extends Error {
  constructor(
    message: string,
    /** The runtime's error code: bad_input | missing_dependency | model_load | device | oom | error | ... */
    readonly code: string,
    readonly exitCode: number | null,
    /** The last lines of the runtime's stderr. */
    readonly stderrTail: string,
  ) {
    super(message);
    this.name = 'TrainerError';
  }
}

// ---------------------------------------------------------------------------------------------
// Locating the runtime and Python

const MARKER = path.join('ssr_runtime', 'train.py');

function isRuntimeDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, MARKER));
}

/** Looks for `runtime/ssr_runtime/train.py` next to each start folder and up to five parents up. */
export function findRuntimeDir(starts: string[]): string | null {
  for (const start of starts) {
    let dir = path.resolve(start);
    for (let i = 0; i < 6; i++) {
      const cand = path.basename(dir) === 'runtime' ? dir : path.join(dir, 'runtime');
      if (isRuntimeDir(cand)) return cand;
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return null;
}

/**
 * The folder holding ssr_runtime/: `explicit`, else $SSR_RUNTIME_DIR, else a `runtime/` folder
 * next to this file or one of its parents (src/core/training/trainer.ts under tsx -> ../../runtime;
 * a bundled dist/cli.js or dist/extension.js -> ../runtime), else near the main script.
 */
export function resolveRuntimeDir(explicit?: string): string {
  const given = explicit ?? process.env.SSR_RUNTIME_DIR;
  if (given) {
    const abs = path.resolve(given);
    if (!isRuntimeDir(abs)) throw new EnvironmentError(`runtime folder ${abs} does not hold ${MARKER}`);
    return abs;
  }
  const starts = [__dirname];
  if (process.argv[1]) starts.push(path.dirname(path.resolve(process.argv[1])));
  const found = findRuntimeDir(starts);
  if (found) return found;
  throw new EnvironmentError(
    `cannot find the bundled Python runtime (runtime/${MARKER}) near ${__dirname}; pass runtimeDir or set SSR_RUNTIME_DIR`,
  );
}

const SYSTEM_PYTHON = '/usr/bin/python3';
let pythonPromise: Promise<string> | undefined;

function canImportTorch(python: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(python, ['-c', 'import torch'], { timeout: 60_000 }, (err) => resolve(!err));
  });
}

/** The interpreter to run the runtime with: $SSR_PYTHON, else /usr/bin/python3 if it has torch, else python3. Cached. */
export function resolvePython(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env.SSR_PYTHON) return Promise.resolve(env.SSR_PYTHON);
  pythonPromise ??= (async () => {
    if (fs.existsSync(SYSTEM_PYTHON) && (await canImportTorch(SYSTEM_PYTHON))) return SYSTEM_PYTHON;
    return 'python3';
  })();
  return pythonPromise;
}

function runtimeEnv(runtimeDir: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // The trainer stops by itself when this process dies (it runs in its own process group).
  const base: NodeJS.ProcessEnv = { ...process.env, SSR_TRAIN_PARENT_PID: String(process.pid), ...extra };
  const prev = base.PYTHONPATH;
  return {
    ...base,
    PYTHONPATH: prev ? `${runtimeDir}${path.delimiter}${prev}` : runtimeDir,
    PYTHONUNBUFFERED: '1',
    PYTHONIOENCODING: 'utf-8',
  };
}

// ---------------------------------------------------------------------------------------------
// Training

/** The command-line flags for ssr_runtime.train (paths made absolute). */
export function trainArgs(opts: TrainOptions): string[] {
  const args = ['-m', 'ssr_runtime.train', '--run', path.resolve(opts.run), '--model', path.resolve(opts.model), '--out', path.resolve(opts.out)];
  const num = (flag: string, v: number | undefined) => {
    if (v === undefined) return;
    if (!Number.isFinite(v)) throw new TypeError(`${flag} must be a finite number, got ${v}`);
    args.push(flag, String(v));
  };
  if (opts.device) args.push('--device', opts.device);
  num('--steps', opts.steps);
  num('--lr', opts.lr);
  if (opts.lora) args.push('--lora');
  num('--kl-coef', opts.klCoef);
  num('--clip', opts.clip);
  num('--batch-size', opts.batchSize);
  num('--grad-accum', opts.gradAccum);
  num('--max-len', opts.maxLen);
  num('--checkpoint-every', opts.checkpointEvery);
  num('--seed', opts.seed);
  if (opts.onnx) args.push('--onnx', opts.onnx);
  num('--from-line', opts.fromLine);
  num('--policy-step', opts.policyStep);
  if (opts.initAdapter) args.push('--init-adapter', path.resolve(opts.initAdapter));
  if (opts.extraArgs) args.push(...opts.extraArgs);
  return args;
}

const STDERR_KEEP = 40;

function killTree(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  try {
    if (process.platform !== 'win32') process.kill(-child.pid, sig);
    else child.kill(sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      /* already gone */
    }
  }
}

interface Spawned {
  child: ChildProcess;
  stderrTail: string[];
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnRuntime(
  python: string,
  args: string[],
  runtimeDir: string,
  env: NodeJS.ProcessEnv | undefined,
  onLine: (line: string) => void,
  onStderr?: (line: string) => void,
): Spawned {
  const child = spawn(python, args, {
    env: runtimeEnv(runtimeDir, env),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: process.platform !== 'win32', // own process group: abort kills its children too
  });
  const stderrTail: string[] = [];
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new EnvironmentError(
              `cannot run ${python}: not found. Install Python 3 with PyTorch (apt-get install python3-torch, or pip install torch) or set SSR_PYTHON`,
            )
          : new EnvironmentError(`cannot run ${python}: ${err.message}`),
      );
    });
    const out = readline.createInterface({ input: child.stdout! });
    const errs = readline.createInterface({ input: child.stderr! });
    out.on('line', onLine);
    errs.on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > STDERR_KEEP) stderrTail.shift();
      onStderr?.(line);
    });
    let closed = 0;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const finish = () => {
      if (closed < 2 || !exit) return;
      resolve(exit);
    };
    out.once('close', () => {
      closed++;
      finish();
    });
    errs.once('close', () => {
      closed++;
      finish();
    });
    child.once('close', (code, signal) => {
      exit = { code, signal };
      // readline may close before or after the child; wait for both.
      finish();
    });
  });
  return { child, stderrTail, done };
}

function parseEvent(line: string): TrainEvent | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(t) as { type?: unknown };
    return typeof v.type === 'string' ? (v as TrainEvent) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs one policy update; resolves when the runtime has written the output folder. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  if (opts.signal?.aborted) throw new CancelledError('training cancelled');
  const runtimeDir = resolveRuntimeDir(opts.runtimeDir);
  const python = opts.python ?? (await resolvePython({ ...process.env, ...opts.env }));
  const args = trainArgs(opts);
  if (opts.signal?.aborted) throw new CancelledError('training cancelled');

  let start: TrainStartEvent | null = null;
  let done: TrainDoneEvent | null = null;
  let lastError: TrainErrorEvent | null = null;
  const warnings: string[] = [];
  const emit = (ev: TrainEvent) => {
    try {
      opts.onEvent?.(ev);
    } catch {
      /* a listener's bug must not break the run */
    }
  };
  const onLine = (line: string) => {
    const ev = parseEvent(line);
    if (!ev) {
      if (line.trim()) emit({ type: 'log', level: 'info', message: line });
      return;
    }
    if (ev.type === 'start') start = ev;
    else if (ev.type === 'done') done = ev;
    else if (ev.type === 'error') lastError = ev;
    else if (ev.type === 'log' && ev.level === 'warn') warnings.push(ev.message);
    emit(ev);
  };

  const proc = spawnRuntime(python, args, runtimeDir, opts.env, onLine, opts.onStderr);
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    aborted = true;
    killTree(proc.child, 'SIGTERM');
    killTimer = setTimeout(() => killTree(proc.child, 'SIGKILL'), 5_000);
    killTimer.unref();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await proc.done;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
  if (aborted) throw new CancelledError('training cancelled');
  const tail = proc.stderrTail.join('\n');
  const err = lastError as TrainErrorEvent | null;
  const fin = done as TrainDoneEvent | null;
  if (exit.code !== 0 || !fin) {
    const lastLine = [...proc.stderrTail].reverse().find((l) => l.trim()) ?? '';
    const how = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
    const message = err?.message ?? (lastLine ? `${lastLine} (${how})` : `the trainer ended with ${how} and no result`);
    throw new TrainerError(message, err?.code ?? (exit.code === 0 ? 'no_result' : 'error'), exit.code, tail);
  }
  return {
    outDir: fin.outDir,
    modelDir: fin.model,
    onnxDir: fin.onnx,
    adapterDir: fin.adapter,
    steps: fin.steps,
    final: fin.final,
    start,
    checkpoints: fin.checkpoints,
    metricsFile: fin.metrics,
    zeroVarianceGroups: fin.zeroVarianceGroups,
    warnings,
    done: fin,
  };
}

// ---------------------------------------------------------------------------------------------
// Doctor

export interface DoctorModule {
  installed: boolean;
  version: string | null;
  install?: string;
}

export interface DoctorReport {
  python: { version: string; executable: string };
  platform: string;
  cpus: number | null;
  torch: DoctorModule & {
    error?: string;
    cuda: {
      available: boolean;
      version: string | null;
      devices: Array<{ index: number; name: string; memoryMB: number; capability: string }>;
      bf16?: boolean | null;
      error?: string;
    };
    mps?: boolean;
    threads?: number;
  };
  transformers: DoctorModule;
  peft: DoctorModule;
  onnx: DoctorModule;
  onnxruntime: DoctorModule;
  safetensors: DoctorModule;
  numpy: DoctorModule;
  canTrain: boolean;
  canTrainOnGpu: boolean;
  hfModels: boolean;
  lora: boolean;
  onnxExport: boolean;
}

/** What the machine has for training (`python -m ssr_runtime.doctor --json`). */
export async function doctor(opts: RuntimeOptions = {}): Promise<DoctorReport & { pythonCommand: string; runtimeDir: string }> {
  const runtimeDir = resolveRuntimeDir(opts.runtimeDir);
  const python = opts.python ?? (await resolvePython({ ...process.env, ...opts.env }));
  const lines: string[] = [];
  const proc = spawnRuntime(python, ['-m', 'ssr_runtime.doctor', '--json'], runtimeDir, opts.env, (l) => lines.push(l));
  const onAbort = () => killTree(proc.child, 'SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await proc.done;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted) throw new CancelledError('doctor cancelled');
  const text = lines.join('\n').trim();
  if (exit.code !== 0 || !text) {
    const last = [...proc.stderrTail].reverse().find((l) => l.trim()) ?? `exit code ${exit.code ?? exit.signal}`;
    throw new EnvironmentError(`${python} -m ssr_runtime.doctor failed: ${last}`);
  }
  try {
    return { ...(JSON.parse(text) as DoctorReport), pythonCommand: python, runtimeDir };
  } catch {
    throw new EnvironmentError(`${python} -m ssr_runtime.doctor printed something that is not JSON: ${text.slice(0, 200)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The summary `ssr train --json` prints

export interface TrainSummary {
  steps: number;
  roles: Record<TrainRole, TrainRoleSummary>;
  retokenised: number;
  out: string;
  /** Whether the PPO ratio was used (rollout log-probs with token ids), and on how many tokens. */
  ppoRatio: { tokens: number; used: boolean };
  model: string;
  onnx: string | null;
  adapter: string | null;
  metrics: string;
  /** RUN/train/updates.jsonl: one line per update (learning curves). */
  updatesFile: string | null;
  resumedFrom: number | null;
  zeroVarianceGroups: number;
  final: TrainStepEvent | null;
  warnings: string[];
}

export function trainSummary(r: TrainResult): TrainSummary {
  const d = r.done;
  return {
    steps: d.steps,
    roles: d.roles,
    retokenised: d.retokenised,
    out: d.out ?? d.outDir,
    ppoRatio: d.ppoRatio,
    model: d.model,
    onnx: d.onnx,
    adapter: d.adapter,
    metrics: d.metrics,
    updatesFile: d.updatesFile,
    resumedFrom: d.resumedFrom,
    zeroVarianceGroups: d.zeroVarianceGroups,
    final: d.final,
    warnings: r.warnings,
  };
}

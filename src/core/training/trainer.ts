/**
 * Driver for the Python RL trainer bundled in runtime/ (ssr_runtime.train).
 *
 * Spawns `python -m ssr_runtime.train` with PYTHONPATH pointing at the
 * runtime folder (pythonRuntime.ts), turns the JSON lines it prints on stdout
 * into typed events (trainEvents.ts: start, step metrics, log, checkpoint,
 * export, error, done), supports cancellation through an AbortSignal (the
 * whole process group is killed), and resolves with the output folder and the
 * final metrics. A non-zero exit becomes a TrainerError carrying the
 * runtime's last message.
 *
 * No `vscode` import: used by the CLI and by the extension alike.
 */
import * as path from 'node:path';
import { CancelledError } from '../base/errors';
import { killTree, resolvePython, resolveRuntimeDir, spawnRuntime, type RuntimeOptions, type Spawned } from './pythonRuntime';
import type {
  TrainDoneEvent,
  TrainErrorEvent,
  TrainEvent,
  TrainRole,
  TrainRoleSummary,
  TrainStartEvent,
  TrainStepEvent,
} from './trainEvents';

export type * from './trainEvents';
export { findRuntimeDir, resolvePython, resolveRuntimeDir, type RuntimeOptions } from './pythonRuntime';
export { doctor, type DoctorModule, type DoctorReport } from './doctor';

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

/** What the runtime said, as its lines arrive: every event goes to `onEvent`; start, done, the last error and the warnings are kept. */
class EventLog {
  start: TrainStartEvent | null = null;
  done: TrainDoneEvent | null = null;
  lastError: TrainErrorEvent | null = null;
  readonly warnings: string[] = [];

  constructor(private readonly onEvent?: (event: TrainEvent) => void) {}

  readonly onLine = (line: string): void => {
    const ev = parseEvent(line);
    if (!ev) {
      if (line.trim()) this.emit({ type: 'log', level: 'info', message: line });
      return;
    }
    if (ev.type === 'start') this.start = ev;
    else if (ev.type === 'done') this.done = ev;
    else if (ev.type === 'error') this.lastError = ev;
    else if (ev.type === 'log' && ev.level === 'warn') this.warnings.push(ev.message);
    this.emit(ev);
  };

  private emit(ev: TrainEvent): void {
    try {
      this.onEvent?.(ev);
    } catch {
      /* a listener's bug must not break the run */
    }
  }
}

/** Waits for the runtime to exit; an abort kills its process group (SIGTERM, then SIGKILL after 5 s). */
async function waitForExit(proc: Spawned, signal?: AbortSignal): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let aborted = false;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    aborted = true;
    killTree(proc.child, 'SIGTERM');
    killTimer = setTimeout(() => killTree(proc.child, 'SIGKILL'), 5_000);
    killTimer.unref();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  try {
    exit = await proc.done;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (killTimer) clearTimeout(killTimer);
  }
  if (aborted) throw new CancelledError('training cancelled');
  return exit;
}

/** Runs one policy update; resolves when the runtime has written the output folder. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  if (opts.signal?.aborted) throw new CancelledError('training cancelled');
  const runtimeDir = resolveRuntimeDir(opts.runtimeDir);
  const python = opts.python ?? (await resolvePython({ ...process.env, ...opts.env }));
  const args = trainArgs(opts);
  if (opts.signal?.aborted) throw new CancelledError('training cancelled');
  const log = new EventLog(opts.onEvent);
  const proc = spawnRuntime(python, args, runtimeDir, opts.env, log.onLine, opts.onStderr);
  const exit = await waitForExit(proc, opts.signal);
  const fin = log.done;
  if (exit.code !== 0 || !fin) {
    const err = log.lastError;
    const lastLine = [...proc.stderrTail].reverse().find((l) => l.trim()) ?? '';
    const how = exit.code !== null ? `exit code ${exit.code}` : `signal ${exit.signal}`;
    const message = err?.message ?? (lastLine ? `${lastLine} (${how})` : `the trainer ended with ${how} and no result`);
    throw new TrainerError(message, err?.code ?? (exit.code === 0 ? 'no_result' : 'error'), exit.code, proc.stderrTail.join('\n'));
  }
  return {
    outDir: fin.outDir,
    modelDir: fin.model,
    onnxDir: fin.onnx,
    adapterDir: fin.adapter,
    steps: fin.steps,
    final: fin.final,
    start: log.start,
    checkpoints: fin.checkpoints,
    metricsFile: fin.metrics,
    zeroVarianceGroups: fin.zeroVarianceGroups,
    warnings: log.warnings,
    done: fin,
  };
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

/**
 * The policy update inside a self-play session (`--train-every N`): on-policy
 * updates, policy versions, resume, and putting the trained policy back into
 * play (in-process for `onnx`, through vLLM's runtime LoRA loading for
 * `openai`).
 *
 * State lives in RUN/train/state.json (written atomically after each update):
 *
 *   step     policy updates so far: the version that samples the next rounds
 *   cursor   lines of trajectories.jsonl the last update read: the next update
 *            trains only on the records after it (the ones the current policy
 *            sampled), and passes `--policy-step` so that a record of another
 *            version is refused by the trainer (it says so in its summary)
 *   model    the model folder the next update starts from (onnx: the merged
 *            model of the last update; openai: the served base model, whose
 *            LoRA adapter keeps training through --init-adapter)
 *   adapter  the last LoRA adapter (openai) and the name it was loaded under
 *
 * Every episode's `policy.version` names the version that sampled it
 * ({model, step}); the trainer reads it.
 *
 * No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { train, type TrainEvent, type TrainResult } from './trainer';
import { readJson, writeJsonAtomic, type RunStore } from '../runs/store';
import { UsageError } from '../base/errors';
import { OpenAIPolicy, type OpenAIPolicyOptions } from '../policy/openai';
import type { PolicySpec } from '../policy';
import type { PolicyVersion } from '../base/trajectory';

export const TRAINING_FORMAT = 'ssr-training/1';

export interface TrainingUpdate {
  /** The version this update produced. */
  step: number;
  /** The round after which it ran. */
  round: number;
  out: string;
  /** Lines of trajectories.jsonl it trained on: (fromLine, cursor]. */
  fromLine: number;
  cursor: number;
  optimizerSteps: number;
  onnxDir: string | null;
  adapter: string | null;
  /** openai: the name the adapter was loaded under in the server. */
  served: string | null;
  finishedAt: string;
}

export interface TrainingState {
  format: typeof TRAINING_FORMAT;
  step: number;
  cursor: number;
  /** Folder the next update trains (see the module comment). */
  model: string;
  /** onnx: the folder the policy loads (null: the session's own model). */
  onnxDir: string | null;
  /** openai: the current adapter folder and its served name. */
  adapter: string | null;
  served: string | null;
  updates: TrainingUpdate[];
}

export function trainingStatePath(runDir: string): string {
  return path.join(runDir, 'train', 'state.json');
}

export async function readTrainingState(runDir: string): Promise<TrainingState | undefined> {
  const s = await readJson<TrainingState>(trainingStatePath(runDir));
  return s && s.format === TRAINING_FORMAT ? s : undefined;
}

export interface TrainingOptions {
  /** The session's policy. */
  spec: PolicySpec;
  /**
   * The local model folder (Hugging Face layout) the policy is: the onnx policy's own folder,
   * or, for `openai`, the served base model's weights (--train-model).
   */
  trainModel?: string;
  device?: string;
  steps?: number;
  /** openai: how the server sees a local adapter folder (default: the same path). */
  serverPath?: (localDir: string) => string;
  onEvent?: (e: TrainEvent) => void;
  /** More flags for ssr_runtime.train. */
  extraArgs?: string[];
}

/** The spec that samples with the latest trained policy of a state (the input spec when none). */
export function specForState(spec: PolicySpec, state: TrainingState | undefined): PolicySpec {
  if (!state || state.step === 0) return spec;
  if (spec.kind === 'onnx' && state.onnxDir) return { ...spec, model: state.onnxDir };
  if (spec.kind === 'openai' && state.served) return { ...spec, model: state.served };
  return spec;
}

export function versionOf(spec: PolicySpec, state: TrainingState | undefined): PolicyVersion {
  const s = specForState(spec, state);
  const model = (s as { model?: string }).model ?? spec.kind;
  return { model, step: state?.step ?? 0 };
}

function baseModel(o: TrainingOptions): string {
  const m = o.trainModel ?? (o.spec.kind === 'onnx' ? (o.spec as { model?: string }).model : undefined);
  if (!m || !fs.existsSync(path.join(m, 'config.json'))) {
    throw new UsageError(
      o.spec.kind === 'openai'
        ? '--train-every with --policy openai needs --train-model DIR: the served base model\'s weights (Hugging Face layout), which the LoRA adapter is trained on'
        : '--train-every trains a local model folder: use --policy onnx --model FOLDER, or --policy openai with --train-model DIR',
    );
  }
  return path.resolve(m);
}

/**
 * Loads an adapter into a vLLM-shaped server under `name` and returns the name. Resumed sessions
 * call it again (a restarted server has lost its adapters); a server that already has the name
 * answers 400, which counts as loaded.
 */
export async function loadAdapter(spec: PolicySpec & { kind: 'openai' }, name: string, dir: string, signal?: AbortSignal): Promise<void> {
  const { kind: _k, ...opts } = spec;
  const p = new OpenAIPolicy(opts as OpenAIPolicyOptions);
  try {
    await p.loadLoraAdapter(name, dir, signal);
  } catch (err) {
    const e = err as { status?: number; message?: string };
    if (e.status === 400 && /already/i.test(e.message ?? '')) return;
    throw err;
  }
}

/** Runs one update after `round`; returns the new policy's spec and version (undefined: nothing was trained). */
export async function runUpdate(
  o: TrainingOptions,
  store: RunStore,
  round: number,
  signal?: AbortSignal,
): Promise<{ spec: PolicySpec; version: PolicyVersion } | undefined> {
  const base = baseModel(o);
  const state: TrainingState = (await readTrainingState(store.dir)) ?? freshState(base);
  const next = state.step + 1;
  const out = path.join(store.dir, 'train', `update-${String(next).padStart(3, '0')}`);
  const r = await trainOnce(o, store, state, out, signal);
  const cursor = r.done.update?.cursor ?? state.cursor;
  if (r.steps === 0) {
    // Nothing carried a signal: the policy stays, the cursor moves on (those records are used up).
    await writeJsonAtomic(trainingStatePath(store.dir), { ...state, cursor });
    return undefined;
  }
  const served = await putInPlay(o, store, r, out, next, signal);
  const after = advance(o, state, r, { step: next, round, out, cursor, served });
  await writeJsonAtomic(trainingStatePath(store.dir), after);
  return { spec: specForState(o.spec, after), version: versionOf(o.spec, after) };
}

function freshState(base: string): TrainingState {
  return { format: TRAINING_FORMAT, step: 0, cursor: 0, model: base, onnxDir: null, adapter: null, served: null, updates: [] };
}

/** The trainer run of one update: on the records after the state's cursor, from the state's model (and adapter). */
function trainOnce(o: TrainingOptions, store: RunStore, state: TrainingState, out: string, signal?: AbortSignal): Promise<TrainResult> {
  const openai = o.spec.kind === 'openai';
  return train({
    run: store.dir,
    model: state.model,
    out,
    device: o.device,
    steps: o.steps,
    fromLine: state.cursor,
    policyStep: state.step,
    lora: openai,
    initAdapter: openai && state.adapter ? state.adapter : undefined,
    onnx: openai ? 'no' : undefined,
    extraArgs: o.extraArgs,
    signal,
    onEvent: o.onEvent,
  });
}

/** Puts the trained policy back into play: openai loads the adapter into the server (returns its served name); onnx needs its export. */
async function putInPlay(o: TrainingOptions, store: RunStore, r: TrainResult, out: string, next: number, signal?: AbortSignal): Promise<string | null> {
  if (o.spec.kind === 'openai') {
    if (!r.adapterDir) throw new UsageError(`the update wrote no LoRA adapter (${out}); the served model cannot be updated`);
    const served = `ssr-${store.id}-v${next}`;
    await loadAdapter(o.spec as PolicySpec & { kind: 'openai' }, served, (o.serverPath ?? ((d) => d))(r.adapterDir), signal);
    return served;
  }
  if (!r.onnxDir) {
    throw new UsageError(`the update wrote no ONNX model (${r.done.onnxError ?? 'export skipped'}); the onnx policy cannot reload it`);
  }
  return null;
}

/** The state after an update. */
function advance(
  o: TrainingOptions,
  state: TrainingState,
  r: TrainResult,
  u: { step: number; round: number; out: string; cursor: number; served: string | null },
): TrainingState {
  const openai = o.spec.kind === 'openai';
  const update: TrainingUpdate = {
    step: u.step,
    round: u.round,
    out: u.out,
    fromLine: state.cursor,
    cursor: u.cursor,
    optimizerSteps: r.steps,
    onnxDir: r.onnxDir,
    adapter: r.adapterDir,
    served: u.served,
    finishedAt: new Date().toISOString(),
  };
  return {
    ...state,
    step: u.step,
    cursor: u.cursor,
    model: openai ? state.model : r.modelDir,
    onnxDir: openai ? null : r.onnxDir,
    adapter: openai ? r.adapterDir : null,
    served: u.served,
    updates: [...state.updates, update],
  };
}

/** True when the update due after `round` is already in the state (a resumed session skips it). */
export async function updatedAfter(runDir: string, round: number): Promise<boolean> {
  const s = await readTrainingState(runDir);
  return !!s?.updates.some((u) => u.round === round);
}

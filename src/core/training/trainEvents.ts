/**
 * What the Python trainer (runtime/ssr_runtime.train) says: the JSON-lines
 * events it prints on stdout (start, step metrics, log, checkpoint, export,
 * error, done) and the per-update line of RUN/train/updates.jsonl, typed.
 * runtime/README.md documents the same fields from the Python side.
 */
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

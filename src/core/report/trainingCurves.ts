/**
 * The learning curves of a run: the trainer's metrics as points, one per
 * policy update (train/updates.jsonl) or, without that file, one per
 * optimizer step (the per-step metrics.jsonl logs). See readTrainingMetrics().
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { JsonlFile } from '../runs/store';

export interface TrainingPoint {
  /** Update number across every training of the run, from 1. */
  update: number;
  /** The file it came from, relative to the run directory. */
  source: string;
  step: number;
  loss?: number;
  rewardSolver?: number;
  rewardInjector?: number;
  kl?: number;
  klRollout?: number;
}

export const TRAINING_FIELDS = [
  'train/updates.jsonl: roles.solver.meanReward, roles.injector.meanReward, loss, kl, klRollout, policyStep (one line per update)',
  'else metrics.jsonl: type "step", step, loss, reward.solver, reward.injector, kl, klRollout (one line per optimizer step)',
];

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/**
 * The trainer's metrics, read defensively (torn lines, other event types,
 * nulls and non-numbers are skipped).
 *
 * 1. `<run>/train/updates.jsonl`, one line per policy update (what the
 *    trainer appends after each update; runtime/README.md): a line counts
 *    when it is an object; read are `roles.solver.meanReward`,
 *    `roles.injector.meanReward`, `loss`, `kl`, `klRollout` and
 *    `policyStep` (the x value; the line number when absent).
 * 2. When there is no such file: the per-step event logs,
 *    `<run>/train/<time>/metrics.jsonl` (each `ssr train --out`), and any
 *    `<run>/*metrics*.jsonl` or `<run>/training*.jsonl`: a line counts when
 *    `type` is absent or "step" and `step` is a number; read are `loss`,
 *    `reward.solver`, `reward.injector` (or flat `rewardSolver` /
 *    `rewardInjector`), `kl`, `klRollout`.
 */
export function readTrainingMetrics(runDir: string): TrainingPoint[] {
  const updates = path.join(runDir, 'train', 'updates.jsonl');
  if (fs.existsSync(updates)) {
    const out = readUpdates(runDir, updates);
    if (out.length) return out;
  }
  return readStepMetrics(runDir, stepMetricFiles(runDir));
}

/** One point per line of train/updates.jsonl. */
function readUpdates(runDir: string, updates: string): TrainingPoint[] {
  const out: TrainingPoint[] = [];
  for (const r of JsonlFile.read<unknown>(updates).records) {
    const o = obj(r);
    if (!o) continue;
    const roles = obj(o.roles) ?? {};
    out.push({
      update: out.length + 1,
      source: path.relative(runDir, updates),
      step: num(o.policyStep) ?? out.length + 1,
      loss: num(o.loss),
      rewardSolver: num(obj(roles.solver)?.meanReward),
      rewardInjector: num(obj(roles.injector)?.meanReward),
      kl: num(o.kl),
      klRollout: num(o.klRollout),
    });
  }
  return out;
}

function listDir(d: string): fs.Dirent[] {
  try {
    return fs.readdirSync(d, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** The per-step logs of a run, in the order their points are read. */
function stepMetricFiles(runDir: string): string[] {
  const files: string[] = [];
  for (const e of listDir(runDir)) {
    if (e.isFile() && /\.jsonl$/.test(e.name) && (/metrics/i.test(e.name) || /^training/i.test(e.name))) files.push(path.join(runDir, e.name));
  }
  for (const sub of ['train', 'training']) {
    const root = path.join(runDir, sub);
    if (fs.existsSync(path.join(root, 'metrics.jsonl'))) files.push(path.join(root, 'metrics.jsonl'));
    for (const e of listDir(root).filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(root, e.name, 'metrics.jsonl');
      if (fs.existsSync(f)) files.push(f);
    }
  }
  return files;
}

/** One point per step event of the given logs. */
function readStepMetrics(runDir: string, files: string[]): TrainingPoint[] {
  const out: TrainingPoint[] = [];
  for (const f of files) {
    const { records } = JsonlFile.read<Record<string, unknown>>(f);
    for (const r of records) {
      if (!obj(r)) continue;
      if (r.type !== undefined && r.type !== 'step') continue;
      const step = num(r.step);
      if (step === undefined) continue;
      const reward = obj(r.reward) ?? {};
      out.push({
        update: out.length + 1,
        source: path.relative(runDir, f),
        step,
        loss: num(r.loss),
        rewardSolver: num(reward.solver) ?? num(r.rewardSolver),
        rewardInjector: num(reward.injector) ?? num(r.rewardInjector),
        kl: num(r.kl),
        klRollout: num(r.klRollout),
      });
    }
  }
  return out;
}

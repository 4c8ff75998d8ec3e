/**
 * The verdict of the canaries and twins (canaries.ts) from the results of a
 * judged run, and the results with every planted id removed. A must-fail
 * canary that passed, a must-pass canary that failed, a twin that disagrees
 * with its original or an inverted twin that passed beside its passing
 * original is evidence of tampering. Planted tests missing from the results
 * (the script ran a subset) are no evidence either way: they are counted and
 * the judge falls back to the other layers.
 */
import type { Planted, Planting } from './canaryTypes';
import type { TestResults } from './testRun';

export interface CanaryCheck {
  /** Set when a canary or twin disagrees (evaluate.ts's Tampered). */
  tampered?: { reason: string; evidence: string[] };
  /** The results without any planted id. */
  results: TestResults;
  /** Planted tests, and how many were present in the results. */
  planted: number;
  present: number;
  /** Tests that could not be copied. */
  skipped: number;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The ids the planted test answers to: its random name, whole, somewhere in the id. */
export function idsOf(p: Planted, results: TestResults): string[] {
  const re = new RegExp(`(^|[^A-Za-z0-9_])${escape(p.name)}($|[^A-Za-z0-9_])`);
  return Object.keys(results).filter((id) => re.test(id));
}

/** The original's id for a twin's id: the same id with the original's name. */
export function originalId(p: Planted, twinId: string): string {
  return twinId.replace(p.name, p.of ?? p.name);
}

/** The evidence one planted test gives, in words that name no random name. */
function evidenceOf(p: Planted, ids: string[], results: TestResults): string[] {
  const out: string[] = [];
  for (const id of ids) {
    const got = results[id];
    if (p.kind === 'must-fail' && got === 'passed') out.push(`a canary that must fail, in ${p.file}, was reported passed`);
    if (p.kind === 'must-pass' && got === 'failed') out.push(`a canary that must pass, in ${p.file}, was reported failed`);
    if (p.kind !== 'twin' && p.kind !== 'inverted') continue;
    const orig = originalId(p, id);
    const want = results[orig];
    if (want === undefined) continue;
    if (p.kind === 'twin' && got !== want) out.push(`${orig} was reported ${want} but its twin (same body, another name) ${got}`);
    if (p.kind === 'inverted' && got === 'passed' && want === 'passed') out.push(`${orig} and its inverted twin (which fails whenever it passes) were both reported passed`);
  }
  return out;
}

/** Checks the planted tests in the results and removes them. */
export function checkCanaries(results: TestResults, planting: Planting | undefined): CanaryCheck {
  const planted = planting?.planted ?? [];
  const evidence: string[] = [];
  const drop = new Set<string>();
  let present = 0;
  for (const p of planted) {
    const ids = idsOf(p, results);
    if (ids.length) present++;
    for (const id of ids) drop.add(id);
    evidence.push(...evidenceOf(p, ids, results));
  }
  const clean: TestResults = {};
  for (const [id, v] of Object.entries(results)) if (!drop.has(id)) clean[id] = v;
  const out: CanaryCheck = { results: clean, planted: planted.length, present, skipped: planting?.skipped.length ?? 0 };
  if (evidence.length) out.tampered = { reason: 'tests the judge planted under random names (canaries, twins) disagree with what the code does', evidence: [...new Set(evidence)] };
  return out;
}

/** A clause for the evaluation's detail: how many were planted and checked. */
export function canaryNote(c: CanaryCheck): string {
  if (!c.planted) return c.skipped ? `; no canaries planted (${c.skipped} test(s) could not be copied)` : '';
  const absent = c.planted - c.present;
  const gone = absent ? `, ${absent} absent from the results (the script ran a subset; not evidence)` : '';
  return `; ${c.planted} canary/twin test(s) planted and checked${gone}${c.skipped ? `, ${c.skipped} test(s) could not be copied` : ''}`;
}

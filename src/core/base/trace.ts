/**
 * Where the time goes: with SSR_TRACE=FILE set, named spans (container
 * start, repository copy, baseline, test runs, proposer steps, validation)
 * are appended to FILE as JSON lines {name, start, ms, ...attrs}, for the
 * real-size benchmark's breakdown (bench/realsize.ts). Off, a span costs one
 * environment lookup.
 */
import * as fs from 'node:fs';

export interface SpanRecord {
  name: string;
  /** Epoch milliseconds at the start. */
  start: number;
  ms: number;
  ok: boolean;
  [attr: string]: unknown;
}

function traceFile(): string | undefined {
  return process.env.SSR_TRACE || undefined;
}

/** Runs fn and, when tracing is on, records how long it took under `name`. */
export async function span<T>(name: string, fn: () => Promise<T>, attrs: Record<string, unknown> = {}): Promise<T> {
  const file = traceFile();
  if (!file) return fn();
  const start = Date.now();
  let ok = false;
  try {
    const v = await fn();
    ok = true;
    return v;
  } finally {
    const rec: SpanRecord = { name, start, ms: Date.now() - start, ok, ...attrs };
    try {
      fs.appendFileSync(file, JSON.stringify(rec) + '\n');
    } catch {
      /* tracing never breaks the work */
    }
  }
}

/** Reads a trace file back. */
export function readTrace(file: string): SpanRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as SpanRecord);
}

/** Per span name: count, total and median milliseconds, sorted by total. */
export function summarizeTrace(spans: SpanRecord[]): Array<{ name: string; count: number; totalMs: number; medianMs: number }> {
  const by = new Map<string, number[]>();
  for (const s of spans) {
    const list = by.get(s.name) ?? [];
    list.push(s.ms);
    by.set(s.name, list);
  }
  return [...by.entries()]
    .map(([name, ms]) => {
      const sorted = [...ms].sort((a, b) => a - b);
      return { name, count: ms.length, totalMs: ms.reduce((a, b) => a + b, 0), medianMs: sorted[Math.floor(sorted.length / 2)] };
    })
    .sort((a, b) => b.totalMs - a.totalMs);
}

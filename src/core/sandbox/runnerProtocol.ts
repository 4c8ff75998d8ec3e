/**
 * What the runner answers over the attach stream (JSON lines), and the
 * output it keeps of a command: head and tail, joined here with a marker.
 */
import type { ReporterRecords } from './types';

export interface Pending {
  resolve: (msg: RunnerMessage) => void;
  reject: (err: Error) => void;
}

/** A command's stdout and stderr as the runner keeps them: head and tail (base64) and the byte counts. */
export interface CapturedOutput {
  code?: number | null;
  timedOut?: boolean;
  outHead?: string;
  outTail?: string;
  outTotal?: number;
  errHead?: string;
  errTail?: string;
  errTotal?: number;
}

export interface RunnerMessage extends CapturedOutput {
  id: number | null;
  error?: string;
  ready?: boolean;
  signal?: number | null;
  ms?: number;
  data?: string;
  ok?: boolean;
  /** testrun: the script's exit code, the log's size and end, the parser's output. */
  scriptCode?: number | null;
  logTotal?: number;
  logTail?: string;
  parser?: CapturedOutput;
  /** testrun: the judge's reporter's records (null when no pytest loaded it). */
  reporter?: ReporterRecords | null;
}

/** Joins the two halves the runner kept, with a marker for what was cut. */
export function joinCapped(headB64: string, tailB64: string, total: number): { text: string; truncated: boolean } {
  const head = Buffer.from(headB64, 'base64');
  const tail = Buffer.from(tailB64, 'base64');
  const kept = head.length + tail.length;
  if (total <= kept) return { text: Buffer.concat([head, tail]).toString('utf8'), truncated: false };
  const cut = total - kept;
  return {
    text: `${head.toString('utf8')}\n[... ${cut} bytes of output cut by SSR ...]\n${tail.toString('utf8')}`,
    truncated: true,
  };
}

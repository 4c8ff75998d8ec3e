/** Small text helpers of the agent loop: truncation, the budget line, token estimates. */

/** Default cap of one observation sent to the model, in characters. */
export const DEFAULT_MAX_OBSERVATION_CHARS = 12_000;

/**
 * Cuts a long text to its head and tail with a marker saying how much was
 * left out. Returns the text unchanged when it fits.
 */
export function truncateMiddle(text: string, maxChars = DEFAULT_MAX_OBSERVATION_CHARS): { text: string; truncated: boolean } {
  if (text.length <= maxChars) return { text, truncated: false };
  const keep = Math.max(0, maxChars - 120);
  const head = Math.ceil(keep / 2);
  const tail = keep - head;
  const cut = text.length - head - tail;
  const lines = text.slice(head, text.length - tail).split('\n').length - 1;
  return {
    text:
      `${text.slice(0, head)}\n[... ${cut} characters (${lines} lines) cut from the middle of this output; ` +
      `narrow the command, e.g. with grep, head or tail ...]\n${tail ? text.slice(-tail) : ''}`,
    truncated: true,
  };
}

/** A rough token count: characters / 4, as the budget uses when the policy reports none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface BudgetState {
  turnsLeft: number;
  /** Context tokens left (estimate); undefined when unlimited. */
  tokensLeft?: number;
  /** Milliseconds of wall time left; undefined when unlimited. */
  msLeft?: number;
}

/** The line that ends every observation, e.g. `[turns left: 12 | context left: ~80k tokens | time left: 14 min]`. */
export function budgetLine(b: BudgetState): string {
  const parts = [`turns left: ${Math.max(0, b.turnsLeft)}`];
  if (b.tokensLeft !== undefined) {
    const t = Math.max(0, b.tokensLeft);
    parts.push(`context left: ~${t >= 10_000 ? `${Math.floor(t / 1000)}k` : t} tokens`);
  }
  if (b.msLeft !== undefined) {
    const s = Math.max(0, Math.floor(b.msLeft / 1000));
    parts.push(`time left: ${s >= 120 ? `${Math.floor(s / 60)} min` : `${s} s`}`);
  }
  return `[${parts.join(' | ')}]`;
}

/** Lines around [startLine, endLine] (1-based, inclusive) with line numbers, for edit results. */
export function numberedContext(content: string, startLine: number, endLine: number, around = 4): string {
  const lines = content.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const from = Math.max(1, startLine - around);
  const to = Math.min(lines.length, Math.max(endLine, startLine) + around);
  const width = String(to).length;
  const out: string[] = [];
  for (let i = from; i <= to; i++) out.push(`${String(i).padStart(width)}| ${lines[i - 1]}`);
  return out.join('\n');
}

export { seededRandom } from '../base/random';

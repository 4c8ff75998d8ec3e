/** The edit tool's text operation: one exact SEARCH/REPLACE, with context or a helpful error. */
import { numberedContext } from './text';

export type EditResult =
  | { ok: true; content: string; startLine: number; endLine: number; context: string }
  | { ok: false; error: string; matches: number };

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function occurrences(haystack: string, needle: string): number[] {
  const at: number[] = [];
  for (let i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) at.push(i);
  return at;
}

/** Lines where the search text occurs when leading and trailing whitespace of each line is ignored. */
function looseMatches(content: string, search: string): number[] {
  const want = search.split('\n').map((l) => l.trim());
  while (want.length && !want[want.length - 1]) want.pop();
  while (want.length && !want[0]) want.shift();
  if (!want.length) return [];
  const lines = content.split('\n').map((l) => l.trim());
  const found: number[] = [];
  for (let i = 0; i + want.length <= lines.length; i++) {
    let ok = true;
    for (let j = 0; j < want.length && ok; j++) ok = lines[i + j] === want[j];
    if (ok) found.push(i + 1);
  }
  return found;
}

/**
 * Replaces the single exact occurrence of `search` in `content`. Zero or
 * several occurrences are errors that say where (or where a near match is).
 */
export function applyEdit(content: string, search: string, replace: string, path = 'the file'): EditResult {
  // Files with CRLF line ends: match the model's LF text against them too.
  const crlf = content.includes('\r\n') && !search.includes('\r\n');
  const s = crlf ? search.replace(/\n/g, '\r\n') : search;
  const r = crlf ? replace.replace(/\n/g, '\r\n') : replace;
  const at = occurrences(content, s);
  if (at.length === 0) {
    const near = looseMatches(content, search);
    const hint = near.length
      ? ` A block matching it except for indentation or trailing spaces is at line ${near.slice(0, 5).join(', ')}; copy the lines exactly.`
      : ' Check the exact text (whitespace included) with e.g. `grep -n` or `sed -n` first.';
    return { ok: false, matches: 0, error: `The SEARCH text was not found in ${path}.${hint} No change was made.` };
  }
  if (at.length > 1) {
    const lines = at.slice(0, 10).map((i) => lineOf(content, i));
    return {
      ok: false,
      matches: at.length,
      error:
        `The SEARCH text occurs ${at.length} times in ${path} (at line ${lines.join(', ')}${at.length > 10 ? ', ...' : ''}); ` +
        'it must occur exactly once. Include more surrounding lines to make it unique. No change was made.',
    };
  }
  const i = at[0];
  const next = content.slice(0, i) + r + content.slice(i + s.length);
  const startLine = lineOf(next, i);
  const endLine = startLine + Math.max(0, r.split('\n').length - 1);
  return { ok: true, content: next, startLine, endLine, context: numberedContext(next, startLine, endLine) };
}

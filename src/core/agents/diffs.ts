/**
 * Reversing a git-style unified diff: the solver's specification is the
 * reverse of the injector's test_weaken.diff (the tests put back). The `diff`
 * package parses, reverses (sides, lines, ranges, modes, renames, creations
 * and deletions) and formats; this file keeps what git writes and the package
 * drops or writes otherwise, so that the result reads as git's own output.
 */
import { FILE_HEADERS_ONLY, formatPatch, parsePatch, reversePatch, type StructuredPatch } from 'diff';

/**
 * Returns the diff that undoes `diff`: old and new sides swapped, added and
 * removed lines swapped (removals listed first in each change block, as
 * diff tools write them), file creations become deletions and back. Binary
 * patches are left out with a note, as they cannot be reversed in text.
 * Throws on text that is not a unified diff (parsePatch's error), as
 * `git apply` would refuse it too.
 */
export function reverseDiff(diff: string): string {
  if (!diff.trim()) return diff;
  const kept = gitDetails(diff);
  let gitFile = 0;
  const files = parsePatch(diff).map((p) => reverseFile(p, p.isGit ? kept.files[gitFile++] : undefined));
  const out = files.join('');
  let hunk = 0;
  const lines = out.split('\n').map((l) => (l.startsWith('@@ -') ? gitHunkHeader(l, kept.headings[hunk++] ?? '') : l));
  return (diff.endsWith('\n') ? lines : lines.slice(0, -1)).join('\n');
}

/** One file's patch reversed and formatted, with its `index` line (swapped) put back; a binary change as a note. */
function reverseFile(p: StructuredPatch, git: GitFile | undefined): string {
  const rev = reversePatch(p);
  rev.hunks = rev.hunks.map((h) => ({ ...h, lines: removalsFirst(h.lines) }));
  if (!rev.isGit) {
    // The package swaps a/ and b/ only in git patches; plain diffs keep old = a/, new = b/ too.
    rev.oldFileName = rev.oldFileName?.replace(/^b\//, 'a/');
    rev.newFileName = rev.newFileName?.replace(/^a\//, 'b/');
  }
  const lines = formatPatch(rev, rev.isGit ? undefined : FILE_HEADERS_ONLY).split('\n');
  if (git?.index) {
    const m = /^index ([0-9a-f]+)\.\.([0-9a-f]+)(.*)$/.exec(git.index)!;
    const at = lines.findIndex((l) => l.startsWith('--- '));
    lines.splice(at < 0 ? lines.length - 1 : at, 0, `index ${m[2]}..${m[1]}${m[3]}`);
  }
  if (git?.binary) lines.splice(lines.length - 1, 0, '(binary change left out)');
  return lines.join('\n');
}

/** What parsePatch drops of one file's git header. */
interface GitFile {
  index?: string;
  /** A binary change (GIT binary patch, or "Binary files ... differ"). */
  binary?: boolean;
}

/** What parsePatch drops: each git file's `index` line and whether it is binary, each hunk's section heading (in order). */
function gitDetails(diff: string): { files: GitFile[]; headings: string[] } {
  const files: GitFile[] = [];
  const headings: string[] = [];
  for (const line of diff.split('\n')) {
    const file = files[files.length - 1];
    if (line.startsWith('diff --git ')) files.push({});
    else if (file && !file.index && /^index [0-9a-f]+\.\.[0-9a-f]+/.test(line)) file.index = line;
    else if (file && (line === 'GIT binary patch' || line.startsWith('Binary files '))) file.binary = true;
    else if (line.startsWith('@@ -')) headings.push(/^@@ [^@]*@@(.*)$/.exec(line)?.[1] ?? '');
  }
  return { files, headings };
}

/** A hunk header as git writes it: a count of 1 is left out, the section heading follows. */
function gitHunkHeader(line: string, heading: string): string {
  return line.replace(/,1 \+/, ' +').replace(/ (\+\d+),1 @@$/, ' $1 @@') + heading;
}

/** Each change block's removals before its additions; a "\ No newline" marker stays after its line. */
function removalsFirst(lines: string[]): string[] {
  const out: string[] = [];
  let minus: string[] = [];
  let plus: string[] = [];
  let last = out;
  for (const line of lines) {
    if (line.startsWith('-')) (last = minus).push(line);
    else if (line.startsWith('+')) (last = plus).push(line);
    else if (line.startsWith('\\')) last.push(line);
    else {
      out.push(...minus, ...plus, line);
      minus = [];
      plus = [];
      last = out;
    }
  }
  return out.concat(minus, plus);
}

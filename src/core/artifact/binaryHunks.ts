/**
 * Binary hunks in a diff: `GIT binary patch` data, or the `Binary files A and
 * B differ` line git and diff print when they leave the data out. A model's
 * diff is text; binary content cannot be read, reviewed or screened, so the
 * judge refuses it (an artifact's diffs always; a solver's patch unless the
 * repository already keeps that kind of file as binary data).
 */
import { headerNewPath, unquoteGitPath } from './gitPaths';

/** One file of a diff that carries (or names) binary content. */
export interface BinaryHunk {
  /** The file's path (the new path; the old one for a deletion). */
  path: string;
  /** `git-binary-patch` (the data is there) or `binary-differ` (only named). */
  kind: 'git-binary-patch' | 'binary-differ';
}

const BINARY_DIFFER = /^Binary files ("(?:[^"\\]|\\.)*"|\S+) and ("(?:[^"\\]|\\.)*"|\S+) differ$/;

function strip(p: string): string | undefined {
  if (p === '/dev/null') return undefined;
  return unquoteGitPath(p).replace(/^[ab]\//, '');
}

/** Every binary hunk of a diff, in order, one per file. */
export function binaryHunks(diff: string): BinaryHunk[] {
  const out: BinaryHunk[] = [];
  let current: string | undefined;
  for (const line of diff.split('\n')) {
    if (line.startsWith('diff --git ')) {
      current = headerNewPath(line);
      continue;
    }
    if (line.startsWith('GIT binary patch')) {
      out.push({ path: current ?? '(unknown file)', kind: 'git-binary-patch' });
      continue;
    }
    const differ = BINARY_DIFFER.exec(line);
    if (differ) out.push({ path: strip(differ[2]) ?? strip(differ[1]) ?? current ?? '(unknown file)', kind: 'binary-differ' });
  }
  return out;
}

/** How a binary hunk reads in a message: "logo.png (GIT binary patch)". */
export function describeBinaryHunk(h: BinaryHunk): string {
  return `${h.path} (${h.kind === 'git-binary-patch' ? 'GIT binary patch' : '"Binary files ... differ", no data'})`;
}

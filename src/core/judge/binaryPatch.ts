/**
 * Binary hunks in a solver's patch. A fix is a change of text; binary data
 * cannot be screened or reviewed, so a patch with a binary hunk is not
 * solved, unless the file is of a kind the repository already keeps as
 * binary data (a `.png` where the repository has `.png` files with binary
 * content). Files that load code (`.pyc`, `.so`, ...) never get here: the
 * file-level harness diff (harnessDiff.ts) calls those tampered first.
 */
import * as path from 'node:path';
import { binaryHunks, describeBinaryHunk, type BinaryHunk } from '../artifact/binaryHunks';

/** The repository's original files, and a way to tell whether one of them holds binary data. */
export interface OriginalFiles {
  tracked: string[];
  isBinary: (p: string) => Promise<boolean>;
}

function extensionOf(p: string): string {
  return path.posix.extname(p).toLowerCase();
}

/** Whether the repository already keeps files with this hunk's extension as binary data. */
async function trackedAsBinary(h: BinaryHunk, original: OriginalFiles): Promise<boolean> {
  const ext = extensionOf(h.path);
  if (!ext || h.kind !== 'git-binary-patch') return false;
  const same = original.tracked.filter((p) => extensionOf(p) === ext).slice(0, 3);
  for (const p of same) if (await original.isBinary(p)) return true;
  return false;
}

/** Why a solver's patch is refused for its binary hunks, or undefined when it has none it may not have. */
export async function binaryPatchProblem(patch: string, original: OriginalFiles): Promise<string | undefined> {
  const refused: BinaryHunk[] = [];
  for (const h of binaryHunks(patch)) if (!(await trackedAsBinary(h, original))) refused.push(h);
  if (!refused.length) return undefined;
  return (
    `not solved: the patch has a binary hunk for ${refused.slice(0, 3).map(describeBinaryHunk).join(', ')}; ` +
    'a fix is a change of text, and binary content is accepted only for a kind of file the repository already keeps as binary data ' +
    '(with its data: a "Binary files ... differ" line carries none)'
  );
}

/** A file's content holds binary data: a NUL byte in its first 8000 characters (git's own rule). */
export function looksBinary(content: string | undefined): boolean {
  return content !== undefined && content.slice(0, 8000).includes('\0');
}

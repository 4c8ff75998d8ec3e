/**
 * Inline review of diffs: for each file a unified diff touches, the content
 * before and after, so an editor can show them side by side. Pure: the
 * caller passes a reader for the "before" state (the workspace's file, read
 * only, or a state rebuilt from earlier diffs); nothing is written anywhere.
 *
 * Used by the extension's `ssr-artifact:` documents (bug_inject.diff,
 * test_weaken.diff, a solver's pred_patch.diff, the diff one agent step made).
 */
import { applyPatch, parsePatch, type StructuredPatch } from 'diff';

export type ReviewStatus = 'modified' | 'added' | 'deleted' | 'renamed';

export interface ReviewFile {
  /** The path shown (new path, or old path for a deletion), repository-relative. */
  path: string;
  oldPath?: string;
  newPath?: string;
  status: ReviewStatus;
  /** Content before the diff ('' for an added file). */
  original: string;
  /** Content after the diff ('' for a deleted file); undefined when the diff does not apply. */
  patched?: string;
  /** Why the patched content could not be computed. */
  error?: string;
  hunks: number;
}

/** Reads a file of the "before" state; undefined when it does not exist. */
export type FileReader = (relPath: string) => string | undefined;

function clean(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const n = name.replace(/\t.*$/, '').trim();
  if (n === '/dev/null') return undefined;
  return n.replace(/^[ab]\//, '');
}

/** The per-file patches of a unified diff (files without hunks, e.g. mode-only, are kept with no hunks). */
export function filePatches(diffText: string): StructuredPatch[] {
  if (!diffText.trim()) return [];
  return parsePatch(diffText).filter((p) => clean(p.oldFileName) || clean(p.newFileName) || p.hunks.length);
}

/** Applies one file's patch to a content; undefined when a hunk does not match. */
export function applyFilePatch(original: string, patch: StructuredPatch): string | undefined {
  if (patch.hunks.length === 0) return original;
  const out = applyPatch(original, patch, { fuzzFactor: 0 });
  if (out !== false) return out;
  // A second try that tolerates whitespace-only drift (e.g. trailing spaces trimmed by an editor).
  const loose = applyPatch(original, patch, { fuzzFactor: 0, compareLine: (_n, line, _op, content) => line.trimEnd() === content.trimEnd() });
  return loose === false ? undefined : loose;
}

/**
 * Every file a diff touches with its content before and after. Files whose
 * hunks do not apply to the reader's content come back with `error` set and
 * `patched` undefined (the caller shows the raw diff instead).
 */
export function reviewDiff(diffText: string, read: FileReader): ReviewFile[] {
  let patches: StructuredPatch[];
  try {
    patches = filePatches(diffText);
  } catch (err) {
    return [{ path: '(diff)', status: 'modified', original: '', error: `not a valid unified diff: ${(err as Error).message}`, hunks: 0 }];
  }
  const out: ReviewFile[] = [];
  for (const p of patches) {
    const oldPath = clean(p.oldFileName);
    const newPath = clean(p.newFileName);
    const status: ReviewStatus = !oldPath ? 'added' : !newPath ? 'deleted' : oldPath !== newPath ? 'renamed' : 'modified';
    const shown = (newPath ?? oldPath)!;
    const before = oldPath ? read(oldPath) : '';
    if (before === undefined) {
      out.push({ path: shown, oldPath, newPath, status, original: '', error: `${oldPath} does not exist in the original state`, hunks: p.hunks.length });
      continue;
    }
    if (status === 'deleted') {
      out.push({ path: shown, oldPath, newPath, status, original: before, patched: '', hunks: p.hunks.length });
      continue;
    }
    const after = applyFilePatch(before, p);
    out.push({
      path: shown,
      oldPath,
      newPath,
      status,
      original: before,
      patched: after,
      error: after === undefined ? `the diff does not apply to ${oldPath ?? shown} as it is now` : undefined,
      hunks: p.hunks.length,
    });
  }
  return out;
}

/**
 * A reader for the state after applying `diffs` in order to `base` (files
 * the diffs do not touch are read from `base`). Files a diff fails to apply
 * to become unknown (undefined), so later reviews report them instead of
 * showing a wrong state.
 */
export function readerAfter(base: FileReader, diffs: string[]): FileReader {
  const changed = new Map<string, string | undefined>();
  const read = (p: string) => (changed.has(p) ? changed.get(p) : base(p));
  for (const d of diffs) {
    if (!d || !d.trim()) continue;
    let patches: StructuredPatch[];
    try {
      patches = filePatches(d);
    } catch {
      continue;
    }
    for (const p of patches) {
      const oldPath = clean(p.oldFileName);
      const newPath = clean(p.newFileName);
      if (!newPath) {
        if (oldPath) changed.set(oldPath, undefined);
        continue;
      }
      const before = oldPath ? read(oldPath) : '';
      const after = before === undefined ? undefined : applyFilePatch(before, p);
      if (oldPath && oldPath !== newPath) changed.set(oldPath, undefined);
      changed.set(newPath, after);
    }
  }
  return read;
}

/** The paths a diff touches (new path, or old path for a deletion), in order. */
export function diffPaths(diffText: string): string[] {
  try {
    return [...new Set(filePatches(diffText).map((p) => (clean(p.newFileName) ?? clean(p.oldFileName))!).filter(Boolean))];
  } catch {
    return [];
  }
}

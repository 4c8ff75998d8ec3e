/**
 * The bug artifact: the five files an injector submits, read from and
 * written to a folder, with structural validation. A malformed artifact is
 * an invalid artifact: every problem found here is reported against the
 * check that first consumes the faulty file, never thrown as a crash.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { parsePatch } from 'diff';
import { UsageError } from '../base/errors';
import { binaryHunks, describeBinaryHunk } from './binaryHunks';

export const TEST_SCRIPT = 'test_script.sh';
export const TEST_FILES = 'test_files.txt';
export const TEST_PARSER = 'test_parser.py';
export const BUG_INJECT = 'bug_inject.diff';
export const TEST_WEAKEN = 'test_weaken.diff';
/** Optional metadata SSR keeps beside the five files (order, parent, strategy). */
export const ARTIFACT_META = 'ssr.json';

export const ARTIFACT_FILES = [TEST_SCRIPT, TEST_FILES, TEST_PARSER, BUG_INJECT, TEST_WEAKEN] as const;
export type ArtifactFileName = (typeof ARTIFACT_FILES)[number];

export interface ArtifactMeta {
  /** 1 for a first-order bug, 2 for a higher-order bug made from a failed solver patch. */
  order?: number;
  /** Id of the artifact this one was derived from (higher-order bugs). */
  parent?: string;
  strategy?: string;
  /** Who made it: a policy kind, 'bootstrap', 'higher-order', 'fixture'... */
  source?: string;
  /** Tests whose outcome changed between runs of the original state (validation found them): left out of evaluation. */
  flaky?: string[];
  /** F: tests that pass on the original and fail with the full bug (validation found them); evaluation twins some of them. */
  oracleFailing?: string[];
  [k: string]: unknown;
}

export interface ArtifactFiles {
  testScript: string;
  testFiles: string[];
  testParser: string;
  bugInjectDiff: string;
  testWeakenDiff: string;
  meta?: ArtifactMeta;
}

/** Size limits; larger files make the artifact invalid. */
export const LIMITS = {
  [TEST_SCRIPT]: 256 * 1024,
  [TEST_FILES]: 256 * 1024,
  [TEST_PARSER]: 512 * 1024,
  [BUG_INJECT]: 4 * 1024 * 1024,
  [TEST_WEAKEN]: 4 * 1024 * 1024,
} as const;
export const MAX_TEST_FILES = 5000;

const FIELD: Record<ArtifactFileName, keyof ArtifactFiles> = {
  [TEST_SCRIPT]: 'testScript',
  [TEST_FILES]: 'testFiles',
  [TEST_PARSER]: 'testParser',
  [BUG_INJECT]: 'bugInjectDiff',
  [TEST_WEAKEN]: 'testWeakenDiff',
};

/** A structural problem with one of the five files. */
export interface ArtifactProblem {
  file: ArtifactFileName;
  message: string;
}

export function parseTestFiles(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.replace(/^\.\//, ''));
}

export function formatTestFiles(files: string[]): string {
  return files.join('\n') + (files.length ? '\n' : '');
}

/**
 * Reads the five files (and ssr.json when present) from a folder. Missing
 * or unreadable files are not fatal: they come back empty together with the
 * problems, so validation can report them as failed checks. Throws only
 * when the folder itself does not exist.
 */
export async function loadArtifact(dir: string): Promise<{ artifact: ArtifactFiles; problems: ArtifactProblem[] }> {
  const st = await fs.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UsageError(`artifact folder ${dir} does not exist; it must hold ${ARTIFACT_FILES.join(', ')}`);
  }
  const problems: ArtifactProblem[] = [];
  const text: Partial<Record<ArtifactFileName, string>> = {};
  for (const name of ARTIFACT_FILES) {
    const p = path.join(dir, name);
    const fst = await fs.stat(p).catch(() => undefined);
    if (!fst) {
      problems.push({ file: name, message: `${name} is missing from the artifact` });
      continue;
    }
    if (!fst.isFile()) {
      problems.push({ file: name, message: `${name} is not a regular file` });
      continue;
    }
    if (fst.size > LIMITS[name]) {
      problems.push({ file: name, message: `${name} is ${fst.size} bytes, over the ${LIMITS[name]}-byte limit` });
      continue;
    }
    text[name] = await fs.readFile(p, 'utf8');
  }
  let meta: ArtifactMeta | undefined;
  const metaText = await fs.readFile(path.join(dir, ARTIFACT_META), 'utf8').catch(() => undefined);
  if (metaText !== undefined) {
    try {
      meta = JSON.parse(metaText) as ArtifactMeta;
    } catch {
      meta = undefined; // metadata is advisory
    }
  }
  const artifact: ArtifactFiles = {
    testScript: text[TEST_SCRIPT] ?? '',
    testFiles: parseTestFiles(text[TEST_FILES] ?? ''),
    testParser: text[TEST_PARSER] ?? '',
    bugInjectDiff: text[BUG_INJECT] ?? '',
    testWeakenDiff: text[TEST_WEAKEN] ?? '',
    meta,
  };
  return { artifact, problems };
}

/** Reads an artifact and throws a UsageError listing what is wrong when a file is missing. */
export async function readArtifact(dir: string): Promise<ArtifactFiles> {
  const { artifact, problems } = await loadArtifact(dir);
  const missing = problems.filter((p) => /missing|not a regular/.test(p.message));
  if (missing.length) throw new UsageError(`${dir}: ${missing.map((p) => p.message).join('; ')}`);
  return artifact;
}

export async function writeArtifact(dir: string, a: ArtifactFiles): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, TEST_SCRIPT), a.testScript, { mode: 0o755 });
  await fs.writeFile(path.join(dir, TEST_FILES), formatTestFiles(a.testFiles));
  await fs.writeFile(path.join(dir, TEST_PARSER), a.testParser);
  await fs.writeFile(path.join(dir, BUG_INJECT), a.bugInjectDiff);
  await fs.writeFile(path.join(dir, TEST_WEAKEN), a.testWeakenDiff);
  if (a.meta) await fs.writeFile(path.join(dir, ARTIFACT_META), JSON.stringify(a.meta, null, 2) + '\n');
}

/** Builds an artifact from file contents keyed by the five file names. */
export function artifactFromFiles(files: Partial<Record<string, string>>, meta?: ArtifactMeta): ArtifactFiles {
  return {
    testScript: files[TEST_SCRIPT] ?? '',
    testFiles: parseTestFiles(files[TEST_FILES] ?? ''),
    testParser: files[TEST_PARSER] ?? '',
    bugInjectDiff: files[BUG_INJECT] ?? '',
    testWeakenDiff: files[TEST_WEAKEN] ?? '',
    meta,
  };
}

export function artifactToFiles(a: ArtifactFiles): Record<ArtifactFileName, string> {
  return {
    [TEST_SCRIPT]: a.testScript,
    [TEST_FILES]: formatTestFiles(a.testFiles),
    [TEST_PARSER]: a.testParser,
    [BUG_INJECT]: a.bugInjectDiff,
    [TEST_WEAKEN]: a.testWeakenDiff,
  };
}

/** A stable id for an artifact: a hash of its five files (metadata excluded). */
export function artifactId(a: ArtifactFiles): string {
  const h = createHash('sha256');
  for (const [name, content] of Object.entries(artifactToFiles(a))) h.update(`${name}\0${content}\0`);
  return h.digest('hex').slice(0, 12);
}

/** Why a repository-relative path is unsafe, or undefined when it is fine. */
export function unsafePathReason(p: string): string | undefined {
  if (!p) return 'an empty path';
  if (p.includes('\0')) return `the path ${JSON.stringify(p)} contains a NUL byte`;
  if (p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p)) return `the path ${p} is absolute; paths must be relative to the repository root`;
  const parts = p.split(/[\\/]+/);
  if (parts.includes('..')) return `the path ${p} leaves the repository (contains ..)`;
  if (parts[0] === '.git' || parts.includes('.git')) return `the path ${p} is inside .git`;
  return undefined;
}

export interface DiffFile {
  /** Path before the change (undefined for a new file). */
  oldPath?: string;
  /** Path after the change (undefined for a deleted file). */
  newPath?: string;
  hunks: number;
}

export interface ParsedDiff {
  files: DiffFile[];
  /** Every path the diff touches (old and new names). */
  paths: string[];
  error?: string;
}

function stripPrefix(name: string | undefined): string | undefined {
  if (!name || name === '/dev/null') return undefined;
  const clean = name.replace(/\t.*$/, '').trim();
  if (clean === '/dev/null') return undefined;
  return clean.replace(/^[ab]\//, '');
}

/**
 * Parses a unified (git-style) diff and lists the files it touches. Git
 * headers without hunks (pure renames, mode changes, binary files) count too.
 * An empty diff parses to no files; text that is not a diff is an error.
 */
export function parseDiff(text: string): ParsedDiff {
  if (!text.trim()) return { files: [], paths: [] };
  let patches;
  try {
    patches = parsePatch(text);
  } catch (err) {
    return { files: [], paths: [], error: `not a valid unified diff: ${(err as Error).message}` };
  }
  const files: DiffFile[] = [];
  for (const p of patches) {
    const oldPath = stripPrefix(p.oldFileName);
    const newPath = stripPrefix(p.newFileName);
    if (!oldPath && !newPath && p.hunks.length === 0) continue;
    files.push({ oldPath, newPath, hunks: p.hunks.length });
  }
  // `diff --git a/X b/Y` headers with no ---/+++ lines (renames, mode-only, binary).
  const gitHeader = /^diff --git a\/(\S+) b\/(\S+)$/gm;
  for (const m of text.matchAll(gitHeader)) {
    if (!files.some((f) => f.oldPath === m[1] || f.newPath === m[2])) files.push({ oldPath: m[1], newPath: m[2], hunks: 0 });
  }
  if (files.length === 0) return { files: [], paths: [], error: 'not a unified diff: no file headers (--- a/PATH, +++ b/PATH) found' };
  const paths = [...new Set(files.flatMap((f) => [f.oldPath, f.newPath]).filter((x): x is string => Boolean(x)))];
  return { files, paths };
}

/** Files a diff changes: the new path, or the old one for a deletion. */
export function changedFiles(d: ParsedDiff): string[] {
  return [...new Set(d.files.map((f) => f.newPath ?? f.oldPath).filter((x): x is string => Boolean(x)))];
}

/** Checks a diff's structure and paths; returns the problem or undefined. */
export function diffProblem(name: ArtifactFileName, text: string, allowEmpty: boolean): string | undefined {
  const d = parseDiff(text);
  if (d.error) return `${name} is ${d.error}`;
  if (d.files.length === 0 && !allowEmpty) return `${name} is empty`;
  for (const p of d.paths) {
    const why = unsafePathReason(p);
    if (why) return `${name} touches ${why}`;
  }
  const binary = binaryHunks(text);
  if (binary.length) {
    return `${name} has a binary hunk for ${binary.slice(0, 3).map(describeBinaryHunk).join(', ')}: an artifact's diffs must be text, which the judge can read and check`;
  }
  return undefined;
}

/** All structural problems of an artifact (beyond missing files). */
export function structuralProblems(a: ArtifactFiles): ArtifactProblem[] {
  const problems: ArtifactProblem[] = [];
  if (!a.testScript.trim()) problems.push({ file: TEST_SCRIPT, message: `${TEST_SCRIPT} is empty` });
  if (!a.testParser.trim()) problems.push({ file: TEST_PARSER, message: `${TEST_PARSER} is empty` });
  if (a.testFiles.length === 0) problems.push({ file: TEST_FILES, message: `${TEST_FILES} lists no test files` });
  if (a.testFiles.length > MAX_TEST_FILES) {
    problems.push({ file: TEST_FILES, message: `${TEST_FILES} lists ${a.testFiles.length} files, over the limit of ${MAX_TEST_FILES}` });
  }
  for (const f of a.testFiles) {
    const why = unsafePathReason(f);
    if (why) {
      problems.push({ file: TEST_FILES, message: `${TEST_FILES} lists ${why}` });
      break;
    }
  }
  const bug = diffProblem(BUG_INJECT, a.bugInjectDiff, false);
  if (bug) problems.push({ file: BUG_INJECT, message: bug });
  const weaken = diffProblem(TEST_WEAKEN, a.testWeakenDiff, false);
  if (weaken) problems.push({ file: TEST_WEAKEN, message: weaken });
  return problems;
}

export function fieldOf(name: ArtifactFileName): keyof ArtifactFiles {
  return FIELD[name];
}

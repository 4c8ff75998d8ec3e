/**
 * Reading what a repository declares: files that exist, JSON with comments
 * (devcontainer.json), lifecycle commands as bash lines, and the manifests
 * that become inputs of an image (its name is a hash of them).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseJsonc, type ParseError } from 'jsonc-parser';
import { UsageError } from '../base/errors';
import type { EnvPlan } from './planTypes';

export const PY_MANIFESTS = ['pyproject.toml', 'setup.py', 'setup.cfg'];
export const NODE_LOCKS: Array<[string, 'npm' | 'yarn' | 'pnpm' | 'bun']> = [
  ['package-lock.json', 'npm'],
  ['npm-shrinkwrap.json', 'npm'],
  ['yarn.lock', 'yarn'],
  ['pnpm-lock.yaml', 'pnpm'],
  ['bun.lockb', 'bun'],
  ['bun.lock', 'bun'],
];

export function exists(repoDir: string, rel: string): boolean {
  return fs.existsSync(path.join(repoDir, rel));
}

export function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Reads a JSON-with-comments file (devcontainer.json), failing with the place of the error. */
export function readJsonc(file: string): Record<string, unknown> {
  const errors: ParseError[] = [];
  const value = parseJsonc(readText(file), errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length || !value || typeof value !== 'object') {
    const at = errors[0] ? ` at offset ${errors[0].offset}` : '';
    throw new UsageError(`${file}: not valid JSON with comments${at}; fix the file or remove it.`);
  }
  return value as Record<string, unknown>;
}

/** A lifecycle command (string, array, or object of named commands) as bash lines. */
export function lifecycleLines(v: unknown): string[] {
  if (typeof v === 'string') return v.trim() ? [v] : [];
  if (Array.isArray(v)) return v.length ? [v.map((a) => shellQuote(String(a))).join(' ')] : [];
  if (v && typeof v === 'object') return Object.values(v as Record<string, unknown>).flatMap(lifecycleLines);
  return [];
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function hashInputs(inputs: Record<string, string>): string {
  const h = crypto.createHash('sha256');
  for (const k of Object.keys(inputs).sort()) h.update(`${k}\0${inputs[k]}\0`);
  return h.digest('hex');
}

/** The image name of a plan: `ssr-env-<repo>:<hash of the inputs>`. */
export function imageName(plan: EnvPlan): string {
  const slug = path.basename(plan.repoDir).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '') || 'repo';
  const inputs = Object.keys(plan.env ?? {}).length ? { ...plan.inputs, env: JSON.stringify(plan.env) } : plan.inputs;
  return `ssr-env-${slug.slice(0, 60)}:${hashInputs(inputs).slice(0, 16)}`;
}

export function addFileInput(inputs: Record<string, string>, repoDir: string, rel: string): void {
  const file = path.resolve(repoDir, rel);
  if (fs.existsSync(file) && fs.statSync(file).isFile()) inputs[`file:${rel}`] = readText(file);
}


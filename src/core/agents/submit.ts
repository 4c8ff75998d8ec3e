/** What `submit` does for each role: collect the injector's five files, or the solver's patch. */
import * as path from 'node:path';
import { ARTIFACT_FILES, artifactFromFiles, changedFiles, parseDiff, type ArtifactFiles } from '../artifact/artifact';
import { sh } from '../sandbox/baseline';
import { TEST_UID } from '../sandbox/docker';
import type { SandboxLike } from '../sandbox/types';
import { SandboxError } from '../base/errors';
import type { AgentContext, SubmitOutcome } from './options';
import type { SubmitArgs } from './protocol';
import { readAsAgent } from './files';
import { AGENT_USER } from './shell';

/** Paths of the five files, by name, from what the model named. */
export function resolveArtifactPaths(
  args: SubmitArgs,
  resolve: (p: string) => string,
  defaults: string[],
): { ok: true; candidates: Record<string, string[]> } | { ok: false; error: string } {
  const names = [...ARTIFACT_FILES] as string[];
  const candidates: Record<string, string[]> = {};
  if (args.paths.length === 0) {
    for (const n of names) candidates[n] = defaults.map((d) => path.posix.join(d, n));
    return { ok: true, candidates };
  }
  if (args.paths.length === 1) {
    const p = resolve(args.paths[0]);
    const base = path.posix.basename(p);
    if (names.includes(base)) {
      return { ok: false, error: `submit names one file (${p}); give the folder that holds all five files, or the five paths.` };
    }
    for (const n of names) candidates[n] = [path.posix.join(p, n)];
    return { ok: true, candidates };
  }
  if (args.paths.length !== names.length) {
    return {
      ok: false,
      error:
        `submit takes nothing, one folder, or the five paths (${names.join(', ')}); you gave ${args.paths.length}. ` +
        'Nothing was submitted.',
    };
  }
  const resolved = args.paths.map(resolve);
  const bases = resolved.map((p) => path.posix.basename(p));
  if (names.every((n) => bases.includes(n))) {
    for (const n of names) candidates[n] = [resolved[bases.indexOf(n)]];
  } else {
    names.forEach((n, i) => (candidates[n] = [resolved[i]]));
  }
  return { ok: true, candidates };
}

/**
 * Makes the folder the injector writes its artifact into (outside the
 * repository, so it is in no diff), owned by the agent's user.
 */
export async function makeArtifactDir(sb: SandboxLike, dir: string): Promise<void> {
  const r = await sb.exec(`mkdir -p -- ${sh(dir)} && chown ${TEST_UID}:${TEST_UID} ${sh(dir)}`, { cwd: '/', timeoutMs: 30_000 });
  if (r.exitCode !== 0) throw new SandboxError(`making the artifact folder ${dir} failed: ${r.stderr.trim().slice(-500)}`);
}

/**
 * The injector's submit: reads the five files out of the sandbox, removes
 * those inside the repository (so that they appear in no diff), and returns
 * the artifact. Missing files are an error observation: the agent can fix
 * them and submit again.
 */
export function injectorSubmit(artifactDir: string) {
  return async (args: SubmitArgs, ctx: AgentContext): Promise<SubmitOutcome<ArtifactFiles>> => {
    const sb = ctx.sandbox;
    const r = resolveArtifactPaths(args, (p) => ctx.shell.resolve(p), [artifactDir, sb.repoPath]);
    if (!r.ok) return { ok: false, error: r.error };
    const all = Object.values(r.candidates).flat();
    const probe = await sb.exec(all.map((p) => `if [ -f ${sh(p)} ]; then echo 1; else echo 0; fi`).join('\n'), {
      cwd: '/',
      timeoutMs: 30_000,
      ...AGENT_USER,
    });
    const exists = probe.stdout.trim().split('\n');
    const found: Record<string, string> = {};
    let k = 0;
    for (const [name, paths] of Object.entries(r.candidates)) {
      for (const p of paths) {
        if (exists[k++] === '1' && !found[name]) found[name] = p;
      }
    }
    const missing = Object.keys(r.candidates).filter((n) => !found[n]);
    if (missing.length) {
      const where = missing.map((n) => `${n} (looked for ${r.candidates[n].join(' and ')})`).join('; ');
      return { ok: false, error: `the artifact is incomplete, nothing was submitted. Missing: ${where}.` };
    }
    const files: Record<string, string> = {};
    for (const [name, p] of Object.entries(found)) {
      const read = await readAsAgent(sb, p);
      if (!read.ok) return { ok: false, error: `${p} cannot be read: ${read.error}. Nothing was submitted.` };
      files[name] = read.content;
    }
    const inRepo = Object.values(found).filter((p) => p === sb.repoPath || p.startsWith(sb.repoPath + '/'));
    if (inRepo.length) await sb.exec(`rm -f -- ${inRepo.map(sh).join(' ')}`, { cwd: '/', timeoutMs: 30_000, ...AGENT_USER });
    const artifact = artifactFromFiles(files);
    const bug = parseDiff(artifact.bugInjectDiff);
    const bugFiles = bug.error ? [] : changedFiles(bug);
    return {
      ok: true,
      value: artifact,
      submission: artifact.bugInjectDiff,
      message:
        `Submitted the artifact: ${artifact.testFiles.length} test file(s); bug_inject.diff changes ${bugFiles.length} file(s)` +
        `${bugFiles.length ? ` (${bugFiles.slice(0, 5).join(', ')}${bugFiles.length > 5 ? ', ...' : ''})` : ''}. It will now be validated.`,
    };
  };
}

/**
 * The solver's submit: the named patch file, or the diff of the working tree
 * against the starting state. An empty patch is an error observation.
 */
export function solverSubmit() {
  return async (args: SubmitArgs, ctx: AgentContext): Promise<SubmitOutcome<string>> => {
    if (args.paths.length > 1) {
      return { ok: false, error: `submit takes at most one path (a patch file); you gave ${args.paths.length}. Nothing was submitted.` };
    }
    let patch: string;
    if (args.paths.length === 1) {
      const p = ctx.shell.resolve(args.paths[0]);
      const read = await readAsAgent(ctx.sandbox, p);
      if (!read.ok) return { ok: false, error: `there is no file ${p} the agent can read (${read.error}); nothing was submitted.` };
      patch = read.content;
      if (!patch.trim()) return { ok: false, error: `${p} is empty; nothing was submitted.` };
    } else {
      patch = await ctx.workspace.cumulativeDiff();
      if (!patch.trim()) {
        return { ok: false, error: 'the working tree has no changes against the starting commit, so there is nothing to submit. Fix the code first.' };
      }
    }
    const d = parseDiff(patch);
    const files = d.error ? [] : changedFiles(d);
    return {
      ok: true,
      value: patch,
      submission: patch,
      message: `Submitted a patch that changes ${files.length} file(s)${files.length ? `: ${files.slice(0, 5).join(', ')}${files.length > 5 ? ', ...' : ''}` : ''}. It will now be evaluated.`,
    };
  };
}

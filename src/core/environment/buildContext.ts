/**
 * The build context of SSR's layer, written to a fresh folder: the host's
 * CA bundle, the helpers the steps run, the Dev Container Features, the
 * repository's files the steps need (all of them, or the manifests), the
 * Dockerfile and the step scripts; and a repository folder packed as the
 * context of the user's own Dockerfile.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar-fs';
import { renderDockerfile } from './dockerfile';
import type { EnvPlan } from './plan';
import type { FeaturePlan } from './planTypes';
import ENV_PY from './py/ssr_env_py.py';
import FEATURES_PY from './py/ssr_features.py';

function walkRepo(repoDir: string): string[] {
  const skip = new Set(['.git', '.ssr', 'node_modules', '__pycache__', '.venv', '.tox', '.nox']);
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(path.join(repoDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skip.has(e.name)) visit(r);
      } else if (e.isFile() || e.isSymbolicLink()) out.push(r);
    }
  };
  visit('');
  return out;
}

/** A build context from a folder of the repository, without .git, .ssr and installed dependencies. */
export function packContext(dir: string): NodeJS.ReadableStream {
  return tar.pack(dir, {
    ignore: (name: string) => {
      const rel = path.relative(dir, name).split(path.sep);
      return rel.includes('.git') || rel.includes('.ssr') || rel.includes('node_modules');
    },
  }) as unknown as NodeJS.ReadableStream;
}

function writeFeatures(ctx: string, features: FeaturePlan[]): void {
  fs.writeFileSync(path.join(ctx, 'ssr_features.py'), FEATURES_PY);
  fs.mkdirSync(path.join(ctx, 'features'), { recursive: true });
  features.forEach((f, i) => {
    const dest = path.join(ctx, 'features', String(i));
    if (f.dir) fs.cpSync(f.dir, dest, { recursive: true });
    else fs.mkdirSync(dest);
  });
  fs.writeFileSync(path.join(ctx, 'features', 'features.json'), JSON.stringify(features.map((f) => ({ key: f.key, remote: f.remote, options: f.options ?? null }))));
}

/** The repository's files the steps need: all of them (with their list, to take them out again), else the manifests. */
function writeRepoFiles(ctx: string, plan: EnvPlan): void {
  if (plan.copyRepo) {
    const files = walkRepo(plan.repoDir);
    for (const f of files) {
      const dest = path.join(ctx, 'repo', f);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.cpSync(path.join(plan.repoDir, f), dest, { verbatimSymlinks: true });
    }
    fs.mkdirSync(path.join(ctx, 'repo'), { recursive: true });
    fs.writeFileSync(path.join(ctx, 'repo-files.txt'), files.join('\n') + '\n');
  } else {
    for (const f of plan.copyFiles) {
      const dest = path.join(ctx, 'files', f);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(path.join(plan.repoDir, f), dest);
    }
  }
}

/** Writes SSR's layer's build context into `ctx`, on top of the image `from`; `ca` is the host's CA bundle, if any. */
export function writeContext(ctx: string, plan: EnvPlan, from: string, ca: string | undefined): void {
  if (ca) fs.copyFileSync(ca, path.join(ctx, 'host-ca.crt'));
  if (plan.needsPyHelper) fs.writeFileSync(path.join(ctx, 'ssr_env_py.py'), ENV_PY);
  if (plan.features?.length) writeFeatures(ctx, plan.features);
  writeRepoFiles(ctx, plan);
  const rendered = renderDockerfile(plan, from, Boolean(ca));
  fs.writeFileSync(path.join(ctx, 'Dockerfile'), rendered.dockerfile);
  fs.mkdirSync(path.join(ctx, 'steps'));
  rendered.scripts.forEach((text, i) => fs.writeFileSync(path.join(ctx, 'steps', `${i}.sh`), text));
}

/**
 * Dev Container Features: the ones devcontainer.json declares, in the
 * spec's install order, local ones read from .devcontainer/.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../base/errors';
import { readJsonc } from './manifests';
import type { FeaturePlan } from './planTypes';

/** A feature's id for installsAfter/dependsOn matching: without a version tag or digest. */
function featureBaseId(key: string): string {
  return key.replace(/@sha256:.*$/, '').replace(/:[^/]*$/, '').replace(/\/$/, '');
}

/** A declared feature with what orders it: the ids it installs after, and its own ids. */
type FeatureItem = FeaturePlan & { after: string[]; ids: string[] };

/** Every file of a folder, sorted, recursively. */
function filesUnder(dir: string): string[] {
  const files: string[] = [];
  const visit = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) visit(f);
      else if (e.isFile()) files.push(f);
    }
  };
  visit(dir);
  return files;
}

/** An OCI reference: installed by the features helper at build time; a tarball URL or an absolute path is refused. */
function remoteFeature(dcFile: string, key: string, options: unknown, inputs: Record<string, string>): FeatureItem {
  if (/^(https?:\/\/|\/)/.test(key) || key.endsWith('.tgz')) {
    throw new UsageError(
      `${dcFile}: the feature ${key} is a tarball URL or an absolute path; SSR installs local features ("./NAME" in .devcontainer/) ` +
        'and OCI references. Copy the feature into .devcontainer/ and name it "./NAME", or install it in a Dockerfile.',
    );
  }
  inputs[`feature:${key}`] = JSON.stringify(options ?? null);
  return { key, remote: true, options, after: [], ids: [featureBaseId(key)] };
}

/** A local feature ("./x", relative to .devcontainer/): its metadata, containerEnv and files read here. */
function localFeature(dcFile: string, dcDir: string, key: string, options: unknown, inputs: Record<string, string>, env: Record<string, string>): FeatureItem {
  const dir = path.resolve(dcDir, key);
  const metaFile = path.join(dir, 'devcontainer-feature.json');
  if (!fs.existsSync(metaFile) || !fs.existsSync(path.join(dir, 'install.sh'))) {
    throw new UsageError(
      `${dcFile}: the local feature ${key} needs ${path.relative(path.dirname(dcDir), metaFile)} and install.sh next to it (${dir}).`,
    );
  }
  const meta = readJsonc(metaFile) as { id?: string; containerEnv?: Record<string, string>; installsAfter?: string[]; dependsOn?: Record<string, unknown> };
  for (const [k, v] of Object.entries(meta.containerEnv ?? {})) env[k] = String(v);
  for (const f of filesUnder(dir)) inputs[`feature:${key}:${path.relative(dir, f)}`] = fs.readFileSync(f).toString('base64');
  inputs[`feature:${key}`] = JSON.stringify(options ?? null);
  const after = [...(meta.installsAfter ?? []), ...Object.keys(meta.dependsOn ?? {})].map(featureBaseId);
  return { key, dir, remote: false, options, after, ids: [featureBaseId(key), ...(meta.id ? [meta.id] : [])] };
}

/** The spec's install order: the override first, then each after what it names (when present), else declaration order. */
function installOrder(items: FeatureItem[], overrideOrder: string[]): FeatureItem[] {
  const override = overrideOrder.map(featureBaseId);
  const ordered: FeatureItem[] = [];
  for (const id of override) {
    const f = items.find((x) => x.ids.includes(id) && !ordered.includes(x));
    if (f) ordered.push(f);
  }
  const rest = items.filter((x) => !ordered.includes(x));
  const present = (id: string) => items.some((x) => x.ids.includes(id));
  while (rest.length) {
    const done = (id: string) => !present(id) || ordered.some((x) => x.ids.includes(id));
    let i = rest.findIndex((x) => x.after.every(done));
    if (i < 0) i = 0; // a cycle: declaration order
    ordered.push(rest.splice(i, 1)[0]);
  }
  return ordered;
}

/**
 * The Dev Container Features of a devcontainer.json, in install order:
 * `overrideFeatureInstallOrder` first, then each feature after the ones its
 * `installsAfter` and `dependsOn` name (when they are in the set), else in
 * declaration order. Local features ("./x", relative to .devcontainer/) are
 * read here: their options, containerEnv and files are inputs of the image.
 */
export function planFeatures(
  dcFile: string,
  dcDir: string,
  dc: Record<string, unknown>,
  inputs: Record<string, string>,
  env: Record<string, string>,
): FeaturePlan[] {
  const declared = (dc.features ?? {}) as Record<string, unknown>;
  const items: FeatureItem[] = [];
  for (const [key, options] of Object.entries(declared)) {
    if (options === false) continue;
    const local = key.startsWith('./') || key.startsWith('../');
    items.push(local ? localFeature(dcFile, dcDir, key, options, inputs, env) : remoteFeature(dcFile, key, options, inputs));
  }
  const ordered = installOrder(items, (dc.overrideFeatureInstallOrder ?? []) as string[]);
  return ordered.map(({ key, dir, remote, options }) => ({ key, dir, remote, options }));
}

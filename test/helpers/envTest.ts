/** Shared by the environment integration tests: a scratch folder, `ssr env build --json`, a sandbox for one check. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerSandbox } from '../../src/core/sandbox';
import { runCli } from './cli';
import { copyFixture } from './fixtures';
import { FIXTURES } from './paths';

/** A fresh folder named `name` (image names come from the folder's name). */
export function work(name: string): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ssr-env-test-')), name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs `fn` in a sandbox of `repoDir` on `image`, disposed after. */
export async function inSandbox<T>(repoDir: string, image: string, fn: (sb: DockerSandbox) => Promise<T>): Promise<T> {
  const sb = await DockerSandbox.create({ repoDir, image });
  try {
    return await fn(sb);
  } finally {
    await sb.dispose();
  }
}

export interface EnvBuildJson {
  image: string;
  source: string;
  cached: boolean;
  declaredBy: string[];
  notes: string[];
}

/** `ssr env build --repo DIR --json` on `repo` (a fixture's name copies that fixture into a fresh folder first). */
export async function envBuild(repo: string): Promise<{ repo: string; out: EnvBuildJson }> {
  if (!path.isAbsolute(repo)) {
    const dir = work(repo);
    copyFixture(path.join(FIXTURES, 'repos', repo), dir);
    repo = dir;
  }
  const r = await runCli(['env', 'build', '--repo', repo, '--json']);
  if (r.code !== 0) throw new Error(`ssr env build failed (exit ${r.code}): ${r.stderr}`);
  return { repo, out: JSON.parse(r.stdout) as EnvBuildJson };
}

/** Shared by the environment integration tests: a scratch folder, a sandbox for one check. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DockerSandbox } from '../../src/core/sandbox';

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

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/**
 * Copies a fixture repository for a test, leaving out what a run may have
 * written into it (.ssr/, Python caches, installed node_modules), so a test
 * sees the fixture as committed whatever ran before it.
 */
export function copyFixture(src: string, dest: string): void {
  const skip = new Set(['.ssr', '__pycache__', 'node_modules', '.pytest_cache']);
  fs.cpSync(src, dest, {
    recursive: true,
    filter: (p) => !path.relative(src, p).split(path.sep).some((part) => skip.has(part)),
  });
}

/** A fresh temporary folder holding `files` (repo-relative path -> text). */
export function writeRepo(files: Record<string, string>, prefix = 'ssr-repo-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

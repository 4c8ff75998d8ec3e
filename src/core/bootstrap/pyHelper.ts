/** The Python helper (ssr_boot.py and its modules) in a sandbox: installed once per sandbox, then called with one JSON request. */
import type { SandboxLike } from '../sandbox/types';
import { COVERAGE_DIR, HELPER_DIR, HELPER_FILES, HELPER_PATH, SITECUSTOMIZE_PY } from './helperSource';
import { callHelper } from './helperCall';

const installed = new WeakSet<SandboxLike>();

async function installHelper(sb: SandboxLike): Promise<void> {
  if (installed.has(sb)) return;
  for (const [name, source] of HELPER_FILES) await sb.writeFile(`${HELPER_DIR}/${name}`, source, 0o644);
  await sb.writeFile(`${COVERAGE_DIR}/sitecustomize.py`, SITECUSTOMIZE_PY, 0o644);
  installed.add(sb);
}

export async function helper<T>(sb: SandboxLike, cmd: string, req: Record<string, unknown>, signal?: AbortSignal): Promise<T> {
  await installHelper(sb);
  return callHelper<T>(sb, 'bootstrap helper', `python3 ${HELPER_PATH} ${cmd}`, cmd, req, signal);
}

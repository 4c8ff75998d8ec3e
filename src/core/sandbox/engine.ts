/**
 * The container engine as SSR meets it: the client (DOCKER_HOST or the
 * default socket, podman's Docker-compatible socket too), the labels every
 * SSR container carries, the checks that say how to fix a missing engine or
 * image, and the removal of containers (forced, retried, stale ones reaped).
 */
import Docker from 'dockerode';
import * as os from 'node:os';
import { EnvironmentError } from '../base/errors';

export const DEFAULT_IMAGE = 'ssr-sandbox:bookworm';

export const LABEL = 'ssr.managed';
export const LABEL_PID = 'ssr.owner.pid';
export const LABEL_HOST = 'ssr.owner.host';

/** Extra labels from SSR_LABELS="key=value,key2=value2" (to tag a CI job's or a test run's containers). */
export function envLabels(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (process.env.SSR_LABELS ?? '').split(',')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

let sharedDocker: { host: string | undefined; client: Docker } | undefined;
/** The engine client: one per value of DOCKER_HOST (re-read on each call, so a changed DOCKER_HOST is honoured). */
export function docker(): Docker {
  // dockerode reads DOCKER_HOST (tcp or unix, podman's socket too) or uses /var/run/docker.sock.
  const host = process.env.DOCKER_HOST;
  if (!sharedDocker || sharedDocker.host !== host) sharedDocker = { host, client: new Docker() };
  return sharedDocker.client;
}

export function engineHint(): string {
  const where = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  return (
    `cannot reach a Docker engine at ${where}. Start one (Debian: \`apt-get install docker.io && dockerd &\`, ` +
    `or Docker Desktop / podman with its Docker-compatible socket) or point DOCKER_HOST at it.`
  );
}

/** Throws an EnvironmentError that says how to fix it when the engine or the image is missing. */
export async function ensureEngineAndImage(image: string, d: Docker = docker()): Promise<void> {
  try {
    await d.ping();
  } catch (err) {
    throw new EnvironmentError(`${engineHint()} (${(err as Error).message})`);
  }
  try {
    await d.getImage(image).inspect();
  } catch {
    const hint =
      image === DEFAULT_IMAGE
        ? 'build it with `npm run image:base` (no registry needed)'
        : `build or load it first (\`docker images ${image.split(':')[0]}\` lists what the engine has)`;
    throw new EnvironmentError(`the sandbox image ${image} is not present in the Docker engine: ${hint}.`);
  }
}

/**
 * Removes a container, forcing it. The engine can refuse a removal that races a start under
 * load: that is tried again. 404 (already gone, auto-removal won the race) and 409 (a removal
 * already in progress) count as removed.
 */
export async function removeContainer(container: Docker.Container): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await container.remove({ force: true });
      return;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 || status === 409) return;
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
}

/** Whether a process of this host is alive (a process we may not signal counts as alive). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes SSR containers left by processes of this host that are gone
 * (a crash, a kill -9). Containers of live processes are left alone.
 * Returns the ids removed.
 */
export async function reapStale(d: Docker = docker()): Promise<string[]> {
  const list = await d.listContainers({ all: true, filters: { label: [LABEL] } });
  const host = os.hostname();
  const stale = list.filter((c) => {
    const owner = Number(c.Labels[LABEL_PID]);
    if (c.Labels[LABEL_HOST] !== host) return false;
    return !owner || (owner !== process.pid && !pidAlive(owner));
  });
  await Promise.allSettled(stale.map((c) => d.getContainer(c.Id).remove({ force: true })));
  return stale.map((c) => c.Id.slice(0, 12));
}

/** Lists SSR containers, optionally only those carrying a label value. */
export async function listSandboxes(label?: Record<string, string>, d: Docker = docker()): Promise<string[]> {
  const filters = [LABEL, ...Object.entries(label ?? {}).map(([k, v]) => `${k}=${v}`)];
  const list = await d.listContainers({ all: true, filters: { label: filters } });
  return list.map((c) => c.Id.slice(0, 12));
}

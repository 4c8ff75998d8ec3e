/**
 * The container a sandbox runs in: SSR's runner as its main process,
 * hardened (no network, capabilities dropped, limits, no-new-privileges),
 * labelled and auto-removed; and its creation, tracked while the engine
 * makes it.
 */
import Docker from 'dockerode';
import * as os from 'node:os';
import { RUNNER_BOOT, runnerArgs } from './runnerSource';
import { DEFAULT_IMAGE, LABEL, LABEL_HOST, LABEL_PID, engineHint, envLabels } from './engine';
import { creating } from './lifecycle';
import { EnvironmentError, SandboxError } from '../base/errors';

export interface SandboxLimits {
  /** Memory limit in bytes (swap is not added). Default 4 GiB. */
  memoryBytes?: number;
  /** Maximum processes in the container. Default 1024. */
  pidsLimit?: number;
  /** CPU limit in cores. Default: all cores of the host. */
  cpus?: number;
}

export interface SandboxOptions extends SandboxLimits {
  image?: string;
  /** Host folder copied into the container at repoPath. */
  repoDir?: string;
  /** The image already holds the repository at this path (SWE-bench style); nothing is copied. */
  repoInImage?: string;
  /** Where the repository lives in the container when copied. Default /repo. */
  repoPath?: string;
  /** Copy the repository's own .git (its history) too. Default false. */
  includeGit?: boolean;
  /** Extra labels, e.g. the run id. */
  labels?: Record<string, string>;
  /** Network mode. Default 'none'. */
  network?: string;
  signal?: AbortSignal;
  docker?: Docker;
}

/** Capabilities kept: what running a test suite as root inside a throwaway container needs. */
const KEPT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID'];

/** The container a sandbox runs in: SSR's runner as its main process, hardened, labelled, auto-removed. */
export function containerSpec(image: string, opts: SandboxOptions): Docker.ContainerCreateOptions {
  return {
    Image: image,
    Entrypoint: ['python3', '-u', '-c', RUNNER_BOOT],
    Cmd: runnerArgs(),
    WorkingDir: '/',
    Tty: false,
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Env: ['HOME=/root', 'LANG=C.UTF-8', 'PYTHONDONTWRITEBYTECODE=1', 'GIT_TERMINAL_PROMPT=0'],
    Labels: { [LABEL]: '1', [LABEL_PID]: String(process.pid), [LABEL_HOST]: os.hostname(), ...envLabels(), ...(opts.labels ?? {}) },
    HostConfig: {
      // A real init as PID 1 reaps orphans (a fork bomb's zombies would
      // otherwise hold the pids limit forever); the runner is its child.
      Init: true,
      AutoRemove: true,
      NetworkMode: opts.network ?? 'none',
      Memory: opts.memoryBytes ?? 4 * 1024 ** 3,
      MemorySwap: opts.memoryBytes ?? 4 * 1024 ** 3,
      PidsLimit: opts.pidsLimit ?? 1024,
      NanoCpus: Math.round((opts.cpus ?? os.cpus().length) * 1e9),
      CapDrop: ['ALL'],
      CapAdd: KEPT_CAPS,
      SecurityOpt: ['no-new-privileges'],
    },
  };
}

/** Creates the container, tracked while the engine makes it (a signal then removes it too); errors say how to fix them. */
export async function createContainer(d: Docker, image: string, spec: Docker.ContainerCreateOptions): Promise<Docker.Container> {
  const made = d.createContainer(spec);
  creating.add(made);
  try {
    return await made;
  } catch (err) {
    const msg = (err as Error).message;
    if (/no such image|not found/i.test(msg)) {
      throw new EnvironmentError(
        `the sandbox image ${image} is not present in the Docker engine: ` +
          (image === DEFAULT_IMAGE ? 'build it with `npm run image:base`.' : 'build or load it first.'),
      );
    }
    if (/ECONNREFUSED|ENOENT|EACCES|socket/i.test(msg)) throw new EnvironmentError(`${engineHint()} (${msg})`);
    throw new SandboxError(`could not create a sandbox from ${image}: ${msg}`);
  } finally {
    creating.delete(made);
  }
}

export * from './types';
export {
  DockerSandbox,
  DEFAULT_IMAGE,
  DEFAULT_REPO_PATH,
  DEFAULT_TIMEOUT_MS,
  docker,
  disposeAll,
  ensureEngineAndImage,
  joinCapped,
  listSandboxes,
  liveSandboxCount,
  reapStale,
  type SandboxOptions,
  type SandboxLimits,
} from './docker';
export * from './baseline';
export { SandboxPool } from "./pool";

/**
 * The environment plan as data: where an image comes from (a devcontainer,
 * a Dockerfile, a recipe, the base image), its build steps, features,
 * environment and the inputs hashed into its name.
 */

export type EnvSource = 'devcontainer' | 'dockerfile' | 'recipe' | 'base';

/** Bumped when the way images are built changes, so old images are not reused. */
export const ENV_FORMAT = 3;

/** A build step of SSR's layer: one RUN, named in logs and errors. */
export interface EnvStep {
  name: string;
  /** bash script run in /repo. */
  run: string;
}

export interface UserBuild {
  /** Absolute path of the Dockerfile. */
  dockerfile: string;
  /** Absolute path of the build context. */
  context: string;
  args: Record<string, string>;
  target?: string;
}

/** A Dev Container Feature to install in the image, in install order. */
export interface FeaturePlan {
  /** As devcontainer.json names it ("./local-feature", "REGISTRY/owner/repo/name:1"). */
  key: string;
  /** A local feature's folder (absolute); remote features have none. */
  dir?: string;
  remote: boolean;
  /** What devcontainer.json gives: an options object, or a string (the `version` option). */
  options: unknown;
}

export interface EnvPlan {
  source: EnvSource;
  repoDir: string;
  /** What the environment was derived from (repo-relative paths). */
  declaredBy: string[];
  /** The image SSR's layer starts from (when there is no user build). */
  fromImage?: string;
  /** A Dockerfile to build first; SSR's layer goes on top of it. */
  userBuild?: UserBuild;
  /** Repo-relative files copied into /repo before the steps (manifests). */
  copyFiles: string[];
  /** Copy the whole repository in for the steps, and remove its files after (lifecycle commands). */
  copyRepo: boolean;
  /** Python recipe helper needed in the context. */
  needsPyHelper: boolean;
  steps: EnvStep[];
  /** Dev Container Features, in install order (their files go into the build context). */
  features?: FeaturePlan[];
  /** Environment variables of the image (ENV), for the build steps and every sandbox. */
  env: Record<string, string>;
  notes: string[];
  /** Everything the image depends on, hashed into its tag. */
  inputs: Record<string, string>;
}

export interface PlanOptions {
  /** A Dockerfile named in the settings (repo-relative or absolute). */
  dockerfile?: string;
  /** The SSR base image. */
  baseImage: string;
  /** Whether an image exists in the engine (for devcontainer `image`). */
  imageExists?: (name: string) => Promise<boolean>;
}

/**
 * Repository environments: the image a repository's tests run in, built from
 * what the repository declares (devcontainer, a Dockerfile named in the
 * settings, a recipe from its manifests) on top of SSR's base image.
 */
export { planEnvironment, imageName, readJsonc, lifecycleLines, ENV_FORMAT, type EnvPlan, type EnvSource, type EnvStep } from './plan';
export { buildEnvironment, findEnvironment, planFor, hostCaBundle, type EnvResult, type BuildOptions } from './build';
export { renderDockerfile } from './dockerfile';
export { EnvironmentBuildError } from './dockerBuild';
export { chooseImage, type ImageChoice } from './choose';

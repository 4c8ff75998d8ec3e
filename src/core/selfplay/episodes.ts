/**
 * Episodes: one injector or solver run from sandbox to reward.
 *
 * Inject (injectEpisode.ts): a sandbox with the original repository and its
 * real git history -> the agent -> the five submitted files -> the
 * consistency checks against the ORIGINAL repository -> the verdicts and the
 * consistency part of r_inject.
 *
 * Solve (solveEpisode.ts): the solver workspace (original + bug + weakening,
 * fresh history) -> the agent, told only the reversed test_weaken.diff ->
 * the patch -> the evaluation -> r_solve.
 *
 * Both throw only for setup problems (no engine or image, a repository or
 * artifact that cannot be used: EnvironmentError / UsageError / SandboxError
 * from the workspace); everything the model or the model server does ends in
 * the returned trajectory's status. The sandbox is always removed.
 */
export { runInjectEpisode, type InjectEpisodeOptions, type InjectEpisodeResult } from './injectEpisode';
export { runSolveEpisode, type SolveEpisodeOptions, type SolveEpisodeResult } from './solveEpisode';
export { writeTrajectory, readTrajectory, trajectoryProblem } from '../agents/trajectoryFile';

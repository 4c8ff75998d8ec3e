/** The agent loop and its tools; see docs/agent.md. */
export {
  runAgent,
  newEpisodeId,
  DEFAULT_MAX_TURNS,
  MAX_MAX_TURNS,
  DEFAULT_MAX_CONTEXT_TOKENS,
  DEFAULT_MAX_WALL_MS,
  DEFAULT_MAX_TOKENS_PER_TURN,
  DEFAULT_MAX_FORMAT_ERRORS,
  type AgentOptions,
  type AgentBudgets,
  type AgentContext,
  type AgentResult,
  type SubmitHandler,
  type SubmitOutcome,
  type ToolMode,
  type ErrorKind,
} from './loop';
export * from './protocol';
export { applyEdit, type EditResult } from './edit';
export { ShellSession, AGENT_DIR, DEFAULT_COMMAND_TIMEOUT_MS, DEFAULT_FLOOD_BYTES, type ShellResult, type ShellOptions } from './shell';
export { WorkspaceTracker, TRACK_GIT_DIR, MAX_STEP_DIFF_BYTES } from './workspace';
export { injectorSubmit, makeArtifactDir, solverSubmit, resolveArtifactPaths } from './submit';
export { reverseDiff } from './diffs';
export { truncateMiddle, budgetLine, estimateTokens, seededRandom, DEFAULT_MAX_OBSERVATION_CHARS, type BudgetState } from './text';
export { writeTrajectory, readTrajectory, trajectoryProblem } from './trajectoryFile';

/**
 * One-shot actions on a repository and its run directories, for front ends
 * that work one bug at a time (the VS Code extension) and the CLI: inject
 * one bug into a new run (injectAction.ts), solve a stored bug once more
 * (solveAction.ts), re-validate a stored bug or any artifact folder
 * (validateAction.ts), read run directories tolerantly (readRuns.ts), show
 * trajectories to people (trajectoryView.ts), and ask a model server whether
 * it is there (probe.ts).
 *
 * Everything here goes through the same code as a self-play session (the
 * session itself for injection, the run store's layout and the paper's
 * rewards for solving), so the CLI, the extension and the trainer all see
 * the same files. No `vscode` import.
 */
export * from './readRuns';
export * from './injectAction';
export * from './solveAction';
export * from './validateAction';
export * from './trajectoryView';
export * from './probe';
export { isCancelled } from '../base/errors';

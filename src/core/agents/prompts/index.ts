export { toolDocs, type ToolDocOptions } from './tools';
export {
  INJECTOR_ARTIFACT_DIR,
  TEST_SCRIPT_SECONDS,
  STRATEGIES,
  pickStrategy,
  injectorSystemPrompt,
  injectorTaskPrompt,
  type InjectorPromptOptions,
  type StrategyChoice,
} from './injector';
export { solverSystemPrompt, solverTaskPrompt } from './solver';

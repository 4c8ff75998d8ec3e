/**
 * The checks a command makes before it starts work: the settings, the
 * sandbox image for the repository, Docker with that image, and the model
 * server answering. Each throws an error the reporter turns into a message
 * with the button that leads to the fix.
 */
import * as fs from 'node:fs';
import { probeOpenAI } from '../../core/selfplay/actions';
import type { PolicySpec } from '../../core/policy';
import { DEFAULT_IMAGE, ensureEngineAndImage } from '../../core/sandbox/docker';
import { chooseImage } from '../../core/environment';
import { ModelServerError, dockerProblem } from '../errors';
import { checkSettings, policySpec, readSettings, type SsrSettings } from '../settings';
import type { CommandEnv } from './context';

export function checkedSettings(): SsrSettings {
  const s = readSettings();
  checkSettings(s);
  return s;
}

/**
 * The settings with the sandbox image for this repository: an image set
 * in the settings wins; otherwise the repository's built environment
 * (SSR: Prepare Sandbox), else the base image.
 */
export async function settingsFor(env: CommandEnv, repo: string): Promise<SsrSettings> {
  const s = checkedSettings();
  const choice = await chooseImage({ repoDir: repo, explicit: s.image !== DEFAULT_IMAGE ? s.image : undefined });
  env.log.info(choice.message);
  return { ...s, image: choice.image };
}

export async function ensureDocker(env: CommandEnv, image: string): Promise<void> {
  try {
    await ensureEngineAndImage(image);
    if (env.model.docker !== 'ok') env.model.setDocker('ok');
  } catch (err) {
    const p = dockerProblem(err);
    if (p) env.model.setDocker(p);
    throw err;
  }
}

/** The policy of the settings, its server probed (an OpenAI-compatible one) or its file checked (a replay). */
export async function checkedPolicy(env: CommandEnv, s: SsrSettings, repo: string): Promise<PolicySpec | undefined> {
  const spec = await policySpec(s, env.context.secrets, repo);
  if (spec?.kind === 'openai') {
    env.log.addSecret(spec.apiKey);
    const probe = await probeOpenAI(spec.baseUrl, spec.apiKey);
    if (!probe.ok) throw new ModelServerError(`${probe.error}. Start the server, or change ssr.policy.baseUrl with SSR: Configure Policy.`);
    if (spec.model && probe.models.length && !probe.models.includes(spec.model)) {
      env.log.warn(`the server lists ${probe.models.join(', ')}; ssr.policy.model is ${spec.model}`);
    }
  }
  if (spec?.kind === 'replay' && typeof spec.trajectory === 'string' && !fs.existsSync(spec.trajectory)) {
    throw new ModelServerError(`the replay trajectory ${spec.trajectory} does not exist (ssr.policy.trajectory)`);
  }
  return spec;
}

/**
 * SSR's layer of an environment image as text: the Dockerfile and the
 * script of each step (written to the build context, so no quoting goes
 * through the Dockerfile's shell). Pure: the build (build.ts) writes them.
 */
import { DEFAULT_REPO_PATH, TEST_UID } from '../sandbox/docker';
import type { EnvPlan } from './plan';

/** Where sandboxes put the repository: dependencies are installed there, under it. */
const REPO = DEFAULT_REPO_PATH;

/** What each step's RUN line echoes first; the build's log reader (dockerBuild.ts) finds step names by it. */
export const STEP_MARK = '==> ssr-step:';

/** The first step of SSR's layer: what the runner needs. */
export const NEEDS_STEP = {
  name: 'what the runner needs (bash, python3, git, patch)',
  run:
    'missing=""; for t in python3 git patch; do command -v $t >/dev/null || missing="$missing $t"; done; ' +
    'if [ -n "$missing" ]; then if command -v apt-get >/dev/null; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing ca-certificates >/dev/null; ' +
    'else echo "the image lacks:$missing (and has no apt-get to install them)"; exit 1; fi; fi',
};

/** The script of one step (written to the build context; no quoting through the Dockerfile's shell). */
function stepScript(step: { name: string; run: string }, withCa: boolean): string {
  const ca = withCa
    ? 'export NODE_EXTRA_CA_CERTS=/ssr/env/host-ca.crt npm_config_cafile=/ssr/env/host-ca.crt PIP_CERT=/ssr/env/host-ca.crt\n' +
      'export REQUESTS_CA_BUNDLE=/ssr/env/host-ca.crt SSL_CERT_FILE=/ssr/env/host-ca.crt GIT_SSL_CAINFO=/ssr/env/host-ca.crt\n'
    : '';
  return (
    '#!/usr/bin/env bash\n' +
    `# ${step.name.replace(/\n/g, ' ')}\n` +
    'set -e\n' +
    ca +
    // sudo in devcontainer commands: the build runs as root.
    'command -v sudo >/dev/null || sudo() { while [ "${1#-}" != "$1" ]; do shift; done; "$@"; }\n' +
    'export DEBIAN_FRONTEND=noninteractive\n' +
    `cd ${REPO}\n` +
    step.run +
    '\n'
  );
}

function runLine(step: { name: string }, index: number): string {
  const label = `${STEP_MARK} ${step.name.replace(/[^\w .,:;/@+=()*\-]/g, ' ')}`;
  return `RUN echo '${label}' && bash /ssr/env/steps/${index}.sh`;
}

/** The lines before the steps: the base, the image's ENV, the helper files the steps use. */
function headLines(plan: EnvPlan, from: string, withCa: boolean): string[] {
  const lines = [`FROM ${from}`, 'USER root', `WORKDIR ${REPO}`, 'RUN mkdir -p /ssr/env'];
  // devcontainer's ${containerEnv:X} is the engine's ${X} in ENV.
  for (const [k, v] of Object.entries(plan.env ?? {})) lines.push(`ENV ${k}=${JSON.stringify(v.replace(/\$\{containerEnv:(\w+)\}/g, '${$1}'))}`);
  if (withCa) lines.push('COPY host-ca.crt /ssr/env/host-ca.crt');
  if (plan.needsPyHelper) lines.push('COPY ssr_env_py.py /ssr/env/ssr_env_py.py');
  if (plan.features?.length) lines.push('COPY features/ /ssr/env/features/', 'COPY ssr_features.py /ssr/env/ssr_features.py');
  return lines;
}

/** The last RUN's commands: the repository is copied in again by every sandbox, so leave only what the steps made. */
function cleanupCommands(plan: EnvPlan): string[] {
  const cleanup: string[] = [];
  if (plan.copyRepo) cleanup.push(`tr "\\n" "\\0" < /ssr/env/repo-files.txt | (cd ${REPO} && xargs -0 -r rm -f --)`);
  else if (plan.copyFiles.length) cleanup.push(`cd ${REPO} && rm -f -- ${plan.copyFiles.map((f) => JSON.stringify(f)).join(' ')}`);
  // A lockfile the install wrote where the repository has none would look like a change of the repository.
  if (!plan.copyRepo && plan.copyFiles.includes('package.json') && !plan.copyFiles.includes('package-lock.json')) cleanup.push(`rm -f ${REPO}/package-lock.json`);
  cleanup.push('rm -rf /ssr/env/host-ca.crt /ssr/env/repo-files.txt /ssr/env/steps /ssr/env/features /ssr/env/ssr_features.py');
  // SSR's baseline commit must not take installed folders in.
  // (yarn 2+ Plug'n'Play keeps its install in .pnp.* and .yarn/ instead of node_modules/.)
  cleanup.push(
    'printf "node_modules/\\n__pycache__/\\n.venv/\\n.pnp.cjs\\n.pnp.loader.mjs\\n.pnp.data.json\\n.yarn/\\n" > /etc/ssr-gitignore && git config --system core.excludesFile /etc/ssr-gitignore',
  );
  cleanup.push('rm -rf /var/lib/apt/lists/* /root/.npm/_cacache 2>/dev/null || true');
  // What the steps installed in the working copy (node_modules, a virtualenv) belongs to the test user from the start:
  // the runner's hand-over before each run then has nothing to change, instead of copying every installed file up
  // through the overlay file system in each new container (7 s for ufo's 19,000 files).
  cleanup.push(`chown -R -h ${TEST_UID}:${TEST_UID} ${REPO}`);
  return cleanup;
}

/** SSR's layer: the runner's needs, the steps, the git excludes for installed folders. */
export function renderDockerfile(plan: EnvPlan, from: string, withCa: boolean): { dockerfile: string; scripts: string[] } {
  const lines = headLines(plan, from, withCa);
  const scripts: string[] = [];
  lines.push('COPY steps/ /ssr/env/steps/');
  scripts.push(stepScript(NEEDS_STEP, withCa));
  lines.push(runLine(NEEDS_STEP, 0));
  if (plan.copyRepo) {
    lines.push(`COPY repo/ ${REPO}/`);
    lines.push('COPY repo-files.txt /ssr/env/repo-files.txt');
  } else if (plan.copyFiles.length) {
    lines.push(`COPY files/ ${REPO}/`);
  }
  for (const s of plan.steps) {
    scripts.push(stepScript(s, withCa));
    lines.push(runLine(s, scripts.length - 1));
  }
  lines.push(`RUN ${cleanupCommands(plan).join(' && ')}`);
  lines.push('WORKDIR /');
  return { dockerfile: lines.join('\n') + '\n', scripts };
}

/**
 * The recipe for Node repositories: the package manager the repository
 * declares (the `packageManager` field, else its lockfile), installed at its
 * version, then a frozen install of the lockfile.
 */
import * as path from 'node:path';
import { UsageError } from '../base/errors';
import { NODE_LOCKS, addFileInput, exists, readText, shellQuote } from './manifests';
import type { EnvStep } from './planTypes';

export type NodePm = 'npm' | 'yarn' | 'pnpm' | 'bun';

export interface NodeManager {
  pm: NodePm;
  /** The version to install: declared in package.json's `packageManager`, else implied by the lockfile. */
  version?: string;
  /** yarn 2+ (a `__metadata` lockfile or a declared version >= 2). */
  berry?: boolean;
  /** Where the choice comes from, for notes. */
  why: string;
  /** The lockfile, when there is one. */
  lock?: string;
}

/**
 * The package manager a Node repository declares: package.json's
 * `packageManager` field (name@version, a `+sha...` suffix dropped) wins;
 * else the lockfile says which one, and its format which major version.
 */
export function nodeManager(repoDir: string): NodeManager | undefined {
  if (!exists(repoDir, 'package.json')) return undefined;
  let declared = '';
  try {
    declared = String((JSON.parse(readText(path.join(repoDir, 'package.json'))) as { packageManager?: string }).packageManager ?? '');
  } catch {
    throw new UsageError(`${path.join(repoDir, 'package.json')}: not valid JSON`);
  }
  const lock = NODE_LOCKS.find(([f]) => exists(repoDir, f));
  const m = /^(npm|yarn|pnpm|bun)@([^+\s]+)/.exec(declared.trim());
  if (m) {
    const pm = m[1] as NodePm;
    const version = m[2];
    const berry = pm === 'yarn' && Number(version.split('.')[0]) >= 2;
    const ownLock = NODE_LOCKS.find(([f, p]) => p === pm && exists(repoDir, f));
    return { pm, version, berry, why: `package.json packageManager: ${declared.trim()}`, lock: ownLock?.[0] };
  }
  if (!lock) return { pm: 'npm', why: 'no lockfile' };
  const [file, pm] = lock;
  if (pm === 'pnpm') {
    // lockfileVersion 9.x: pnpm 9 (and 10); 6.x: pnpm 8; 5.4: pnpm 7; older: pnpm 6.
    const v = /^lockfileVersion:\s*['"]?([\d.]+)/m.exec(readText(path.join(repoDir, file)))?.[1] ?? '';
    const major = Number(v.split('.')[0]);
    const version = major >= 9 ? '9' : major >= 6 ? '8' : v === '5.4' ? '7' : '6';
    return { pm, version, why: `${file} (lockfileVersion ${v || '?'})`, lock: file };
  }
  if (pm === 'yarn') {
    const text = readText(path.join(repoDir, file));
    const berry = /^__metadata:/m.test(text) || !/^# yarn lockfile v1/m.test(text);
    return { pm, version: berry ? '4' : '1', berry, why: `${file} (${berry ? 'yarn 2+ format' : 'yarn classic v1 format'})`, lock: file };
  }
  return { pm, why: file, lock: file };
}

const ENSURE_NPM =
  'command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null; }';

/**
 * Puts the declared pnpm or yarn on PATH at the declared version: corepack
 * when the image's Node has it (its cache kept in the image, so sandboxes
 * without network find it), else from the npm registry with npm
 * (yarn 2+ is published there as @yarnpkg/cli-dist).
 */
function managerInstall(nm: NodeManager): string {
  const version = nm.version ?? 'latest';
  const spec = `${nm.pm}@${version}`;
  const npmPkg = nm.pm === 'yarn' && nm.berry ? `@yarnpkg/cli-dist@${version}` : spec;
  return [
    `want=${shellQuote(version)}`,
    `have=$(${nm.pm} --version 2>/dev/null || true)`,
    'case "$have" in "$want"|"$want".*) echo "ssr-env: ' + nm.pm + ' $have is in the image"; exit 0;; esac',
    'if command -v corepack >/dev/null; then',
    `  echo "ssr-env: corepack prepares ${spec}"`,
    `  corepack enable && COREPACK_ENABLE_DOWNLOAD_PROMPT=0 corepack prepare ${shellQuote(spec)} --activate && exit 0`,
    '  echo "ssr-env: corepack could not prepare it; trying npm"',
    'fi',
    ENSURE_NPM,
    `echo "ssr-env: npm install -g ${npmPkg}"`,
    `npm install -g --no-audit --no-fund ${shellQuote(npmPkg)}`,
    `${nm.pm} --version`,
  ].join('\n');
}

/** The files the install reads (package.json, the lockfile, the managers' settings), copied in and inputs of the image; returns the lockfile. */
function nodeManifests(repoDir: string, nm: NodeManager, copyFiles: string[], inputs: Record<string, string>): string | undefined {
  copyFiles.push('package.json');
  addFileInput(inputs, repoDir, 'package.json');
  const lock = nm.lock ?? NODE_LOCKS.find(([f]) => exists(repoDir, f))?.[0];
  if (lock) {
    copyFiles.push(lock);
    addFileInput(inputs, repoDir, lock);
  }
  for (const f of ['.npmrc', '.yarnrc', '.yarnrc.yml', 'pnpm-workspace.yaml']) {
    if (exists(repoDir, f)) {
      copyFiles.push(f);
      addFileInput(inputs, repoDir, f);
    }
  }
  // yarn 2+ may run the release the repository commits (yarnPath in .yarnrc.yml).
  if (exists(repoDir, '.yarnrc.yml')) {
    const yarnPath = /^yarnPath:\s*['"]?([^'"\s]+)/m.exec(readText(path.join(repoDir, '.yarnrc.yml')))?.[1];
    if (yarnPath && exists(repoDir, yarnPath) && !path.isAbsolute(yarnPath) && !yarnPath.split('/').includes('..')) {
      copyFiles.push(yarnPath);
      addFileInput(inputs, repoDir, yarnPath);
    }
  }
  return lock;
}

/** The install of the dependencies with pnpm or yarn (frozen when there is a lockfile), and the removal of its cache. */
function managerInstallCommand(nm: NodeManager, lock: string | undefined): string {
  if (nm.pm === 'pnpm') {
    return (
      (lock ? 'pnpm install --frozen-lockfile' : 'pnpm install') +
      ' --config.confirmModulesPurge=false\n' +
      // The store is not needed once node_modules is linked (same layer: hard links stay).
      'rm -rf "$(pnpm store path 2>/dev/null)" /root/.local/share/pnpm /root/.cache/pnpm 2>/dev/null || true'
    );
  }
  if (nm.berry) {
    return (
      // Install scripts of dependencies may need the network at run time; none is there later anyway.
      'export YARN_ENABLE_TELEMETRY=0 YARN_ENABLE_GLOBAL_CACHE=0\n' +
      '[ -n "$NODE_EXTRA_CA_CERTS" ] && export YARN_HTTPS_CA_FILE_PATH="$NODE_EXTRA_CA_CERTS"\n' +
      (lock ? 'yarn install --immutable' : 'yarn install') +
      '\nrm -rf /root/.yarn/berry/cache 2>/dev/null || true'
    );
  }
  return (lock ? 'yarn install --frozen-lockfile --non-interactive' : 'yarn install --non-interactive') + '\nyarn cache clean >/dev/null 2>&1 || true';
}

/** Node dependencies: package.json + lockfile with its package manager, installed in /repo/node_modules. */
export function nodeSteps(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>, env: Record<string, string>): EnvStep[] {
  const nm = nodeManager(repoDir);
  if (!nm) return [];
  const lock = nodeManifests(repoDir, nm, copyFiles, inputs);
  const ensureNpm = { name: 'install npm (Debian)', run: ENSURE_NPM };
  if (nm.pm === 'npm') {
    const install = lock && nm.pm === 'npm' && /package-lock|shrinkwrap/.test(lock) ? 'npm ci --no-audit --no-fund' : 'npm install --no-audit --no-fund';
    return [ensureNpm, { name: 'install Node dependencies (npm)', run: install }];
  }
  if (nm.pm === 'bun') {
    notes.push('bun is not supported: npm installs from package.json (the lockfile is not used)');
    return [ensureNpm, { name: 'install Node dependencies (npm, for a bun project)', run: 'npm install --no-audit --no-fund' }];
  }
  const label = nm.pm === 'yarn' ? (nm.berry ? `yarn ${nm.version} (berry)` : `yarn ${nm.version} (classic)`) : `pnpm ${nm.version}`;
  notes.push(`${nm.pm} from ${nm.why}: installed at ${nm.version} and used for the install and the tests`);
  // Images built before SSR installed pnpm and yarn themselves (npm fell in) must not be reused.
  inputs['node-manager'] = `3:${nm.pm}@${nm.version}${nm.berry ? ':berry' : ''}`;
  // corepack keeps what it prepared here, in the image, for every user.
  env.COREPACK_HOME = '/usr/local/share/corepack';
  env.COREPACK_ENABLE_DOWNLOAD_PROMPT = '0';
  return [
    { name: `install ${label} (${nm.why.replace(/:.*/, '')})`, run: managerInstall(nm) },
    { name: `install Node dependencies (${nm.pm}${lock ? `, ${lock}` : ''})`, run: managerInstallCommand(nm, lock) },
  ];
}

/** Python dependencies, mapped to Debian python3-* packages (pip for the rest, where an index is reachable). */

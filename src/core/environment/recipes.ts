/**
 * The recipe from the dependency manifests: Python (Debian's python3-*
 * packages, pip for the rest), Node (recipeNode.ts) and Go (the toolchain
 * from the Debian archive the image's apt sources name).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PY_MANIFESTS, addFileInput, exists, readText } from './manifests';
import { nodeSteps } from './recipeNode';
import type { EnvStep } from './planTypes';

function pythonSteps(repoDir: string, copyFiles: string[], inputs: Record<string, string>): EnvStep[] {
  const files = fs.readdirSync(repoDir).filter((f) => PY_MANIFESTS.includes(f) || /requirements.*\.txt$/.test(f));
  if (exists(repoDir, 'requirements') && fs.statSync(path.join(repoDir, 'requirements')).isDirectory()) {
    for (const f of fs.readdirSync(path.join(repoDir, 'requirements'))) if (f.endsWith('.txt')) files.push(`requirements/${f}`);
  }
  if (!files.length) return [];
  for (const f of files) {
    copyFiles.push(f);
    addFileInput(inputs, repoDir, f);
  }
  // setup.py often reads the package's version file: copy the whole repo would be safer but makes the
  // image depend on every file; the recipe helper reads setup.py with `ast` and never runs it.
  return [{ name: 'install Python dependencies (Debian python3-* packages, pip for the rest)', run: 'python3 /ssr/env/ssr_env_py.py' }];
}

/**
 * Installs Go from Debian's archive: golang-go when it is new enough, else
 * the oldest golang-1.NN-go (NN >= what go.mod needs) of the release or its
 * backports (added from the mirror the image's own apt sources name).
 */
export function goInstall(need: number): string {
  return [
    `need=${need}`,
    'have=$(go env GOVERSION 2>/dev/null | sed -n "s/^go1\\.\\([0-9]*\\).*/\\1/p")',
    'if [ -n "$have" ] && [ "$have" -ge "$need" ]; then go version; exit 0; fi',
    'export DEBIAN_FRONTEND=noninteractive',
    'apt-get update -qq',
    'if [ "$need" -le 19 ]; then apt-get install -y -qq --no-install-recommends golang-go ca-certificates >/dev/null; go version; exit 0; fi',
    // (set -e: the loop's last failed lookup must not end the step)
    'pick() { for v in $(seq "$need" 40); do if apt-cache show "golang-1.$v-go" >/dev/null 2>&1; then echo "$v"; return 0; fi; done; return 0; }',
    'v=$(pick)',
    'if [ -z "$v" ]; then',
    '  . /etc/os-release',
    '  uri=$(sed -n "s/^deb \\(\\[[^]]*\\] \\)\\?\\(http[^ ]*\\) .*/\\2/p" /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)',
    '  [ -n "$uri" ] || uri=$(sed -n "s/^URIs: *\\(http[^ ]*\\).*/\\1/p" /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)',
    '  if [ -n "$uri" ] && [ -n "$VERSION_CODENAME" ]; then',
    '    echo "ssr-env: adding $VERSION_CODENAME-backports from $uri for Go 1.$need"',
    '    echo "deb $uri $VERSION_CODENAME-backports main" > /etc/apt/sources.list.d/ssr-backports.list',
    '    apt-get update -qq',
    '    v=$(pick)',
    '  fi',
    'fi',
    'if [ -z "$v" ]; then echo "ssr-env: go.mod needs Go 1.$need; Debian\'s archive (and its backports) has no golang-1.$need-go or newer for this image. Use a devcontainer or Dockerfile that brings that Go."; exit 1; fi',
    'apt-get install -y -qq --no-install-recommends "golang-1.$v-go" ca-certificates',
    'ln -sf "/usr/lib/go-1.$v/bin/go" /usr/local/bin/go && ln -sf "/usr/lib/go-1.$v/bin/gofmt" /usr/local/bin/gofmt',
    'go version',
  ].join('\n');
}

/**
 * Go: Debian's golang-go (from the archive the image's apt sources name),
 * then the module's requirements into the module cache (`go mod download`)
 * unless the repository vendors them. The toolchain stays the image's own
 * (GOTOOLCHAIN=local): sandboxes have no network to fetch another.
 */
function goSteps(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>, env: Record<string, string>): EnvStep[] {
  if (!exists(repoDir, 'go.mod')) return [];
  const files = ['go.mod', 'go.sum', 'go.work', 'go.work.sum'].filter((f) => exists(repoDir, f));
  for (const f of files) {
    copyFiles.push(f);
    addFileInput(inputs, repoDir, f);
  }
  const mod = readText(path.join(repoDir, 'go.mod'));
  const requires = /^\s*require\b/m.test(mod);
  const vendored = exists(repoDir, 'vendor/modules.txt');
  env.GOTOOLCHAIN = 'local';
  // The Go release go.mod asks for (`go 1.22`, `go 1.22.1`, or a newer `toolchain`): bookworm's golang-go is 1.19;
  // newer ones come as golang-1.NN-go from the same archive's backports.
  const minor = (re: RegExp) => Number(re.exec(mod)?.[1] ?? 0);
  const need = Math.max(minor(/^go\s+1\.(\d+)/m), minor(/^toolchain\s+go1\.(\d+)/m));
  const steps: EnvStep[] = [
    {
      name: need > 19 ? `install Go 1.${need} or newer (Debian golang-1.NN-go)` : 'install Go (Debian golang-go)',
      run: goInstall(need),
    },
  ];
  if (requires && !vendored) {
    notes.push('go.mod requires modules: `go mod download` fetches them while building (the module proxy must be reachable), else vendor them (go mod vendor)');
    steps.push({ name: 'download Go modules (go mod download)', run: 'go mod download -x 2>&1 | tail -50; go mod download' });
  } else if (vendored) {
    notes.push('Go modules come from vendor/ (offline)');
  }
  // Build the standard library's cache once, so each sandbox's first go test is quicker.
  steps.push({ name: 'warm the Go build cache', run: 'go build std >/dev/null 2>&1 || true' });
  return steps;
}

export function recipe(repoDir: string, notes: string[], copyFiles: string[], inputs: Record<string, string>, env: Record<string, string>): EnvStep[] {
  return [...pythonSteps(repoDir, copyFiles, inputs), ...nodeSteps(repoDir, notes, copyFiles, inputs, env), ...goSteps(repoDir, notes, copyFiles, inputs, env)];
}


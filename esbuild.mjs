// Bundles the extension (dist/extension.js) and the CLI (dist/cli.js).
// Native and optional-native packages stay external and ship in node_modules.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const external = [
  'vscode',
  'onnxruntime-node',
  '@huggingface/transformers',
  'sharp',
  'cpu-features',
  'ssh2',
];

const entries = [{ in: 'src/cli.ts', out: 'cli' }];
if (fs.existsSync('src/extension/extension.ts')) entries.push({ in: 'src/extension/extension.ts', out: 'extension' });

const options = {
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  external,
  logLevel: 'info',
  banner: { js: '' },
  // Python (the Go helper, the judge's Node reporter) that SSR runs inside sandboxes ships inside the bundle as text.
  loader: { '.py': 'text', '.go': 'text', '.sandbox.cjs': 'text' },
  // jsonc-parser's "main" is a UMD build whose dynamic requires a bundler cannot follow; its ESM build bundles.
  alias: { 'jsonc-parser': './node_modules/jsonc-parser/lib/esm/main.js' },
};

if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
} else {
  await esbuild.build(options);
  // The CLI is an executable.
  const cli = 'dist/cli.js';
  const body = fs.readFileSync(cli, 'utf8');
  if (!body.startsWith('#!')) fs.writeFileSync(cli, '#!/usr/bin/env node\n' + body);
  fs.chmodSync(cli, 0o755);
}

import * as path from 'node:path';
export const ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const PYLEDGER = path.join(FIXTURES, 'repos', 'pyledger');
export const ARTIFACTS = path.join(FIXTURES, 'artifacts');
export const PREDICTIONS = path.join(FIXTURES, 'predictions');
export const CLI = path.join(ROOT, 'src', 'cli.ts');
/** Loads Python files as text when code runs from source (see scripts/text-loader.cjs). */
export const TEXT_LOADER = path.join(ROOT, 'scripts', 'text-loader.cjs');

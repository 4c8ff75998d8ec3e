/**
 * JavaScript and TypeScript source as a syntax tree, with @babel/parser: one
 * set of options for every stage that reads a repository's JS or TS (the
 * bootstrap's mutations, the judge's behaviour check and its canaries).
 */
import { parse, type ParserPlugin } from '@babel/parser';

export function isTypeScript(file: string): boolean {
  return /\.(c|m)?tsx?$/.test(file);
}

/** The program node of a JS/TS file, typed by the caller's node shape; throws on a syntax error. */
export function parseJsProgram<T>(file: string, text: string): T {
  const plugins: ParserPlugin[] = isTypeScript(file) ? (file.endsWith('x') ? ['typescript', 'jsx'] : ['typescript']) : ['jsx'];
  const ast = parse(text, {
    sourceType: 'unambiguous',
    plugins: [...plugins, 'decorators-legacy', 'classProperties', 'topLevelAwait'] as ParserPlugin[],
    allowReturnOutsideFunction: true,
    allowAwaitOutsideFunction: true,
    errorRecovery: false,
  });
  return ast.program as unknown as T;
}

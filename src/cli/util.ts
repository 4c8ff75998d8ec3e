/** Shared CLI plumbing: exit codes, errors that say how to fix them, progress on a terminal. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, EnvironmentError, InfrastructureError, SandboxError, UsageError, isCancelled } from '../core/base/errors';

export const EXIT_OK = 0;
export const EXIT_NEGATIVE = 1;
export const EXIT_CANNOT_RUN = 2;

/** Raised by commands to end with a given exit code after printing. */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export function fail(message: string): never {
  throw new UsageError(message);
}

/** Runs a command body and maps errors to exit codes with a readable message. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const ac = new AbortController();
    const onInt = () => ac.abort();
    process.once('SIGINT', onInt);
    try {
      const code = await fn(...args);
      process.exitCode = code ?? EXIT_OK;
    } catch (err) {
      process.exitCode = exitCodeFor(err);
      if (!(err instanceof ExitCode)) process.stderr.write(`ssr: ${messageFor(err)}\n`);
    } finally {
      process.removeListener('SIGINT', onInt);
    }
  };
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ExitCode) return err.code;
  if (isCancelled(err)) return 130;
  return EXIT_CANNOT_RUN;
}

export function messageFor(err: unknown): string {
  if (err instanceof UsageError || err instanceof EnvironmentError || err instanceof SandboxError || err instanceof InfrastructureError) return err.message;
  if (err instanceof CancelledError) return 'cancelled';
  const e = err as Error;
  return `unexpected error: ${e?.stack ?? String(err)}`;
}

export function requireDir(p: string | undefined, flag: string): string {
  if (!p) fail(`${flag} is required`);
  const abs = path.resolve(p);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) fail(`${flag} ${p}: no such folder`);
  return abs;
}

export function requireFile(p: string | undefined, flag: string): string {
  if (!p) fail(`${flag} is required`);
  const abs = path.resolve(p);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) fail(`${flag} ${p}: no such file`);
  return abs;
}

export function intOption(v: string | undefined, flag: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) fail(`${flag} must be an integer >= ${min} (got ${JSON.stringify(v)})`);
  return n;
}

export function numberOption(v: string | undefined, flag: string, min = 0, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max) fail(`${flag} must be a number in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  return n;
}

const tty = () => process.stderr.isTTY === true;

/** A one-line progress display on stderr, only on a terminal. */
export class Progress {
  private last = '';
  constructor(private readonly enabled = tty()) {}
  update(text: string): void {
    if (!this.enabled) return;
    const line = text.length > 120 ? text.slice(0, 117) + '...' : text;
    process.stderr.write(`\r\x1b[2K${line}`);
    this.last = line;
  }
  log(text: string): void {
    if (!this.enabled) return;
    process.stderr.write(`\r\x1b[2K${text}\n${this.last}`);
  }
  done(): void {
    if (this.enabled && this.last) process.stderr.write('\r\x1b[2K');
    this.last = '';
  }
}

export const color = {
  on: () => process.stdout.isTTY === true && !process.env.NO_COLOR,
  green: (s: string) => (color.on() ? `\x1b[32m${s}\x1b[0m` : s),
  red: (s: string) => (color.on() ? `\x1b[31m${s}\x1b[0m` : s),
  yellow: (s: string) => (color.on() ? `\x1b[33m${s}\x1b[0m` : s),
  dim: (s: string) => (color.on() ? `\x1b[2m${s}\x1b[0m` : s),
  bold: (s: string) => (color.on() ? `\x1b[1m${s}\x1b[0m` : s),
};

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

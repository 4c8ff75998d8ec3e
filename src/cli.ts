#!/usr/bin/env node
/**
 * `ssr`: every SSR capability, headless and scriptable. Exit codes: 0 the
 * positive outcome (valid, solved), 1 the negative one (invalid, not
 * solved), 2 could not run (no engine, no image, bad arguments), with a
 * message that says how to fix it.
 */
import { Command, CommanderError } from 'commander';
import * as validate from './cli/commands/validate';
import * as evaluate from './cli/commands/evaluate';
import * as inject from './cli/commands/inject';
import * as solve from './cli/commands/solve';
import * as show from './cli/commands/show';
import * as selfplay from './cli/commands/selfplay';
import * as trainCmd from './cli/commands/train';
import * as envCmd from './cli/commands/env';
import * as report from './cli/commands/report';
import { EXIT_CANNOT_RUN } from './cli/util';
import { VERSION } from './core/base/version';
import { infrastructureMessage, isInfrastructureFailure } from './core/base/errors';
import { disposeAll } from './core/sandbox/docker';

export function buildProgram(): Command {
  const program = new Command('ssr')
    .description('Self-play SWE-RL: inject verified bugs into your repository, solve them, and train the policy')
    .version(VERSION)
    .showHelpAfterError('(run ssr --help for usage)')
    .exitOverride();
  validate.register(program);
  evaluate.register(program);
  inject.register(program);
  solve.register(program);
  show.register(program);
  selfplay.register(program);
  trainCmd.register(program);
  envCmd.register(program);
  report.register(program);
  return program;
}

/**
 * A promise rejected with no one waiting for it (a sandbox removal that
 * failed in the background because the engine went away) never ends the
 * process with a raw stack trace. An infrastructure failure is left to the
 * command, which meets it on its own path and says so; anything else is
 * reported in one line (the stack with SSR_DEBUG=1) and ends the command
 * with exit 2 once its sandboxes are removed.
 */
export function guardUnhandledRejections(): void {
  process.on('unhandledRejection', (reason) => {
    const debug = Boolean(process.env.SSR_DEBUG);
    if (isInfrastructureFailure(reason)) {
      if (debug) process.stderr.write(`ssr: (background) ${infrastructureMessage(reason)}\n`);
      return;
    }
    const text = reason instanceof Error ? (debug ? (reason.stack ?? reason.message) : reason.message) : String(reason);
    process.stderr.write(`ssr: unexpected error: ${text}\n`);
    void disposeAll().finally(() => process.exit(EXIT_CANNOT_RUN));
  });
}

export async function main(argv = process.argv): Promise<void> {
  guardUnhandledRejections();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors are "could not run".
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_CANNOT_RUN;
      return;
    }
    throw err;
  } finally {
    // A command that ends leaves no sandbox and no connection to an engine behind (each command disposes
    // its own; this is the last sweep), so the process exits on its own.
    await disposeAll();
  }
}

if (require.main === module) void main();

/**
 * A command's options as one table: each row is what `commander` takes for
 * one option (flags, description, default), in the order `--help` lists them.
 */
import type { Command } from 'commander';

export type OptionRow = readonly [flags: string, description: string, defaultValue?: string];

/** Adds the rows to the command, in order. */
export function addOptions(cmd: Command, rows: readonly OptionRow[]): Command {
  for (const [flags, description, defaultValue] of rows) {
    if (defaultValue === undefined) cmd.option(flags, description);
    else cmd.option(flags, description, defaultValue);
  }
  return cmd;
}

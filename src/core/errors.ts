/**
 * Errors that callers tell apart. The CLI maps EnvironmentError and
 * UsageError to exit code 2 ("could not run") and prints the message, which
 * always says how to fix the problem.
 */

/** Something outside the artifact is missing or broken: engine, image, disk, Python. */
export class EnvironmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentError';
  }
}

/** Bad arguments or input files given by the user. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The sandbox failed (container died, runner stopped answering). */
export class SandboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxError';
  }
}

/** The operation was cancelled through its AbortSignal. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

export function isCancelled(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError');
}

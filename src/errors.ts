// Errors carry a kind (STYLE.md, cli-kit): a problem the user can fix, a failed external command,
// or a bug. Only bugs print a stack trace; the CLI maps each kind to its exit code.

/** Something the user can fix: bad input, a missing directory, a lock held by another run. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    message: string,
    /** What to do next, one sentence. */
    readonly hint?: string,
    /** 2 for bad input / usage (nothing changed), 1 for a refused or failed operation. */
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
  }
}

/** An external program failed. Carries what is needed to understand it without a stack trace. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: { file: string; args: readonly string[] },
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(
      `${[command.file, ...command.args].join(' ')} failed` +
        (exitCode === undefined ? '' : ` (exit ${exitCode})`) +
        (stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''),
    );
  }
}

export function isExpectedError(error: unknown): error is UserError | CommandError {
  return error instanceof UserError || error instanceof CommandError;
}

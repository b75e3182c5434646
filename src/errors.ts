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

/**
 * The machine said no — a full or read-only filesystem, a disk error, a quota — rather than bulwark
 * having a bug: one line naming the place and the cause, no stack trace. null for anything else.
 */
export function describeSystemError(error: unknown): string | null {
  const { code, path: where, syscall } = (error ?? {}) as { code?: string; path?: string; syscall?: string };
  const causes: Record<string, string> = {
    ENOSPC: 'no space left on that filesystem',
    EDQUOT: 'the disk quota is used up',
    EROFS: 'that filesystem is mounted read-only',
    EIO: 'the disk reported an input/output error',
    ENOMEM: 'the system is out of memory',
    EMFILE: 'too many open files',
    ENFILE: 'too many open files on the system',
  };
  const cause = code ? causes[code] : undefined;
  if (!cause) return null;
  // A temporary file of an atomic write (.name.bulwark-1a2b3c4d) means "writing in its directory".
  const place = where ? (/\/\.[^/]+\.(bulwark-[0-9a-f]{8}|[0-9a-f]{8}\.tmp)$/.test(where) ? `writing in ${where.slice(0, where.lastIndexOf('/')) || '/'}` : `${syscall ?? 'using'} ${where}`) : (syscall ?? 'an operation');
  return `${place} failed: ${cause} (${code}).`;
}

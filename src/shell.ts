// Quoting for a POSIX shell, for the few places where a command line must be one string: the
// command ssh hands to the box's shell, and the dead-man switch's sh script.

/** Quotes one argument: 'it'\''s' — safe for any byte but NUL; plain words stay as they are. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replaceAll("'", "'\\''")}'`;
}

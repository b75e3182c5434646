// A transaction runs to its end even if the admin presses Ctrl+C, the process is asked to stop, or
// the SSH connection drops (SIGHUP): the signal is held until the files are consistent and the
// journal is committed, and the command then stops at its next safe point (certbot's reverter does
// the same). SIGKILL cannot be held; the journal covers that case.
import { constants } from 'node:os';

const HELD: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let received: NodeJS.Signals | null = null;

export async function holdSignalsDuring<T>(work: () => Promise<T>): Promise<T> {
  const hold = (signal: NodeJS.Signals): void => {
    received ??= signal;
    // After a hang-up there is no terminal to write to.
    if (signal === 'SIGINT') process.stderr.write('\nbulwark: finishing the change in progress first (a few seconds), then stopping.\n');
  };
  for (const signal of HELD) process.on(signal, hold);
  try {
    return await work();
  } finally {
    for (const signal of HELD) process.off(signal, hold);
  }
}

/** The signal that arrived during a transaction, if any: the command should stop now. */
export function stopRequested(): NodeJS.Signals | null {
  return received;
}

/** The shell's exit code for a process ended by this signal (128 + its number). */
export function exitCodeFor(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

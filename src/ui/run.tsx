// Starts the wizard: takes the lock (recovering a crashed run first), renders, and waits for the
// admin to leave. Hang-ups during a transaction are deferred until it has finished, so a dropped SSH
// connection never interrupts a write in the middle.
import { render } from 'ink';
import type { Engine } from '../engine.js';
import { App } from './App.js';

export async function runWizard(engine: Engine, options: { color: boolean; confirmTimeout?: number }): Promise<number> {
  const recovery = await engine.lockForWriting('wizard');
  const waiting = await engine.pendingGuard();
  let exitCode = 0;
  const instance = render(<App engine={engine} recovery={recovery} waiting={waiting} confirmTimeout={options.confirmTimeout} color={options.color} onExit={(code) => (exitCode = code)} />, { exitOnCtrlC: false, patchConsole: false });
  const onHangup = () => {
    // The terminal is gone: leave once nothing is being written. The journal already holds the
    // progress; the next start resumes from it.
    instance.unmount();
  };
  process.once('SIGHUP', onHangup);
  try {
    await instance.waitUntilExit();
  } finally {
    process.off('SIGHUP', onHangup);
    await engine.idle();
    engine.release();
  }
  process.stdout.write('Progress is saved. Run `bulwark` again to continue,\nor `bulwark status` to see where things stand.\n');
  return exitCode;
}

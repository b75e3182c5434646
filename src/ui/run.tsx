// Starts the wizard: takes the lock (recovering a crashed run first), renders, and waits for the
// admin to leave. Hang-ups during a transaction are deferred until it has finished, so a dropped SSH
// connection never interrupts a write in the middle.
import { render } from 'ink';
import type { Engine } from '../engine.js';
import { App } from './App.js';
import { yogaReady } from './yoga-ready.js';

export async function runWizard(engine: Engine, options: { color: boolean; confirmTimeout?: number }): Promise<number> {
  await yogaReady;
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

/**
 * Draws the home screen once into a terminal that is not there, and takes it down. The build runs
 * this to warm the code cache (src/code-cache.ts) with what the first frame runs; no lock is taken
 * and nothing is written. Returns what was drawn, so the build can check it is the home screen.
 */
export async function drawHomeOffscreen(engine: Engine): Promise<string> {
  await yogaReady;
  const { EventEmitter } = await import('node:events');
  let drawn = '';
  const stdout = Object.assign(new EventEmitter(), { isTTY: true, columns: 100, rows: 30, write: (text: string) => ((drawn += text), true) });
  const stdin = Object.assign(new EventEmitter(), { isTTY: true, setEncoding() {}, setRawMode() {}, resume() {}, pause() {}, ref() {}, unref() {}, read: () => null });
  const instance = render(<App engine={engine} recovery={null} color={true} onExit={() => undefined} />, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: stdout as unknown as NodeJS.WriteStream,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  instance.unmount();
  await instance.waitUntilExit();
  return drawn;
}

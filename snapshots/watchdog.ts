// The watchdog process of the dead-man switch. It runs detached (its own session, no terminal), so
// the admin's hang-up, the end of the wizard or of the SSH connection does not reach it. It waits for
// the deadline, checking for a confirmation a few times a second, and then restores the snapshot —
// unless `bulwark confirm` claimed the decision first.
import { appendFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Engine } from '../src/engine.js';
import { GuardFile, secondsLeft } from './guard.js';

const POLL_MS = 200;

export async function runWatchdog(root: string, stateDir: string, id: string): Promise<number> {
  const guard = new GuardFile(stateDir);
  const log = (message: string) => appendFile(path.join(stateDir, 'watchdog.log'), `${new Date().toISOString()} [${process.pid}] ${message}\n`, { mode: 0o600 }).catch(() => undefined);
  // Hang-ups and terminal signals are not for us; only the deadline or a confirmation ends the wait.
  for (const signal of ['SIGHUP', 'SIGINT'] as const) process.on(signal, () => void log(`ignored ${signal}`));
  await log(`watching guard ${id}`);
  for (;;) {
    const record = await guard.read();
    if (!record || record.id !== id || record.status !== 'armed') {
      await log(`guard ${id} is no longer armed (${record?.status ?? 'gone'}); leaving`);
      return 0;
    }
    const decision = await guard.decided(id);
    if (decision) {
      await log(`guard ${id} decided: ${decision}; leaving`);
      return 0;
    }
    const left = secondsLeft(record) * 1000;
    if (left <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, POLL_MS)));
  }
  try {
    const engine = await Engine.open({ root, stateDir });
    const outcome = await engine.expireGuard(id, 'not confirmed before the deadline: rolled back by the watchdog');
    await log(outcome.restored ? `deadline passed: restored snapshot ${outcome.record?.snapshotId} (${outcome.record?.status})` : `deadline passed but the guard was already decided (${outcome.record?.status})`);
    return outcome.record?.status === 'failed' ? 1 : 0;
  } catch (error) {
    await log(`restore FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    return 1;
  }
}

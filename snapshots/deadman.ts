// Arming the dead-man switch: the rollback of a guarded change, computed from the snapshot alone (it
// fits whatever the change loads: the switch is armed before the first write), written as a POSIX sh
// script into the state directory and started detached on the box (snapshots/rollback-script.ts).
// From then on that script, not bulwark, keeps watch — over the apply while it runs, then over the
// deadline — on the box itself, whether bulwark ran there or on the admin's workstation.
import * as path from 'node:path';
import type { Command } from '../src/change.js';
import type { Host } from '../src/host.js';
import { findService, serviceCommand } from '../src/services.js';
import type { StateFs } from '../src/state-fs.js';
import type { SystemFacts } from '../src/system.js';
import { switchSetPlan } from './ipset.js';
import { firewallRestoreParts } from './netfilter.js';
import { procPath } from './sysctl.js';
import { rollbackScript, type RollbackPlan } from './rollback-script.js';
import type { Manifest, SnapshotStore } from './store.js';

export function scriptPath(stateDir: string, guardId: string): string {
  return path.posix.join(stateDir, `guard-${guardId}.sh`);
}

export async function rollbackPlanFor(host: Host, system: SystemFacts, store: SnapshotStore, manifest: Manifest, guard: { id: string; stateDir: string; deadline: string; applier?: { pid: number; startTime: string | null } }): Promise<RollbackPlan> {
  const services: Command[] = [];
  for (const undo of manifest.serviceUndo ?? []) {
    if (undo.command) {
      services.push(undo.command);
      continue;
    }
    const name = await findService(host, system, undo.names);
    if (name) services.push(await serviceCommand(host, system, name, undo.action));
  }
  return {
    stateDir: guard.stateDir,
    guardId: guard.id,
    snapshotId: manifest.id,
    step: manifest.step ?? 'unknown',
    deadlineMs: Date.parse(guard.deadline),
    files: manifest.files,
    createdDirs: manifest.createdDirs ?? [],
    firewall: await firewallRestoreParts(store, manifest),
    ipset: manifest.ipsets ? await switchSetPlan(store, manifest) : null,
    kernelSettings: Object.entries(manifest.kernelSettings ?? {}).map(([key, value]) => ({ key, path: procPath(key), value })),
    services,
    ...(guard.applier ? { applier: guard.applier } : {}),
  };
}

/**
 * Writes the script (0700, in the private state directory) and starts it; returns its pid on the box.
 * `after`: what must be on disk before the script starts (the guard record it watches). Where the
 * box answers requests in order (one helper session over SSH) the three are sent at once, one round
 * trip; elsewhere one after the other.
 */
export async function startDeadManSwitch(host: Host, state: StateFs, plan: RollbackPlan, after: Promise<unknown> = Promise.resolve()): Promise<number> {
  const file = scriptPath(plan.stateDir, plan.guardId);
  const written = state.writeDurable(file, rollbackScript(plan), 0o700);
  if (!host.pipelined) {
    await after;
    await written;
    return host.spawnDetached(['/bin/sh', file]);
  }
  written.catch(() => undefined);
  const pid = host.spawnDetached(['/bin/sh', file]);
  pid.catch(() => undefined);
  await after;
  await written;
  return pid;
}

/** Starts the script written at the apply again (the box rebooted, or the process was killed). */
export async function restartDeadManSwitch(host: Host, stateDir: string, guardId: string): Promise<number> {
  return host.spawnDetached(['/bin/sh', scriptPath(stateDir, guardId)]);
}

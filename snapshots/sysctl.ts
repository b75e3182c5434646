// Kernel settings (sysctl keys) in the snapshot: their live values are read from /proc/sys before
// an apply and written back there by a restore. /proc/sys is read through the Host, so it is the
// box's kernel in remote mode too; the keys are checked against a strict pattern because each one
// becomes a path (and a line of the dead-man switch).
import * as path from 'node:path';
import type { Host } from '../src/host.js';
import type { Manifest } from './store.js';

const KEY = /^[a-z0-9_]+(\.[a-z0-9_-]+)+$/;

/** /proc/sys/net/ipv4/conf/all/rp_filter for net.ipv4.conf.all.rp_filter. */
export function procPath(key: string): string {
  if (!KEY.test(key)) throw new Error(`bug: ${JSON.stringify(key)} is not a sysctl key`);
  return path.posix.join('/proc/sys', ...key.split('.'));
}

/**
 * Files of /proc as they read now (null: no such file). Read with `grep -H ''` rather than
 * host.readText: /proc reports a size of 0, and remote mode reads files with tar, which takes the
 * size at its word; one program, one round trip for all of them, on every box (busybox too).
 */
export async function readProc(host: Host, files: readonly string[]): Promise<Record<string, string | null>> {
  const found: Record<string, string | null> = Object.fromEntries(files.map((file) => [file, null]));
  if (files.length === 0) return found;
  // Exit status 2 when a file is missing: the others are still printed.
  const result = await host.run({ file: 'grep', args: ['-H', '', '--', ...files] }, { reject: false });
  const lines = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const file = files.find((f) => line.startsWith(`${f}:`));
    if (file !== undefined) lines.set(file, [...(lines.get(file) ?? []), line.slice(file.length + 1)]);
  }
  for (const [file, content] of lines) found[file] = content.join('\n');
  return found;
}

/** The live value of each key (null: the kernel has no such key). */
export async function readSettings(host: Host, keys: readonly string[]): Promise<Record<string, string | null>> {
  const values = await readProc(host, keys.map(procPath));
  return Object.fromEntries(keys.map((key) => [key, values[procPath(key)]?.trim() ?? null]));
}

/** Writes the snapshot's values back; returns what was restored, throws with every key that failed. */
export async function restoreSettings(host: Host, manifest: Manifest): Promise<string[]> {
  const restored: string[] = [];
  const failed: string[] = [];
  for (const [key, value] of Object.entries(manifest.kernelSettings ?? {})) {
    const result = await host.run({ file: 'sysctl', args: ['-w', `${key}=${value}`] }, { reject: false });
    if (result.exitCode === 0) restored.push(`kernel setting ${key}`);
    else failed.push(`${key} (${result.stderr.trim()})`);
  }
  if (failed.length > 0) throw new Error(`could not set back ${failed.join(', ')}`);
  return restored;
}

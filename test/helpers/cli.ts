// Runs the bundled CLI the way a user or a script would, and returns what it printed and how it ended.
import { execa } from 'execa';
import * as path from 'node:path';

export const BULWARK = path.resolve(import.meta.dirname, '../../dist/bulwark.js');

export interface CliResult {
  readonly code: number | undefined;
  readonly signal: string | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

export async function bulwark(args: readonly string[], options: { env?: Record<string, string>; uid?: number; gid?: number; cwd?: string; bundle?: string } = {}): Promise<CliResult> {
  const result = await execa(process.execPath, [options.bundle ?? BULWARK, ...args], {
    reject: false,
    env: { NO_COLOR: '1', ...options.env },
    stdin: 'ignore',
    uid: options.uid,
    gid: options.gid,
    cwd: options.cwd,
    timeout: 60_000,
  });
  return { code: result.exitCode, signal: result.signal, stdout: String(result.stdout), stderr: String(result.stderr) };
}

// Driving bulwark inside a sandbox box (test/helpers/sandbox.ts) the ways an admin does: at the
// box's console, or over a NEW ssh connection; reading the confirmation token and `status --json`.
import { BULWARK } from './cli.js';
import type { Box, RunResult } from './sandbox.js';

export type Family = 4 | 6;

export const STATE_DIR = '/var/lib/bulwark';
export const RULES_V4 = '/etc/iptables/rules.v4';
export const RULES_V6 = '/etc/iptables/rules.v6';
export const TOKEN_LINE = /^From a NEW ssh session to this server, run: {2}bulwark confirm ([a-z0-9]{4}-[a-z0-9]{4})$/m;

export interface GuardJson {
  step: string;
  status: 'armed' | 'confirmed' | 'rolled-back' | 'failed';
  token?: string;
  armedAt: string;
  deadline: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

export interface StatusJson {
  awaitingConfirmation: GuardJson | null;
  lastGuardedChange: GuardJson | null;
  steps: { id: string; status: string; note?: string }[];
}

/**
 * bulwark at the box's console: no SSH_CONNECTION, as an admin at the (virtual) screen of the server.
 * `env` is added to its environment (the crash tests set BULWARK_FAULT there).
 */
export function atConsole(box: Box, args: readonly string[], options: { env?: Record<string, string> } = {}): Promise<RunResult> {
  return box.exec(process.execPath, [BULWARK, ...args, '--no-color'], { reject: false, timeoutMs: 30_000, env: options.env });
}

/** bulwark over a NEW ssh connection from the admin's namespace (sshd sets SSH_CONNECTION). */
export function overSsh(box: Box, args: readonly string[], family: Family = 4): Promise<RunResult> {
  return box.ssh([process.execPath, BULWARK, ...args, '--no-color'], { reject: false, family, timeoutMs: 30_000 });
}

export function tokenOf(result: RunResult): string {
  const match = TOKEN_LINE.exec(result.stdout);
  if (match?.[1] === undefined) throw new Error(`no confirmation token in the output (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  return match[1];
}

export async function status(box: Box): Promise<StatusJson> {
  const result = await atConsole(box, ['status', '--json']);
  if (result.code !== 0) throw new Error(`bulwark status failed (${result.code}): ${result.stderr}`);
  return JSON.parse(result.stdout) as StatusJson;
}

export function stepStatus(state: StatusJson, id: string): string | undefined {
  return state.steps.find((s) => s.id === id)?.status;
}

/** Polls until check() holds; false when it still does not at the end (no fixed sleeps). */
export async function eventually(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Starts the box's apache2 the SysV way (there is no systemd in a box); throws when it does not start. */
export async function startApache(box: Box): Promise<void> {
  const started = await box.exec('/etc/init.d/apache2', ['start'], { reject: false });
  if (started.code !== 0) throw new Error(`apache2 did not start in the box: ${started.stdout}${started.stderr}`);
}

export async function stopApache(box: Box | undefined): Promise<void> {
  await box?.exec('/etc/init.d/apache2', ['stop'], { reject: false });
}

/** The HTTP status of a page of the box, fetched with curl from the admin's namespace ("user:password" optional). */
export async function httpStatus(box: Box, urlPath: string, credentials?: string): Promise<number> {
  const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...(credentials ? ['-u', credentials] : []), `http://${box.boxV4}${urlPath}`];
  return Number((await box.admin('curl', args, { reject: false })).stdout.trim());
}

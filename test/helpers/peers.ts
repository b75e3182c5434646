// Audit tools nobody here wrote, as judges of a sandbox box: Lynis (run inside the box, so it sees the
// box's files, processes, sysctls and sshd) and ssh-audit (run from the admin's namespace against the
// box's sshd, as an outside scanner meets it). Used by test/e2e/peers.test.ts and the peers bench.
import type { Box } from './sandbox.js';
import { overSsh, tokenOf } from './bulwark-in-box.js';
import { BULWARK } from './cli.js';

export interface LynisResult {
  readonly hardeningIndex: number;
  /** Test ids of the warnings (FINT-4315, ...). */
  readonly warnings: readonly string[];
  /** "TEST-ID|text|details" of each suggestion. */
  readonly suggestions: readonly string[];
  /** The sshd options SSH-7408 wants changed ("MaxAuthTries (set 6 to 3)"). */
  readonly sshOptions: readonly string[];
  /** The sysctl keys KRNL-6000 reports as differing from its profile. */
  readonly sysctlKeys: readonly string[];
}

/** `lynis audit system` in the box; its report file read back. About a minute. */
export async function lynisAudit(box: Box): Promise<LynisResult> {
  const report = '/root/lynis-report.dat';
  const run = await box.exec('lynis', ['audit', 'system', '--quick', '--no-colors', '--skip-plugins', '--logfile', '/root/lynis.log', '--report-file', report], { reject: false, timeoutMs: 300_000 });
  if (run.code !== 0) throw new Error(`lynis exited ${run.code}: ${run.stderr.slice(-2000)}`);
  return parseLynisReport(await box.readFile(report));
}

export function parseLynisReport(text: string): LynisResult {
  const values = (key: string) => [...text.matchAll(new RegExp(`^${key.replace(/[[\]]/g, '\\$&')}=(.*)$`, 'gm'))].map((m) => m[1]!);
  const index = Number(values('hardening_index')[0]);
  if (!Number.isFinite(index)) throw new Error('no hardening_index in the Lynis report');
  const suggestions = values('suggestion[]');
  return {
    hardeningIndex: index,
    warnings: values('warning[]').map((w) => w.split('|')[0]!),
    suggestions,
    sshOptions: suggestions.filter((s) => s.startsWith('SSH-7408|')).map((s) => s.split('|')[2]!),
    sysctlKeys: values('details[]').filter((d) => d.startsWith('KRNL-6000|')).map((d) => /;field:([^;]+);/.exec(d)?.[1] ?? d).sort(),
  };
}

export interface SshAuditResult {
  /** 0 good, 2 warnings, 3 failures (ssh_audit/exitcodes.py). */
  readonly code: number;
  readonly failures: readonly string[];
  readonly warnings: readonly string[];
  readonly text: string;
}

/** Debian's ssh-audit from the admin's namespace against the box's sshd on port 22. */
export async function sshAudit(box: Box): Promise<SshAuditResult> {
  const result = await box.admin('ssh-audit', ['--no-colors', '--level=warn', box.boxV4], { reject: false, timeoutMs: 60_000 });
  const lines = result.stdout.split('\n').map((l) => l.trim());
  return { code: result.code ?? -1, failures: lines.filter((l) => /\[fail\]/.test(l)), warnings: lines.filter((l) => /\[warn\]/.test(l)), text: result.stdout };
}

/** The steps of bulwark's default run that the peers judge, in the wizard's order. */
export const DEFAULT_RUN = ['firewall', 'ids', 'ssh'] as const;

/**
 * bulwark's default run as an admin makes it: each step applied with its default answers over SSH,
 * a guarded one confirmed from a NEW connection. Returns the outputs, for the test's messages.
 */
export async function hardenByDefault(box: Box): Promise<string[]> {
  const outputs: string[] = [];
  for (const step of DEFAULT_RUN) {
    const apply = await box.ssh([process.execPath, BULWARK, 'apply', '--step', step, '--yes', '--confirm-timeout', '300', '--no-color'], { reject: false, timeoutMs: 600_000 });
    outputs.push(`$ bulwark apply --step ${step}\n${apply.stdout}${apply.stderr}`);
    if (apply.code !== 0) throw new Error(`bulwark apply --step ${step} exited ${apply.code}:\n${apply.stdout}\n${apply.stderr}`);
    if (/bulwark confirm [a-z0-9]{4}-[a-z0-9]{4}/.test(apply.stdout)) {
      const confirm = await overSsh(box, ['confirm', tokenOf(apply)]);
      if (confirm.code !== 0) throw new Error(`bulwark confirm after ${step} exited ${confirm.code}:\n${confirm.stdout}\n${confirm.stderr}`);
    }
  }
  return outputs;
}

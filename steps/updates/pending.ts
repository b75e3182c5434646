// The security updates waiting on a running box, from the package manager's own answer, offline:
// `apt-get -s dist-upgrade` simulates on the lists already downloaded (never `apt-get update`: that
// is the admin's or unattended-upgrades' job), `yum -C` reads the cached metadata only.
import type { Host } from '../../src/host.js';
import type { SystemFacts } from '../../src/system.js';

export interface PendingUpdates {
  /** null: not known (say why in note), never a guessed 0. */
  readonly count: number | null;
  readonly packages: readonly string[];
  readonly note: string;
}

/**
 * Packages `apt-get -s` would take from a security archive. A line reads
 * `Inst libpam0g [1.5.2-6+deb12u1] (1.5.2-6+deb12u3 Debian-Security:12/oldstable-security [amd64]) []`:
 * after the new version come the origins, comma-separated ("Debian:12.15/oldstable,
 * Debian-Security:12/oldstable-security"); Ubuntu's is "Ubuntu:22.04/jammy-security".
 */
export function parseAptSecurity(output: string): string[] {
  const packages: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) ([^)]*)\)/.exec(line);
    if (!match) continue;
    const origins = match[3]!.replace(/\s*\[[^\]]*\]\s*$/, '').split(/,\s*/);
    if (origins.some((origin) => /-security$/i.test(origin.split('/').pop() ?? '') || /^Debian-Security:/i.test(origin))) packages.push(match[1]!);
  }
  return [...new Set(packages)];
}

/**
 * Packages in `yum updateinfo list security` (`dnf updateinfo list --security`): lines
 * "RHSA-2024:1234 Important/Sec. openssl-1:1.0.2k-26.el7_9.x86_64", the package last.
 */
export function parseYumSecurity(output: string): string[] {
  const packages: string[] = [];
  for (const line of output.split('\n')) {
    const match = /^\S+\s+\S*\/Sec\.\s+(\S+)\s*$/.exec(line.trim());
    if (match) packages.push(packageName(match[1]!));
  }
  return [...new Set(packages)];
}

/** "openssl-1:1.0.2k-26.el7_9.x86_64" -> "openssl": name, then -[epoch:]version-release.arch. */
function packageName(nevra: string): string {
  return /^(.+?)-(?:\d+:)?[^-]+-[^-]+$/.exec(nevra)?.[1] ?? nevra;
}

export async function countSecurityUpdates(host: Host, system: SystemFacts): Promise<PendingUpdates> {
  if (system.packageManager === 'apt') {
    const result = await host.run({ file: 'apt-get', args: ['-s', '-q', '-o', 'Debug::NoLocking=1', 'dist-upgrade'] }, { reject: false, env: { LC_ALL: 'C' }, timeoutMs: 120_000 });
    if (result.exitCode !== 0) return { count: null, packages: [], note: `unknown: apt-get -s failed (${firstLine(result.stderr)})` };
    const packages = parseAptSecurity(result.stdout);
    return { count: packages.length, packages, note: 'from the package lists apt has now (apt-get update refreshes them)' };
  }
  if (system.packageManager === 'yum' || system.packageManager === 'dnf') {
    const tool = system.packageManager;
    const args = tool === 'dnf' ? ['-C', '-q', 'updateinfo', 'list', '--security'] : ['-C', '-q', 'updateinfo', 'list', 'security'];
    const result = await host.run({ file: tool, args }, { reject: false, env: { LC_ALL: 'C' }, timeoutMs: 120_000 });
    // CentOS 5's yum has no updateinfo without the yum-security plugin: unknown, not 0.
    if (result.exitCode !== 0) return { count: null, packages: [], note: `unknown: ${tool} updateinfo failed (${firstLine(result.stderr)}; CentOS 5 needs the yum-security plugin)` };
    const packages = parseYumSecurity(result.stdout);
    return { count: packages.length, packages, note: `from ${tool}'s cached metadata` };
  }
  return { count: null, packages: [], note: 'unknown: no apt or yum on this box' };
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0]?.slice(0, 120) || 'no message';
}

// The network stack's kernel settings (Lynis KRNL-6000, the net.* keys of its default profile) for
// a server that routes nothing of its own: part of the firewall step, so they are applied under the
// same dead-man switch as the rules (a strict reverse-path filter can cut off a box whose replies
// leave by another interface than the requests came in on).
import type { Command, FileChange, KernelSettingsChange } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { SystemFacts } from '../../src/system.js';
import { procPath, readProc } from '../../snapshots/sysctl.js';

export type ReversePath = '1' | '2';

/** The values bulwark sets; rp_filter is decided per box (strictFilterIsSafe). Forwarding is never
 *  touched: a box running Docker or a VPN routes on purpose. */
export function wantedSettings(reversePath: ReversePath): [string, string][] {
  const perInterface: [string, string][] = [
    ['rp_filter', reversePath],
    ['accept_redirects', '0'],
    ['secure_redirects', '0'],
    ['send_redirects', '0'],
    ['accept_source_route', '0'],
    ['log_martians', '1'],
  ];
  return [
    ...['all', 'default'].flatMap((scope) => perInterface.map(([name, value]): [string, string] => [`net.ipv4.conf.${scope}.${name}`, value])),
    ['net.ipv4.tcp_syncookies', '1'],
    ['net.ipv4.icmp_echo_ignore_broadcasts', '1'],
    ['net.ipv4.icmp_ignore_bogus_error_responses', '1'],
    ...['all', 'default'].flatMap((scope) => [`accept_redirects`, `accept_source_route`].map((name): [string, string] => [`net.ipv6.conf.${scope}.${name}`, '0'])),
  ];
}

export interface KernelFacts {
  /** Live values (null: no such key on this kernel); empty under --root (no running kernel). */
  readonly live: Record<string, string | null>;
  /** Interfaces that have a gateway route (IPv4): more than one means replies may leave by another
   *  interface than the request came in on, and a strict reverse-path filter would drop them. */
  readonly gatewayInterfaces: string[];
  readonly forwarding: boolean;
  /** Where the settings are kept for the next boot, and what is there now. */
  readonly file: { readonly path: string; readonly current: string | null; readonly block: boolean };
}

/** CentOS 5 and 6 read /etc/sysctl.conf only at boot (rc.sysinit); later systems read /etc/sysctl.d. */
export function settingsFile(system: SystemFacts): { path: string; block: boolean } {
  const major = Number(system.distro.version.split('.')[0]);
  if (system.distro.family === 'rhel' && major > 0 && major < 7) return { path: '/etc/sysctl.conf', block: true };
  return { path: '/etc/sysctl.d/60-bulwark-network.conf', block: false };
}

export async function detectKernel(host: Host, system: SystemFacts): Promise<KernelFacts> {
  const target = settingsFile(system);
  const keys = wantedSettings('1').map(([key]) => key);
  const ROUTES = '/proc/net/route';
  const FORWARDING = '/proc/sys/net/ipv4/ip_forward';
  // One read of /proc for the settings, the routes and forwarding (one program on the box).
  const [current, proc] = await Promise.all([
    host.readText(target.path),
    host.live ? readProc(host, [...keys.map(procPath), ROUTES, FORWARDING]) : Promise.resolve({} as Record<string, string | null>),
  ]);
  const live = host.live ? Object.fromEntries(keys.map((key) => [key, proc[procPath(key)]?.trim() ?? null])) : {};
  return { live, gatewayInterfaces: gatewayInterfaces(proc[ROUTES] ?? ''), forwarding: proc[FORWARDING]?.trim() === '1', file: { ...target, current } };
}

/** Interfaces with a route through a gateway (RTF_GATEWAY, 0x2), from /proc/net/route. */
export function gatewayInterfaces(routeTable: string): string[] {
  const found = new Set<string>();
  for (const line of routeTable.split('\n').slice(1)) {
    const [iface, , , flags] = line.trim().split(/\s+/);
    if (iface && flags && (parseInt(flags, 16) & 0x2) !== 0) found.add(iface);
  }
  return [...found].sort();
}

export function reversePathFor(facts: KernelFacts): ReversePath {
  return facts.gatewayInterfaces.length > 1 ? '2' : '1';
}

const BEGIN = '# BEGIN bulwark network settings';
const END = '# END bulwark network settings';

/** The settings as sysctl.conf lines, with the keys this kernel has (all of them under --root). */
export function settingsText(facts: KernelFacts, live: boolean): string {
  const settings = wantedSettings(reversePathFor(facts)).filter(([key]) => !live || facts.live[key] != null);
  const why = reversePathFor(facts) === '2' ? `loose (2): routes through gateways on ${facts.gatewayInterfaces.join(', ')}` : 'strict (1)';
  return [
    `# Written by bulwark (firewall step): a server that routes nothing of its own. Reverse-path filter ${why}.`,
    ...settings.map(([key, value]) => `${key} = ${value}`),
    '',
  ].join('\n');
}

/** The file content with bulwark's settings: its own file, or a marked block in /etc/sysctl.conf. */
export function fileContent(facts: KernelFacts, live: boolean): string {
  const text = settingsText(facts, live);
  if (!facts.file.block) return text;
  const current = facts.file.current ?? '';
  const block = `${BEGIN}\n${text}${END}\n`;
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start >= 0 && end > start) return current.slice(0, start) + block + current.slice(end + END.length).replace(/^\n/, '');
  return `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${block}`;
}

/**
 * Live: the keys whose value differs, set at once with `sysctl -w` (only those keys: `sysctl -p`
 * of /etc/sysctl.conf would also apply whatever else the admin left there unapplied), and the file
 * for the next boot, written once the change is confirmed (like the rules: a reboot before that
 * comes back with the old settings). Under --root: the file only.
 */
export function planKernel(facts: KernelFacts, live: boolean): { file: FileChange | null; settings: KernelSettingsChange | null } {
  const after = fileContent(facts, live);
  const file: FileChange | null = facts.file.current === after ? null : {
    kind: 'file',
    step: 'firewall',
    path: facts.file.path,
    before: facts.file.current,
    after,
    mode: 0o644,
    afterConfirm: live,
    reason: 'the network kernel settings loaded at boot',
  };
  const differing = settingsToChange(facts);
  const apply: Command = { file: 'sysctl', args: ['-w', ...differing.map(([key, value]) => `${key}=${value}`)] };
  const settings: KernelSettingsChange | null = differing.length === 0 ? null : {
    kind: 'sysctl',
    step: 'firewall',
    settings: differing.map(([key, after]) => ({ key, before: facts.live[key] ?? null, after })),
    apply,
    reason: 'network kernel settings: no redirects, no source routing, reverse-path filter, SYN cookies, martians logged',
  };
  return { file, settings };
}

/** The keys this kernel has whose live value is not bulwark's (none under --root: no running kernel). After an apply, none. */
export function settingsToChange(facts: KernelFacts): [string, string][] {
  return wantedSettings(reversePathFor(facts)).filter(([key, value]) => facts.live[key] != null && facts.live[key] !== value);
}

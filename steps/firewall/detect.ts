// What the firewall step needs to know about the box: the backend, the rules loaded now and who
// else writes rules, the ports sshd and Asterisk really use, and where rules are persisted.
import type { IpFamily } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { SystemFacts } from '../../src/system.js';
import { FAMILIES, saveRules } from '../../snapshots/netfilter.js';
import { configInventory, liveInventory, type InventoryEntry } from '../exposure/inventory.js';
import { filterTable, parseSave } from '../../src/iptables-save.js';
import { iptablesDialect, type IptablesDialect, type PortRule } from './rules.js';
import { detectKernel, type KernelFacts } from './kernel.js';
import { readTrunks, resolveTrunks, type ResolvedTrunk } from './trunks.js';

export interface OtherManager {
  readonly name: string;
  /** refuse: bulwark would fight it (both rewrite INPUT); coexist: bulwark leaves its chains alone. */
  readonly effect: 'refuse' | 'coexist';
  readonly detail: string;
}

export interface Suggestion {
  readonly rule: PortRule;
  readonly label: string;
  /** Offered ticked (a service that must be reachable) or unticked (unknown: the admin decides). */
  readonly recommended: boolean;
}

export interface PersistTarget {
  readonly family: IpFamily;
  readonly path: string;
  readonly current: string | null;
}

export interface FirewallFacts {
  readonly live: boolean;
  readonly backend: 'nf_tables' | 'legacy' | 'unknown';
  readonly missingTools: string[];
  /** iptables-save text per family: the running rules, or under --root the persisted files. */
  readonly current: Record<IpFamily, string>;
  readonly managers: OtherManager[];
  readonly sshPorts: number[];
  readonly sipPorts: PortRule[];
  /** The SIP trunks in Asterisk's configuration, with the addresses the SIP limit exempts. */
  readonly trunks: ResolvedTrunk[];
  /** What the box's iptables understands: `iptables --version` live, the distribution's under --root. */
  readonly dialect: IptablesDialect;
  readonly suggestions: Suggestion[];
  readonly persist: PersistTarget[];
  /** How persisted rules get loaded at boot, and whether that is installed. */
  readonly bootLoader: { readonly name: string; readonly installed: boolean; readonly hint: string } | null;
  /** $SSH_CONNECTION split: the admin's address and the port they came in on. */
  readonly admin: { readonly address: string; readonly port: number } | null;
  /** The network stack's kernel settings (steps/firewall/kernel.ts). */
  readonly kernel: KernelFacts;
}

export async function detectFirewall(host: Host, system: SystemFacts, sshConnection: string | undefined): Promise<FirewallFacts> {
  // The programs below are independent of each other: run at once, they cost one wait, not six.
  const [persist, fromConfig, live, effectiveSsh, trunks, kernel, settings] = await Promise.all([
    persistTargets(host, system),
    configInventory(host),
    host.live ? liveInventory(host) : null,
    effectiveSshPorts(host),
    readTrunks(host).then((found) => resolveTrunks(host, found)),
    host.live ? liveRules(host) : null,
    detectKernel(host, system),
  ]);
  const missingTools = kernel?.missingTools ?? [];
  const current: Record<IpFamily, string> = { ipv4: '', ipv6: '' };
  let backend: FirewallFacts['backend'] = 'unknown';
  let dialect = iptablesDialect(distributionIptables(system));
  if (kernel) {
    if (kernel.rules) {
      const { version, ipv4, ipv6 } = kernel.rules;
      backend = version.includes('nf_tables') ? 'nf_tables' : version.includes('legacy') ? 'legacy' : 'unknown';
      dialect = iptablesDialect(/v(\d+\.\d+\.\d+)/.exec(version)?.[1] ?? null);
      Object.assign(current, { ipv4, ipv6 });
    }
  } else {
    for (const target of persist) current[target.family] = target.current ?? '';
  }
  // RTP ports are opened per call, so `ss` never shows the range: it comes from rtp.conf either way.
  const inventory = host.live ? [...(live ?? []), ...fromConfig.filter((e) => e.service.startsWith('RTP'))] : fromConfig;
  const ssh = sshPorts(effectiveSsh, inventory);
  return {
    live: host.live,
    backend,
    missingTools,
    current,
    managers: await otherManagers(host, current),
    sshPorts: ssh,
    sipPorts: sipPorts(inventory),
    trunks,
    dialect,
    suggestions: suggest(inventory, ssh),
    persist,
    bootLoader: await bootLoader(host, system),
    admin: parseSshConnection(sshConnection),
    kernel: settings,
  };
}

/** The running rules and the iptables version, when the tools to read and load them are all there. */
async function liveRules(host: Host): Promise<{ missingTools: string[]; rules: { version: string; ipv4: string; ipv6: string } | null }> {
  const missingTools: string[] = [];
  for (const tool of ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore']) if (!(await host.findProgram(tool))) missingTools.push(tool);
  if (missingTools.length > 0) return { missingTools, rules: null };
  const [version, ipv4, ipv6] = await Promise.all([host.run({ file: 'iptables', args: ['--version'] }, { reject: false }).then((r) => r.stdout), saveRules(host, 'ipv4'), saveRules(host, 'ipv6')]);
  return { missingTools, rules: { version, ipv4, ipv6 } };
}

/** The iptables a distribution release ships, where it matters for the rules' dialect (CentOS 5). */
export function distributionIptables(system: SystemFacts): string | null {
  if (system.distro.family === 'rhel' && /^5(\.|$)/.test(system.distro.version)) return '1.3.5';
  return null;
}

export function parseSshConnection(value: string | undefined): FirewallFacts['admin'] {
  const parts = value?.trim().split(/\s+/) ?? [];
  if (parts.length !== 4) return null;
  const port = Number(parts[3]);
  return Number.isInteger(port) ? { address: parts[0]!.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'), port } : null;
}

async function persistTargets(host: Host, system: SystemFacts): Promise<PersistTarget[]> {
  const paths: Record<IpFamily, string> =
    system.distro.family === 'rhel'
      ? { ipv4: '/etc/sysconfig/iptables', ipv6: '/etc/sysconfig/ip6tables' }
      : { ipv4: '/etc/iptables/rules.v4', ipv6: '/etc/iptables/rules.v6' };
  return Promise.all(FAMILIES.map(async (family) => ({ family, path: paths[family], current: await host.readText(paths[family]) })));
}

async function bootLoader(host: Host, system: SystemFacts): Promise<FirewallFacts['bootLoader']> {
  if (system.distro.family === 'rhel') {
    const installed = (await host.exists('/etc/init.d/iptables')) || (await host.exists('/etc/rc.d/init.d/iptables')) || (await host.exists('/usr/lib/systemd/system/iptables.service'));
    return { name: 'iptables-services', installed, hint: 'The iptables service loads /etc/sysconfig/iptables at boot (yum install iptables-services on CentOS 7 and later).' };
  }
  if (system.distro.family === 'debian') {
    const installed = (await host.exists('/usr/sbin/netfilter-persistent')) || (await host.exists('/etc/init.d/netfilter-persistent'));
    return { name: 'netfilter-persistent', installed, hint: 'netfilter-persistent loads /etc/iptables/rules.v4 and rules.v6 at boot: apt-get install iptables-persistent.' };
  }
  return null;
}

async function otherManagers(host: Host, current: Record<IpFamily, string>): Promise<OtherManager[]> {
  const managers: OtherManager[] = [];
  const chains = new Set<string>();
  for (const family of FAMILIES) {
    try {
      for (const table of parseSave(current[family]).values()) for (const chain of table.chains) chains.add(chain.name);
    } catch {
      // A persisted file bulwark cannot read is reported by the plan, not here.
    }
  }
  const has = (prefix: string) => [...chains].some((c) => c.startsWith(prefix));
  if (has('ufw-') || has('ufw6-')) managers.push({ name: 'ufw', effect: 'refuse', detail: 'ufw rewrites INPUT itself; disable it (ufw disable) or skip this step' });
  if (host.live ? await host.exists('/run/firewalld/firewalld.pid') || (await host.exists('/var/run/firewalld.pid')) : false) {
    managers.push({ name: 'firewalld', effect: 'refuse', detail: 'firewalld owns the firewall and reloads it on its own; stop and disable it, or skip this step' });
  }
  if (has('f2b-') || has('fail2ban-')) managers.push({ name: 'fail2ban', effect: 'coexist', detail: 'its chains and bans are kept; its checks still run on allowed traffic' });
  if (has('DOCKER')) managers.push({ name: 'Docker', effect: 'coexist', detail: 'its chains are kept; ports Docker publishes go through FORWARD, not INPUT, and are not filtered by this step' });
  if (has('ELASTIX') || has('RH-Firewall-1-INPUT') || has('IN_public')) {
    managers.push({ name: 'the distribution\'s firewall (Elastix / system-config-firewall)', effect: 'coexist', detail: 'its rules stay after bulwark\'s chain: they can still refuse traffic, but cannot open what bulwark closes' });
  }
  return managers;
}

/** The ports in sshd's effective configuration (`sshd -T`), on a live box. */
async function effectiveSshPorts(host: Host): Promise<number[]> {
  if (!host.live || !(await host.findProgram('sshd'))) return [];
  const effective = await host.run({ file: 'sshd', args: ['-T'] }, { reject: false });
  return [...effective.stdout.matchAll(/^port (\d+)$/gm)].map((match) => Number(match[1]));
}

/** sshd's ports: `sshd -T` and the listening sockets on a live box, sshd_config otherwise. */
function sshPorts(effective: readonly number[], inventory: readonly InventoryEntry[]): number[] {
  const ports = new Set<number>(effective);
  for (const entry of inventory) if (entry.service === 'SSH' && !entry.loopback) ports.add(Number(entry.port));
  if (ports.size === 0) ports.add(22);
  return [...ports].sort((a, b) => a - b);
}

function sipPorts(inventory: readonly InventoryEntry[]): PortRule[] {
  const ports = inventory.filter((e) => e.service.startsWith('SIP') && !e.loopback).map((e) => ({ proto: e.proto, port: e.port }));
  const unique = new Map(ports.map((p) => [`${p.proto}/${p.port}`, p]));
  return [...unique.values()];
}

/** The allow list the wizard offers: what is listening publicly and is meant to be. */
export function suggest(inventory: readonly InventoryEntry[], ssh: readonly number[]): Suggestion[] {
  const suggestions = new Map<string, Suggestion>();
  const add = (rule: PortRule, label: string, recommended: boolean) => {
    const key = `${rule.proto}/${rule.port}`;
    if (!suggestions.has(key)) suggestions.set(key, { rule, label, recommended });
  };
  for (const port of ssh) add({ proto: 'tcp', port: String(port) }, 'SSH: how you reach this server to administer it', true);
  for (const entry of inventory) {
    if (entry.loopback) continue;
    const rule: PortRule = { proto: entry.proto, port: entry.port };
    if (entry.service === 'Web server') add(rule, entry.port === '443' ? 'HTTPS: the web interfaces (A2Billing, FreePBX) over TLS' : `HTTP: the web interfaces (port ${entry.port})`, true);
    else if (entry.service.startsWith('SIP')) add(rule, `SIP signalling (${entry.proto}): phones and trunks register and place calls`, true);
    else if (entry.service === 'IAX2') add(rule, 'IAX2: Asterisk-to-Asterisk trunks', true);
    else if (entry.service.startsWith('RTP')) add(rule, 'RTP: the audio of every call (the range in rtp.conf)', true);
    else if (entry.role === 'unknown') add(rule, `${entry.service}: not known to bulwark; tick only if it must be reachable from outside`, false);
  }
  return [...suggestions.values()];
}

/** The filter tables per family, for planning. */
export function currentFilter(facts: FirewallFacts, family: IpFamily) {
  return filterTable(parseSave(facts.current[family]));
}

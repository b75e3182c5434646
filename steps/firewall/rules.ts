// The firewall as data. bulwark's rules live in chains of its own (BULWARK-INPUT, BULWARK-SIPSCAN);
// INPUT gets one jump to them at the top, one ACCEPT at the bottom and a DROP policy. BULWARK-INPUT
// drops what is not allowed and RETURNs what is, so rules of others that come later in INPUT
// (fail2ban's bans, Docker, an Elastix firewall) still see the allowed traffic and can refuse it, but
// cannot open anything bulwark closed.
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { filterTable, jumpTargets, STANDARD_TARGETS, type Table } from './iptables-save.js';

export type Family = 'ipv4' | 'ipv6';
export type Proto = 'tcp' | 'udp';

export interface PortRule {
  readonly proto: Proto;
  /** "22" or a range "10000-20000". */
  readonly port: string;
  /** Only these sources may reach the port; absent = everyone. */
  readonly from?: readonly string[];
}

export interface FirewallDesign {
  readonly allow: readonly PortRule[];
  readonly trustedSources: readonly string[];
  readonly rateLimit: boolean;
  readonly sshPorts: readonly number[];
  /** SIP signalling ports the box listens on: scanner drops and rate limits apply to them. */
  readonly sipPorts: readonly PortRule[];
}

/** One rule of bulwark's chains, as data; rendered to iptables syntax and evaluated by the lint. */
export interface Rule {
  readonly loopback?: boolean;
  readonly source?: string;
  readonly proto?: Proto | 'icmp' | 'ipv6-icmp';
  readonly dport?: string;
  readonly states?: readonly string[];
  readonly icmpType?: number;
  readonly payload?: string;
  readonly hashlimit?: { readonly above: string; readonly burst: number; readonly name: string };
  readonly limit?: { readonly rate: string; readonly burst: number };
  readonly target: 'RETURN' | 'DROP' | typeof SIPSCAN_CHAIN;
  /** Why the rule is there, for the admin (shown in the plan, not sent to the kernel). */
  readonly why: string;
}

export const INPUT_CHAIN = 'BULWARK-INPUT';
export const SIPSCAN_CHAIN = 'BULWARK-SIPSCAN';
export const OWN_CHAINS = [INPUT_CHAIN, SIPSCAN_CHAIN] as const;
/** Comment on bulwark's rules in INPUT; the jump's comment also carries the design's fingerprint. */
export const COMMENT = 'bulwark';

// User agents of the common SIP scanners (SIPVicious and its clones, sipcli, VaxSIP, sundayddr, ...).
export const SIP_SCANNER_AGENTS = ['friendly-scanner', 'sipvicious', 'sipcli', 'sip-scan', 'VaxSIPUserAgent', 'sundayddr', 'iWar', 'SIVuS', 'pplsip', 'smap'] as const;

// ICMPv6 a host must accept (RFC 4890 §4.4): errors, echo, neighbour and router discovery, MLD.
const ICMPV6_TYPES = [1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 141, 142, 143];

export function familyOf(cidr: string): Family {
  return ipaddr.parse(cidr.split('/')[0]!).kind() === 'ipv6' ? 'ipv6' : 'ipv4';
}

/** A CIDR as iptables-save prints it: host addresses get /32 or /128, networks their base address. */
export function canonicalCidr(cidr: string): string {
  const [address, prefixText] = cidr.split('/');
  let parsed = ipaddr.parse(address!);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const bits = parsed.kind() === 'ipv6' ? 128 : 32;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  const network = parsed.kind() === 'ipv6' ? ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/${prefix}`) : ipaddr.IPv4.networkAddressFromCIDR(`${parsed.toString()}/${prefix}`);
  return `${network.toString()}/${prefix}`;
}

/** The rules of bulwark's chains for one family. Pure: the same design always gives the same rules. */
export function chainRules(design: FirewallDesign, family: Family): { input: Rule[]; sipscan: Rule[] } {
  const input: Rule[] = [];
  const ofFamily = (cidrs: readonly string[]) => cidrs.filter((c) => familyOf(c) === family).map(canonicalCidr);
  input.push({ loopback: true, target: 'RETURN', why: 'the box talking to itself (loopback)' });
  const sipOpen = design.sipPorts.filter((sip) => design.allow.some((a) => a.proto === sip.proto && portsOverlap(a.port, sip.port)));
  // Before ESTABLISHED: a SIP scanner's INVITE over TCP arrives on an established connection.
  for (const sip of sipOpen) input.push({ proto: sip.proto, dport: sip.port, target: SIPSCAN_CHAIN, why: `drop SIP scanners by user agent on ${sip.proto}/${sip.port}` });
  input.push({ states: ['RELATED', 'ESTABLISHED'], target: 'RETURN', why: 'replies to connections already made (also the box\'s own outgoing calls and updates)' });
  input.push({ states: ['INVALID'], target: 'DROP', why: 'packets that belong to no valid connection' });
  if (family === 'ipv4') {
    input.push({ proto: 'icmp', icmpType: 8, limit: { rate: '10/sec', burst: 20 }, target: 'RETURN', why: 'ping, rate-limited' });
    input.push({ proto: 'icmp', icmpType: 3, target: 'RETURN', why: 'destination unreachable (path MTU discovery needs it)' });
    input.push({ proto: 'icmp', icmpType: 11, target: 'RETURN', why: 'time exceeded (traceroute)' });
  } else {
    for (const type of ICMPV6_TYPES) {
      input.push(type === 128
        ? { proto: 'ipv6-icmp', icmpType: type, limit: { rate: '10/sec', burst: 20 }, target: 'RETURN', why: 'ping, rate-limited' }
        : { proto: 'ipv6-icmp', icmpType: type, target: 'RETURN', why: 'ICMPv6 that IPv6 needs to work (neighbour and router discovery, errors, multicast listeners)' });
    }
  }
  for (const source of ofFamily(design.trustedSources)) input.push({ source, target: 'RETURN', why: 'trusted source: may reach every port' });
  if (design.rateLimit) {
    for (const port of design.sshPorts) {
      input.push({ proto: 'tcp', dport: String(port), states: ['NEW'], hashlimit: { above: '6/min', burst: 10, name: `bulwark-ssh${port}` }, target: 'DROP', why: 'more than 10 new SSH connections at once, then 6 a minute, from one address' });
    }
    for (const sip of sipOpen) {
      input.push({ proto: sip.proto, dport: sip.port, states: ['NEW'], hashlimit: { above: '20/sec', burst: 60, name: `bulwark-sip-${sip.proto}${sip.port.replace('-', '_')}` }, target: 'DROP', why: 'a flood of new SIP requests from one address' });
    }
  }
  for (const rule of design.allow) {
    if (rule.from === undefined) input.push({ proto: rule.proto, dport: rule.port, target: 'RETURN', why: `allowed: ${rule.proto}/${rule.port}` });
    else for (const source of ofFamily(rule.from)) input.push({ source, proto: rule.proto, dport: rule.port, target: 'RETURN', why: `allowed from ${source}: ${rule.proto}/${rule.port}` });
  }
  input.push({ target: 'DROP', why: 'everything else' });
  const sipscan: Rule[] = sipOpen.length === 0 ? [] : SIP_SCANNER_AGENTS.map((agent) => ({ payload: agent, target: 'DROP' as const, why: `SIP scanner "${agent}"` }));
  return { input, sipscan };
}

/** A rule as iptables-save prints it (after "-A CHAIN "). */
export function renderRule(rule: Rule, family: Family): string {
  const parts: string[] = [];
  if (rule.source) parts.push('-s', rule.source);
  if (rule.loopback) parts.push('-i', 'lo');
  if (rule.proto) parts.push('-p', rule.proto);
  if (rule.proto === 'icmp' && rule.icmpType !== undefined) parts.push('-m', 'icmp', '--icmp-type', String(rule.icmpType));
  if (rule.proto === 'ipv6-icmp' && rule.icmpType !== undefined) parts.push('-m', 'icmp6', '--icmpv6-type', String(rule.icmpType));
  if ((rule.proto === 'tcp' || rule.proto === 'udp') && rule.dport) parts.push('-m', rule.proto, '--dport', rule.dport.replace('-', ':'));
  if (rule.states) parts.push('-m', 'conntrack', '--ctstate', rule.states.join(','));
  if (rule.payload) parts.push('-m', 'string', '--string', `"${rule.payload}"`, '--algo', 'bm', '--icase');
  if (rule.limit) parts.push('-m', 'limit', '--limit', rule.limit.rate, '--limit-burst', String(rule.limit.burst));
  if (rule.hashlimit) {
    parts.push('-m', 'hashlimit', '--hashlimit-above', rule.hashlimit.above, '--hashlimit-burst', String(rule.hashlimit.burst), '--hashlimit-mode', 'srcip', '--hashlimit-name', `${rule.hashlimit.name}${family === 'ipv6' ? '-6' : ''}`);
  }
  parts.push('-j', rule.target);
  return parts.join(' ');
}

export interface DesiredChains {
  readonly input: string[];
  readonly sipscan: string[];
  /** Short hash of the design's rules: in the comment of the jump, so re-planning can tell "already done". */
  readonly fingerprint: string;
}

export function desiredChains(design: FirewallDesign, family: Family): DesiredChains {
  const { input, sipscan } = chainRules(design, family);
  const rendered = { input: input.map((r) => renderRule(r, family)), sipscan: sipscan.map((r) => renderRule(r, family)) };
  const fingerprint = createHash('sha256').update(JSON.stringify(rendered)).digest('hex').slice(0, 12);
  return { ...rendered, fingerprint };
}

const jumpRule = (fingerprint: string) => `-m comment --comment "${COMMENT}:${fingerprint}" -j ${INPUT_CHAIN}`;
const acceptRule = `-m comment --comment ${COMMENT} -j ACCEPT`;

/** Is this INPUT rule one of the firewall step's (its jump, or its final ACCEPT)? */
export function isOwnInputRule(rule: string): boolean {
  return /--comment "?bulwark(:[0-9a-f]+)?"?(\s|$)/.test(rule);
}

/**
 * What a step owns in the filter table: its chains, and its rules in INPUT (by their comment). A
 * rollback puts back exactly that and nothing else, so undoing one step never touches another's
 * rules (nor fail2ban's).
 */
export interface Ownership {
  readonly chains: readonly string[];
  readonly ownsInputRule: (rule: string) => boolean;
}

export const FIREWALL_OWNERSHIP: Ownership = { chains: OWN_CHAINS, ownsInputRule: isOwnInputRule };

/** What the filter table looks like once the design is applied (for the preview and the persisted file). */
export function predictTable(current: Table, desired: DesiredChains): Table {
  const table = filterTable(new Map([['filter', current]]));
  const input = table.chains.find((c) => c.name === 'INPUT')!;
  input.policy = 'DROP';
  const others = (table.rules.get('INPUT') ?? []).filter((r) => !isOwnInputRule(r));
  // iptables quotes a comment with a colon in it: the jump reads back exactly as jumpRule writes it.
  table.rules.set('INPUT', [jumpRule(desired.fingerprint), ...others, acceptRule]);
  table.chains = table.chains.filter((c) => !(OWN_CHAINS as readonly string[]).includes(c.name));
  table.chains.push({ name: INPUT_CHAIN, policy: '-' });
  table.rules.set(INPUT_CHAIN, desired.input);
  if (desired.sipscan.length > 0) {
    table.chains.push({ name: SIPSCAN_CHAIN, policy: '-' });
    table.rules.set(SIPSCAN_CHAIN, desired.sipscan);
  } else {
    table.rules.delete(SIPSCAN_CHAIN);
  }
  return table;
}

/** True when the kernel's filter table already holds exactly this design. */
export function isApplied(current: Table, desired: DesiredChains): boolean {
  const table = filterTable(new Map([['filter', current]]));
  const inputRules = table.rules.get('INPUT') ?? [];
  return (
    table.chains.find((c) => c.name === 'INPUT')?.policy === 'DROP' &&
    inputRules[0]?.includes(`${COMMENT}:${desired.fingerprint}`) === true &&
    inputRules.some((r) => r === acceptRule || r === acceptRule.replace(COMMENT, `"${COMMENT}"`)) &&
    table.chains.some((c) => c.name === INPUT_CHAIN)
  );
}

/**
 * The iptables-restore --noflush script that turns the current filter table into the design. Only
 * bulwark's chains are declared (declaring a chain flushes it); INPUT gets its policy and bulwark's
 * two rules; no other chain is named, so nothing of anyone else's is flushed.
 */
export function applyScript(current: Table, desired: DesiredChains): string {
  const table = filterTable(new Map([['filter', current]]));
  const existing = new Set(table.chains.map((c) => c.name));
  const inputRules = table.rules.get('INPUT') ?? [];
  const lines = ['*filter', ':INPUT DROP [0:0]', `:${INPUT_CHAIN} - [0:0]`];
  if (desired.sipscan.length > 0) lines.push(`:${SIPSCAN_CHAIN} - [0:0]`);
  for (const rule of desired.sipscan) lines.push(`-A ${SIPSCAN_CHAIN} ${rule}`);
  for (const rule of desired.input) lines.push(`-A ${INPUT_CHAIN} ${rule}`);
  const wanted = `${COMMENT}:${desired.fingerprint}`;
  const jumpInPlace = inputRules[0]?.includes(wanted) === true;
  // Old jumps (another fingerprint, or not at the top) go; the new one goes first.
  for (const rule of inputRules) if (isOwnInputRule(rule) && rule.includes(`-j ${INPUT_CHAIN}`) && !(jumpInPlace && rule === inputRules[0])) lines.push(`-D INPUT ${rule}`);
  if (!jumpInPlace) lines.push(`-I INPUT 1 ${jumpRule(desired.fingerprint)}`);
  if (!inputRules.some((r) => isOwnInputRule(r) && r.endsWith('-j ACCEPT'))) lines.push(`-A INPUT ${acceptRule}`);
  if (desired.sipscan.length === 0 && existing.has(SIPSCAN_CHAIN)) lines.push(`:${SIPSCAN_CHAIN} - [0:0]`, `-X ${SIPSCAN_CHAIN}`);
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/**
 * The script that puts bulwark's part of the filter table back as it was in `saved`: the built-in
 * policies, bulwark's rules in INPUT and its chains. Everything else (fail2ban's bans added since,
 * Docker's chains) is left as it is now. An empty saved ruleset means ACCEPT policies and no bulwark.
 */
export function restoreScript(current: Table, saved: Table, owner: Ownership = FIREWALL_OWNERSHIP, policies = owner === FIREWALL_OWNERSHIP): string {
  const now = filterTable(new Map([['filter', current]]));
  const before = filterTable(new Map([['filter', saved]]));
  const lines = ['*filter'];
  // Only the firewall step sets the built-in chains' policies; geo-blocking never changes them.
  if (policies) for (const name of ['INPUT', 'FORWARD', 'OUTPUT']) lines.push(`:${name} ${before.chains.find((c) => c.name === name)?.policy ?? 'ACCEPT'} [0:0]`);
  for (const rule of now.rules.get('INPUT') ?? []) if (owner.ownsInputRule(rule)) lines.push(`-D INPUT ${rule}`);
  for (const chain of owner.chains) {
    const wasThere = before.chains.some((c) => c.name === chain);
    const isThere = now.chains.some((c) => c.name === chain);
    if (isThere || wasThere) lines.push(`:${chain} - [0:0]`);
    if (isThere && !wasThere) lines.push(`-X ${chain}`);
  }
  for (const chain of owner.chains) for (const rule of before.rules.get(chain) ?? []) if (before.chains.some((c) => c.name === chain)) lines.push(`-A ${chain} ${rule}`);
  (before.rules.get('INPUT') ?? []).forEach((rule, index) => {
    if (!owner.ownsInputRule(rule)) return;
    lines.push(rule.endsWith('-j ACCEPT') ? `-A INPUT ${rule}` : `-I INPUT ${index + 1} ${rule}`);
  });
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/** Chains a script jumps to that neither it nor the kernel defines. iptables-restore --test misses
 *  these on the nf_tables backend, so bulwark checks them itself. */
export function undefinedTargets(script: string, current: Table): string[] {
  const defined = new Set([...current.chains.map((c) => c.name), ...[...script.matchAll(/^:(\S+)/gm)].map((m) => m[1]!)]);
  const deleted = new Set([...script.matchAll(/^-X (\S+)/gm)].map((m) => m[1]!));
  const missing = new Set<string>();
  for (const line of script.split('\n')) {
    if (!/^-[AI] /.test(line)) continue;
    for (const target of jumpTargets(line)) if (!STANDARD_TARGETS.has(target) && (!defined.has(target) || deleted.has(target))) missing.add(target);
  }
  return [...missing];
}

export interface Probe {
  readonly family: Family;
  readonly source: string;
  readonly proto: Proto;
  readonly port: number;
}

/**
 * Would a NEW connection from `source` to `port` get through bulwark's chain? Evaluated on the
 * design itself: a first SYN carries no payload (the scanner check cannot match it) and is never
 * over a rate limit.
 */
export function admits(design: FirewallDesign, probe: Probe): { admitted: boolean; rule: Rule } {
  const { input } = chainRules(design, probe.family);
  for (const rule of input) {
    if (rule.loopback) continue;
    if (rule.states && !rule.states.includes('NEW')) continue;
    if (rule.hashlimit || rule.payload || rule.icmpType !== undefined) continue;
    if (rule.proto && rule.proto !== probe.proto) continue;
    if (rule.dport && !portsOverlap(rule.dport, String(probe.port))) continue;
    if (rule.source && !inCidr(probe.source, rule.source)) continue;
    if (rule.target === SIPSCAN_CHAIN) continue;
    return { admitted: rule.target === 'RETURN', rule };
  }
  return { admitted: false, rule: input[input.length - 1]! };
}

export function portRange(port: string): [number, number] {
  const [low, high] = port.split(/[-:]/).map(Number);
  return [low!, high ?? low!];
}

export function portsOverlap(a: string, b: string): boolean {
  const [al, ah] = portRange(a);
  const [bl, bh] = portRange(b);
  return al <= bh && bl <= ah;
}

export function inCidr(address: string, cidr: string): boolean {
  try {
    let parsed = ipaddr.parse(address);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    const range = ipaddr.parseCIDR(cidr);
    return parsed.kind() === range[0].kind() && parsed.match(range);
  } catch {
    return false;
  }
}

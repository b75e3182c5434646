// The firewall as data. bulwark's rules live in chains of its own (BULWARK-INPUT, and below it the
// SIP scanner check and one chain per rate limit); INPUT gets one jump to them at the top, one ACCEPT
// at the bottom and a DROP policy. BULWARK-INPUT drops what is not allowed and RETURNs what is, so
// rules of others that come later in INPUT (fail2ban's bans, Docker, an Elastix firewall) still see
// the allowed traffic and can refuse it, but cannot open anything bulwark closed.
//
// Every rate limit has the same shape, a chain of its own: the sources it never counts RETURN, a
// `hashlimit` rule RETURNs what is under the limit, and the rest is dropped. That shape loads on every
// iptables from CentOS 5's 1.3.5 (which has no --hashlimit-above) to today's.
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';
import { filterTable, type Table } from '../../src/iptables-save.js';
import { ownsRule, type FilterOwnership } from '../../snapshots/netfilter.js';

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
  /** The per-source limit on SIP requests (with rateLimit); null: none. */
  readonly sipLimit: SipLimit | null;
  /** Sources the SIP request limit never counts besides trustedSources: the SIP trunks (CIDRs). */
  readonly sipExempt: readonly string[];
  /** What the box's iptables understands; the modern dialect when absent. */
  readonly dialect?: IptablesDialect;
}

/** Requests per second and burst, per source address (per /64 for IPv6). */
export interface SipLimit {
  readonly perSecond: number;
  readonly burst: number;
}

/**
 * The defaults, sized for an office of about 100 phones behind one NAT address: each re-registering
 * every 60 s with digest authentication (two REGISTERs) and sending an OPTIONS keep-alive every
 * 30 s makes about 7 requests a second, under 10; when all of them register at once after a power
 * cut, the first 60 pass at once and the rest within seconds as the phones retry. A one-socket flood
 * of 100 requests a second keeps 10 of them.
 */
export const DEFAULT_SIP_LIMIT: SipLimit = { perSecond: 10, burst: 60 };

/** The requests a SIP attack is made of; replies ("SIP/2.0 200 OK") and in-dialog requests are never counted. */
export const SIP_LIMITED_METHODS = ['REGISTER', 'INVITE', 'OPTIONS', 'SUBSCRIBE', 'MESSAGE'] as const;

/**
 * The dialect of the box's iptables. Only one thing decides it: CentOS 5 (Elastix 2.x) ships iptables
 * 1.3.5 on Linux 2.6.18, which predates hashlimit revision 1 (--hashlimit-upto, --hashlimit-srcmask:
 * iptables 1.4.1, Linux 2.6.26), the string match's --icase, and the string and hashlimit matches in
 * ip6tables. CentOS 6 (1.4.7) and later have all of them.
 */
export interface IptablesDialect {
  /** "1.8.9", "1.3.5"; null when unknown (read as modern). */
  readonly version: string | null;
  readonly legacy: boolean;
}

export const MODERN_IPTABLES: IptablesDialect = { version: null, legacy: false };

export function iptablesDialect(version: string | null): IptablesDialect {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return { version, legacy: false };
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return { version, legacy: major < 1 || (major === 1 && (minor < 4 || (minor === 4 && patch < 1))) };
}

/** One rule of bulwark's chains, as data; rendered to iptables syntax and evaluated by the lint. */
export interface Rule {
  readonly loopback?: boolean;
  readonly source?: string;
  readonly proto?: Proto | 'icmp' | 'ipv6-icmp';
  readonly dport?: string;
  readonly states?: readonly string[];
  readonly icmpType?: number;
  /** Anywhere in the packet, any case (a scanner's user agent). */
  readonly payload?: string;
  /** A SIP request line: the method and a space, between these byte offsets of the packet. */
  readonly request?: { readonly method: string; readonly from: number; readonly to: number };
  readonly hashlimit?: Hashlimit;
  readonly limit?: { readonly rate: string; readonly burst: number };
  readonly target: 'RETURN' | 'DROP' | OwnSubChain;
  /** Why the rule is there, for the admin (shown in the plan, not sent to the kernel). */
  readonly why: string;
}

/** Under-the-limit matching of one source: `--hashlimit-upto`, or `--hashlimit` on legacy iptables. */
export interface Hashlimit {
  /** "10/sec", "6/min". */
  readonly rate: string;
  readonly burst: number;
  /** The kernel's table (≤ 15 characters with the IPv6 "-6": hashlimit revision 1 allows no more). */
  readonly name: string;
  /** IPv6 sources counted per network of this prefix (an end site gets a /64). */
  readonly srcmask?: number;
  readonly htable: { readonly size: number; readonly max: number; readonly expireMs: number };
}

export const INPUT_CHAIN = 'BULWARK-INPUT';
export const SIPSCAN_CHAIN = 'BULWARK-SIPSCAN';
/** Per-source limits: SIP requests, new SSH connections, new SIP connections over TCP (and TLS). */
export const SIPLIMIT_CHAIN = 'BULWARK-SIPLIMIT';
export const SSHLIMIT_CHAIN = 'BULWARK-SSHLIMIT';
export const SIPCONN_CHAIN = 'BULWARK-SIPCONN';
export const OWN_CHAINS = [INPUT_CHAIN, SIPSCAN_CHAIN, SIPLIMIT_CHAIN, SSHLIMIT_CHAIN, SIPCONN_CHAIN] as const;
/** The chains BULWARK-INPUT jumps to, in the order they are declared. */
const SUB_CHAINS = [SIPSCAN_CHAIN, SIPLIMIT_CHAIN, SSHLIMIT_CHAIN, SIPCONN_CHAIN] as const;
export type OwnSubChain = (typeof SUB_CHAINS)[number];

/**
 * Where a SIP request line can start, in bytes from the start of the packet (the string match counts
 * from the IP header): after the smallest headers, up to the largest ones (IPv4 options, TCP
 * options; for IPv6, room for a few extension headers) plus a few blank lines, which SIP allows before
 * a request. A reply's first line is "SIP/2.0 ...", so no reply matches a method there.
 */
const REQUEST_WINDOW: Record<Family, Record<Proto, { from: number; to: number }>> = {
  ipv4: { udp: { from: 28, to: 28 + 40 + 16 + 10 }, tcp: { from: 40, to: 40 + 40 + 40 + 16 + 10 } },
  ipv6: { udp: { from: 48, to: 48 + 64 + 16 + 10 }, tcp: { from: 60, to: 60 + 64 + 40 + 16 + 10 } },
};

/** Hash table sizes: room for 65,536 sources (about 8 MiB of kernel memory at most). */
const HTABLE = { size: 16384, max: 65536 };

/** Forget a source only once its bucket would be full again, and never sooner than 30 s: forgetting
 *  earlier would hand a paused attacker a fresh burst. */
function expiryMs(perSecond: number, burst: number): number {
  return Math.max(30_000, Math.ceil(burst / perSecond) * 1000 + 10_000);
}
/** Comment on bulwark's rules in INPUT; the jump's comment also carries the design's fingerprint. */
export const COMMENT = 'bulwark';

// User agents of the common SIP scanners (SIPVicious and its clones, sipcli, VaxSIP, sundayddr, ...).
export const SIP_SCANNER_AGENTS = ['friendly-scanner', 'sipvicious', 'sipcli', 'sip-scan', 'VaxSIPUserAgent', 'sundayddr', 'iWar', 'SIVuS', 'pplsip', 'smap'] as const;

// ICMPv6 a host must accept (RFC 4890 §4.4): errors, echo, neighbour and router discovery, MLD.
const ICMPV6_TYPES = [1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 141, 142, 143];

/** An IPv4 or IPv6 address, or a CIDR of either. */
export function isValidCidr(text: string): boolean {
  try {
    if (text.includes('/')) ipaddr.parseCIDR(text);
    else ipaddr.parse(text);
    return ipaddr.isValid(text.split('/')[0]!);
  } catch {
    return false;
  }
}

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

/** The SIP ports the allow list opens: the ones the scanner check and the SIP limit watch. */
export function openSipPorts(design: FirewallDesign): PortRule[] {
  return design.sipPorts.filter((sip) => design.allow.some((a) => a.proto === sip.proto && portsOverlap(a.port, sip.port)));
}

/** Each of bulwark's chains for one family, BULWARK-INPUT first; empty chains are not created. */
export type ChainRules = Map<typeof INPUT_CHAIN | OwnSubChain, Rule[]>;

/** The rules of bulwark's chains for one family. Pure: the same design always gives the same rules. */
export function chainRules(design: FirewallDesign, family: Family): ChainRules {
  const dialect = design.dialect ?? MODERN_IPTABLES;
  // ip6tables 1.3.5 has neither the string nor the hashlimit match: there the IPv6 rules leave the
  // scanner check and the rate limits out (the plan says so) rather than fail to load.
  const matchesPayload = !(dialect.legacy && family === 'ipv6');
  const input: Rule[] = [];
  const chains: ChainRules = new Map([[INPUT_CHAIN, input]]);
  const ofFamily = (cidrs: readonly string[]) => [...new Set(cidrs.filter((c) => familyOf(c) === family).map(canonicalCidr))];
  input.push({ loopback: true, target: 'RETURN', why: 'the box talking to itself (loopback)' });
  const sipOpen = openSipPorts(design);
  const limits = design.rateLimit && matchesPayload;
  // Before ESTABLISHED: a SIP scanner's INVITE over TCP arrives on an established connection, and
  // every packet of a one-socket UDP flood after the first is "established" too.
  if (matchesPayload) for (const sip of sipOpen) input.push({ proto: sip.proto, dport: sip.port, target: SIPSCAN_CHAIN, why: `drop SIP scanners by user agent on ${sip.proto}/${sip.port}` });
  if (limits && design.sipLimit && sipOpen.length > 0) {
    for (const sip of sipOpen) {
      for (const method of SIP_LIMITED_METHODS) {
        input.push({ proto: sip.proto, dport: sip.port, request: { method, ...REQUEST_WINDOW[family][sip.proto] }, target: SIPLIMIT_CHAIN, why: `count ${method} requests on ${sip.proto}/${sip.port} against the sender's SIP limit` });
      }
    }
    const { perSecond, burst } = design.sipLimit;
    chains.set(SIPLIMIT_CHAIN, limitChain(
      [
        ...ofFamily(design.trustedSources).map((source) => ({ source, why: 'trusted source: never counted' })),
        ...ofFamily(design.sipExempt).filter((source) => !ofFamily(design.trustedSources).includes(source)).map((source) => ({ source, why: 'SIP trunk: never counted' })),
      ],
      { rate: `${perSecond}/sec`, burst, name: 'bw-sip', htable: { ...HTABLE, expireMs: expiryMs(perSecond, burst) } },
      family,
      `more than ${burst} SIP requests at once, then ${perSecond} a second, from one ${family === 'ipv6' ? '/64 network' : 'address'}`,
    ));
  }
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
  if (limits) {
    for (const port of design.sshPorts) input.push({ proto: 'tcp', dport: String(port), states: ['NEW'], target: SSHLIMIT_CHAIN, why: `new SSH connections to port ${port}: counted per source` });
    if (design.sshPorts.length > 0) {
      chains.set(SSHLIMIT_CHAIN, limitChain([], { rate: '6/min', burst: 10, name: 'bw-ssh', htable: { ...HTABLE, expireMs: expiryMs(6 / 60, 10) } }, family, 'more than 10 new SSH connections at once, then 6 a minute, from one source'));
    }
    // Over TLS (5061) the requests are encrypted: new connections are all the firewall can count.
    const sipTcp = sipOpen.filter((sip) => sip.proto === 'tcp');
    for (const sip of sipTcp) input.push({ proto: 'tcp', dport: sip.port, states: ['NEW'], target: SIPCONN_CHAIN, why: `new SIP connections over TCP to port ${sip.port}: counted per source` });
    if (sipTcp.length > 0) {
      chains.set(SIPCONN_CHAIN, limitChain(
        [...ofFamily(design.sipExempt).map((source) => ({ source, why: 'SIP trunk: never counted' }))],
        { rate: '20/sec', burst: 60, name: 'bw-sipconn', htable: { ...HTABLE, expireMs: expiryMs(20, 60) } },
        family,
        'more than 60 new SIP connections at once, then 20 a second, from one source',
      ));
    }
  }
  for (const rule of design.allow) {
    if (rule.from === undefined) input.push({ proto: rule.proto, dport: rule.port, target: 'RETURN', why: `allowed: ${rule.proto}/${rule.port}` });
    else for (const source of ofFamily(rule.from)) input.push({ source, proto: rule.proto, dport: rule.port, target: 'RETURN', why: `allowed from ${source}: ${rule.proto}/${rule.port}` });
  }
  input.push({ target: 'DROP', why: 'everything else' });
  if (matchesPayload && sipOpen.length > 0) chains.set(SIPSCAN_CHAIN, SIP_SCANNER_AGENTS.map((agent) => ({ payload: agent, target: 'DROP' as const, why: `SIP scanner "${agent}"` })));
  return chains;
}

/** A rate limit's chain: the exempt sources, then what is under the limit, RETURN; the rest, DROP. */
function limitChain(exempt: readonly { source: string; why: string }[], hashlimit: Omit<Hashlimit, 'srcmask'>, family: Family, over: string): Rule[] {
  return [
    ...exempt.map(({ source, why }) => ({ source, target: 'RETURN' as const, why })),
    { hashlimit: { ...hashlimit, ...(family === 'ipv6' ? { srcmask: 64 } : {}) }, target: 'RETURN', why: 'under the limit' },
    { target: 'DROP', why: over },
  ];
}

/** A rule as iptables-save prints it (after "-A CHAIN "), in the dialect of the box's iptables. */
export function renderRule(rule: Rule, family: Family, dialect: IptablesDialect = MODERN_IPTABLES): string {
  const parts: string[] = [];
  if (rule.source) parts.push('-s', rule.source);
  if (rule.loopback) parts.push('-i', 'lo');
  if (rule.proto) parts.push('-p', rule.proto);
  if (rule.proto === 'icmp' && rule.icmpType !== undefined) parts.push('-m', 'icmp', '--icmp-type', String(rule.icmpType));
  if (rule.proto === 'ipv6-icmp' && rule.icmpType !== undefined) parts.push('-m', 'icmp6', '--icmpv6-type', String(rule.icmpType));
  if ((rule.proto === 'tcp' || rule.proto === 'udp') && rule.dport) parts.push('-m', rule.proto, '--dport', rule.dport.replace('-', ':'));
  if (rule.states) parts.push('-m', 'conntrack', '--ctstate', rule.states.join(','));
  // --icase came after iptables 1.3.5: there scanners are matched as they write themselves (lower case).
  const icase = dialect.legacy ? [] : ['--icase'];
  if (rule.payload) parts.push('-m', 'string', '--string', `"${rule.payload}"`, '--algo', 'bm', ...icase);
  if (rule.request) parts.push('-m', 'string', '--string', `"${rule.request.method} "`, '--algo', 'bm', '--from', String(rule.request.from), '--to', String(rule.request.to), ...icase);
  if (rule.limit) parts.push('-m', 'limit', '--limit', rule.limit.rate, '--limit-burst', String(rule.limit.burst));
  const h = rule.hashlimit;
  if (h) {
    parts.push('-m', 'hashlimit', dialect.legacy ? '--hashlimit' : '--hashlimit-upto', h.rate, '--hashlimit-burst', String(h.burst), '--hashlimit-mode', 'srcip', '--hashlimit-name', `${h.name}${family === 'ipv6' ? '-6' : ''}`);
    parts.push('--hashlimit-htable-size', String(h.htable.size), '--hashlimit-htable-max', String(h.htable.max), '--hashlimit-htable-expire', String(h.htable.expireMs));
    if (h.srcmask !== undefined && !dialect.legacy) parts.push('--hashlimit-srcmask', String(h.srcmask));
  }
  parts.push('-j', rule.target);
  return parts.join(' ');
}

export interface DesiredChains {
  readonly input: string[];
  /** bulwark's other chains that hold rules, in declaration order (SIP scanners, the limits). */
  readonly chains: readonly { readonly name: OwnSubChain; readonly rules: string[] }[];
  /** Short hash of the design's rules: in the comment of the jump, so re-planning can tell "already done". */
  readonly fingerprint: string;
}

export function desiredChains(design: FirewallDesign, family: Family): DesiredChains {
  const rules = chainRules(design, family);
  const render = (list: readonly Rule[]) => list.map((r) => renderRule(r, family, design.dialect));
  const input = render(rules.get(INPUT_CHAIN)!);
  const chains = SUB_CHAINS.filter((name) => (rules.get(name)?.length ?? 0) > 0).map((name) => ({ name, rules: render(rules.get(name)!) }));
  const fingerprint = createHash('sha256').update(JSON.stringify({ input, chains })).digest('hex').slice(0, 12);
  return { input, chains, fingerprint };
}

const jumpRule = (fingerprint: string) => `-m comment --comment "${COMMENT}:${fingerprint}" -j ${INPUT_CHAIN}`;
const acceptRule = `-m comment --comment ${COMMENT} -j ACCEPT`;

/** Is this INPUT rule one of the firewall step's (its jump, or its final ACCEPT)? */
export function isOwnInputRule(rule: string): boolean {
  return ownsRule(COMMENT, rule);
}

/** What the firewall step owns in the filter table (recorded in its snapshots): its chains, its
 *  two INPUT rules (by their comment), and the built-in chains' policies. */
export const FIREWALL_OWNERSHIP: FilterOwnership = { chains: [...OWN_CHAINS], comment: COMMENT, policies: true };

/** What the filter table looks like once the design is applied (for the preview and the persisted file). */
export function predictTable(current: Table, desired: DesiredChains): Table {
  const table = filterTable(new Map([['filter', current]]));
  const input = table.chains.find((c) => c.name === 'INPUT')!;
  input.policy = 'DROP';
  const others = (table.rules.get('INPUT') ?? []).filter((r) => !isOwnInputRule(r));
  // iptables quotes a comment with a colon in it: the jump reads back exactly as jumpRule writes it.
  // It goes first, after the geo-block's jump if that leads (as applyScript puts it).
  const geo = geoRulesFirst(others);
  table.rules.set('INPUT', [...others.slice(0, geo), jumpRule(desired.fingerprint), ...others.slice(geo), acceptRule]);
  table.chains = table.chains.filter((c) => !(OWN_CHAINS as readonly string[]).includes(c.name));
  for (const name of SUB_CHAINS) table.rules.delete(name);
  table.chains.push({ name: INPUT_CHAIN, policy: '-' });
  table.rules.set(INPUT_CHAIN, desired.input);
  for (const chain of desired.chains) {
    table.chains.push({ name: chain.name, policy: '-' });
    table.rules.set(chain.name, chain.rules);
  }
  return table;
}

/** True when the kernel's filter table already holds exactly this design. */
export function isApplied(current: Table, desired: DesiredChains): boolean {
  const table = filterTable(new Map([['filter', current]]));
  const inputRules = table.rules.get('INPUT') ?? [];
  return (
    table.chains.find((c) => c.name === 'INPUT')?.policy === 'DROP' &&
    inputRules[geoRulesFirst(inputRules)]?.includes(`${COMMENT}:${desired.fingerprint}`) === true &&
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
  // Declared (and so emptied) first: BULWARK-INPUT's jumps below need them to exist.
  for (const chain of desired.chains) lines.push(`:${chain.name} - [0:0]`);
  for (const chain of desired.chains) for (const rule of chain.rules) lines.push(`-A ${chain.name} ${rule}`);
  for (const rule of desired.input) lines.push(`-A ${INPUT_CHAIN} ${rule}`);
  const wanted = `${COMMENT}:${desired.fingerprint}`;
  // First, after the geo-block's jump if it is there: geo-blocking filters before any port is opened.
  const top = geoRulesFirst(inputRules);
  const jumpInPlace = inputRules[top]?.includes(wanted) === true;
  // Old jumps (another fingerprint, or not at the top) go; the new one goes first.
  for (const rule of inputRules) if (isOwnInputRule(rule) && rule.includes(`-j ${INPUT_CHAIN}`) && !(jumpInPlace && rule === inputRules[top])) lines.push(`-D INPUT ${rule}`);
  // (the old jumps deleted above all come after the geo-block's rules: the position holds)
  if (!jumpInPlace) lines.push(`-I INPUT ${top + 1} ${jumpRule(desired.fingerprint)}`);
  if (!inputRules.some((r) => isOwnInputRule(r) && r.endsWith('-j ACCEPT'))) lines.push(`-A INPUT ${acceptRule}`);
  // A chain the design no longer uses goes, once BULWARK-INPUT (emptied above) no longer jumps to it.
  for (const name of SUB_CHAINS) if (existing.has(name) && !desired.chains.some((c) => c.name === name)) lines.push(`:${name} - [0:0]`, `-X ${name}`);
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/**
 * How many rules at the top of INPUT are the geo-block's: the firewall's jump goes right after them.
 * (The geoblock step puts its jump first; the firewall putting its own first again would make each
 * step undo the other at every apply.)
 */
function geoRulesFirst(inputRules: readonly string[]): number {
  // steps/geoblock/rules.ts's GEO_COMMENT (that module imports this one, so not the other way round)
  const GEO_COMMENT = 'bulwark-geo';
  let count = 0;
  while (count < inputRules.length && ownsRule(GEO_COMMENT, inputRules[count]!)) count++;
  return count;
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
  const input = chainRules(design, probe.family).get(INPUT_CHAIN)!;
  for (const rule of input) {
    if (rule.loopback) continue;
    if (rule.states && !rule.states.includes('NEW')) continue;
    if (rule.hashlimit || rule.payload || rule.icmpType !== undefined) continue;
    if (rule.proto && rule.proto !== probe.proto) continue;
    if (rule.dport && !portsOverlap(rule.dport, String(probe.port))) continue;
    if (rule.source && !inCidr(probe.source, rule.source)) continue;
    // The scanner check and the limits only ever drop; a first SYN is never over a limit.
    if ((SUB_CHAINS as readonly string[]).includes(rule.target)) continue;
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

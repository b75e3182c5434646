// Geo-blocking as data: one kernel set per family (ipset hash:net) holding the countries' networks,
// and a chain of bulwark's, BULWARK-GEO, with ONE rule per protected port that looks the source up
// in the set — never one rule per network. Replies to the server's own connections, the admin, the
// trusted sources, loopback and the LAN always pass.
import { createHash } from 'node:crypto';
import { filterTable, type Table } from '../../src/iptables-save.js';
import { canonicalCidr, familyOf, type Family, type PortRule } from '../firewall/rules.js';
import { ownsRule, type FilterOwnership } from '../../snapshots/netfilter.js';

export const GEO_CHAIN = 'BULWARK-GEO';
export const SET_NAMES: Record<Family, string> = { ipv4: 'bulwark-geo4', ipv6: 'bulwark-geo6' };
export const GEO_COMMENT = 'bulwark-geo';

// LAN phones must keep working: private, link-local and unique-local ranges are never geo-blocked.
const LAN: Record<Family, readonly string[]> = {
  ipv4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16'],
  ipv6: ['fe80::/10', 'fc00::/7'],
};

export function isOwnGeoRule(rule: string): boolean {
  return ownsRule(GEO_COMMENT, rule);
}

/** What geo-blocking owns in the filter table (recorded in its snapshots): its chain and its INPUT
 *  jump; never the policies. */
export const GEO_OWNERSHIP: FilterOwnership = { chains: [GEO_CHAIN], comment: GEO_COMMENT, policies: false };

export interface GeoDesign {
  readonly mode: 'allow' | 'deny';
  readonly ports: readonly PortRule[];
  /** Never blocked: the admin's current address and trustedSources. */
  readonly exempt: readonly string[];
}

export function geoChainRules(design: GeoDesign, family: Family): string[] {
  const rules = ['-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN', '-i lo -j RETURN'];
  for (const cidr of LAN[family]) rules.push(`-s ${cidr} -j RETURN`);
  for (const source of design.exempt.filter((c) => familyOf(c) === family).map(canonicalCidr)) rules.push(`-s ${source} -j RETURN`);
  const negate = design.mode === 'allow' ? '! ' : '';
  for (const port of design.ports) {
    rules.push(`-p ${port.proto} -m ${port.proto} --dport ${port.port.replace('-', ':')} -m set ${negate}--match-set ${SET_NAMES[family]} src -j DROP`);
  }
  return rules;
}

export function geoFingerprint(rules: readonly string[], setDigest: string): string {
  return createHash('sha256').update(JSON.stringify(rules)).update(setDigest).digest('hex').slice(0, 12);
}

const jump = (fingerprint: string) => `-m comment --comment "${GEO_COMMENT}:${fingerprint}" -j ${GEO_CHAIN}`;

export function geoApplied(current: Table, fingerprint: string): boolean {
  const input = filterTable(new Map([['filter', current]])).rules.get('INPUT') ?? [];
  return input.some((rule) => rule.includes(`${GEO_COMMENT}:${fingerprint}`));
}

/** The table after the apply (for the preview and the persisted files). */
export function predictGeoTable(current: Table, rules: readonly string[], fingerprint: string): Table {
  const table = filterTable(new Map([['filter', current]]));
  const others = (table.rules.get('INPUT') ?? []).filter((r) => !isOwnGeoRule(r));
  table.rules.set('INPUT', [jump(fingerprint), ...others]);
  if (!table.chains.some((c) => c.name === GEO_CHAIN)) table.chains.push({ name: GEO_CHAIN, policy: '-' });
  table.rules.set(GEO_CHAIN, [...rules]);
  return table;
}

/** iptables-restore --noflush script: declares (flushes) only BULWARK-GEO, puts its jump on top. */
export function geoApplyScript(current: Table, rules: readonly string[], fingerprint: string): string {
  const table = filterTable(new Map([['filter', current]]));
  const input = table.rules.get('INPUT') ?? [];
  const lines = ['*filter', `:${GEO_CHAIN} - [0:0]`, ...rules.map((r) => `-A ${GEO_CHAIN} ${r}`)];
  const inPlace = input.some((r) => r.includes(`${GEO_COMMENT}:${fingerprint}`));
  for (const rule of input) if (isOwnGeoRule(rule) && !(inPlace && rule.includes(`${GEO_COMMENT}:${fingerprint}`))) lines.push(`-D INPUT ${rule}`);
  if (!inPlace) lines.push(`-I INPUT 1 ${jump(fingerprint)}`);
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/**
 * Set sizes: the kernel default maxelem (65,536) is too small for "all but one country"; a hash
 * table of at least half the entries in buckets means the kernel never grows it (rehashing every
 * entry) in the middle of a load.
 */
export function setSizing(entries: number): { hashsize: number; maxelem: number } {
  const maxelem = Math.max(65_536, 2 ** Math.ceil(Math.log2(Math.max(1, entries) * 1.25)));
  const hashsize = Math.max(1024, 2 ** Math.ceil(Math.log2(Math.max(1, entries) / 2)));
  return { hashsize, maxelem };
}

/** The name a set is filled under before it is swapped in (or renamed, the first time). */
export const loadingName = (name: string): string => `${name}-new`;

/**
 * The ipset restore script that fills a set under a temporary name and then swaps it in (or renames
 * it, the first time): there is never a moment with an empty or half-filled set. `adds` holds the
 * `add` lines for the temporary name (loadingName), each ending in a newline.
 */
export function setScript(name: string, family: Family, count: number, adds: string, existing: ReadonlySet<string>): string {
  const temporary = loadingName(name);
  const { hashsize, maxelem } = setSizing(count);
  let head = '';
  // A leftover from an interrupted load goes first (its sizes may differ).
  if (existing.has(temporary)) head += `destroy ${temporary}\n`;
  head += `create ${temporary} hash:net family ${family === 'ipv4' ? 'inet' : 'inet6'} hashsize ${hashsize} maxelem ${maxelem}\n`;
  const tail = existing.has(name) ? `swap ${temporary} ${name}\ndestroy ${temporary}\n` : `rename ${temporary} ${name}\n`;
  // Concatenated, not joined: the adds (megabytes) are copied once, when the script is written out.
  return head + adds + tail;
}

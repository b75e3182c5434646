// The SIP trunks a box talks to, read from Asterisk's own configuration: a trunk carries many calls
// from one address, so per-source limits and bans must never count it. chan_sip names a trunk's
// address with `host=` (a peer that registers with us says `host=dynamic` instead: a phone, not a
// trunk); PJSIP with an AOR's `contact=` and an identify section's `match=`.
import type { Host } from '../../src/host.js';
import { parseAsteriskConf } from '../exposure/asterisk-conf.js';
import { readAsteriskWithIncludes } from '../exposure/inventory.js';
import { isValidCidr } from './rules.js';

export interface Trunk {
  /** The peer, AOR or identify section that names it. */
  readonly name: string;
  /** As written: an address, a CIDR (PJSIP match=) or a host name. */
  readonly host: string;
  readonly file: 'sip.conf' | 'pjsip.conf';
}

/** The trunks named in sip.conf and pjsip.conf (each with the files they include). Pure. */
export function sipTrunks(sipConf: string | null, pjsipConf: string | null): Trunk[] {
  const trunks: Trunk[] = [];
  for (const section of sipConf === null ? [] : parseAsteriskConf(sipConf).sections) {
    if (section.name.toLowerCase() === 'general') continue;
    const host = lastValue(section.entries, 'host');
    if (host && !/^(dynamic|localhost|127\.0\.0\.1|::1)$/i.test(host)) trunks.push({ name: section.name, host, file: 'sip.conf' });
  }
  for (const section of pjsipConf === null ? [] : parseAsteriskConf(pjsipConf).sections) {
    for (const entry of section.entries) {
      const key = entry.key.toLowerCase();
      if (key === 'contact') {
        const host = /^sips?:(?:[^@\s;]+@)?(\[[^\]]+\]|[^:;\s>]+)/i.exec(entry.value)?.[1]?.replace(/^\[|\]$/g, '');
        if (host) trunks.push({ name: section.name, host, file: 'pjsip.conf' });
      } else if (key === 'match') {
        for (const item of entry.value.split(',').map((v) => v.trim()).filter(Boolean)) trunks.push({ name: section.name, host: item, file: 'pjsip.conf' });
      }
    }
  }
  const seen = new Set<string>();
  return trunks.filter((t) => !seen.has(`${t.name} ${t.host}`) && seen.add(`${t.name} ${t.host}`));
}

function lastValue(entries: readonly { key: string; value: string }[], key: string): string | undefined {
  return entries.filter((e) => e.key.toLowerCase() === key).at(-1)?.value.trim();
}

/** sip.conf and pjsip.conf with the files they include (FreePBX keeps trunks in sip_additional.conf). */
export async function readTrunks(host: Host): Promise<Trunk[]> {
  const [sip, pjsip] = await Promise.all([readAsteriskWithIncludes(host, '/etc/asterisk/sip.conf'), readAsteriskWithIncludes(host, '/etc/asterisk/pjsip.conf')]);
  return sipTrunks(sip, pjsip);
}

export interface ResolvedTrunk extends Trunk {
  /** The addresses the firewall exempts: the address itself, or what the name resolves to now. */
  readonly addresses: readonly string[];
  /** Why a name gave no address (not resolved under --root, or the lookup failed). */
  readonly problem?: string;
}

/**
 * A trunk named by host name is exempted by the addresses its name has now, looked up on the box as
 * Asterisk would (getent: /etc/hosts, then DNS). Under --root nothing is looked up: the box's view
 * of DNS is not this machine's.
 */
export async function resolveTrunks(host: Host, trunks: readonly Trunk[]): Promise<ResolvedTrunk[]> {
  const lookups = new Map<string, Promise<{ addresses: string[]; problem?: string }>>();
  const lookup = (name: string) => {
    if (!host.live) return Promise.resolve({ addresses: [], problem: 'a host name: not looked up under --root' });
    let pending = lookups.get(name);
    if (!pending) {
      pending = host.run({ file: 'getent', args: ['ahosts', name] }, { reject: false, timeoutMs: 5000 }).then(
        (result) => {
          const addresses = [...new Set(result.stdout.split('\n').map((line) => line.trim().split(/\s+/)[0] ?? '').filter((a) => a !== '' && isValidCidr(a)))].sort();
          return addresses.length > 0 ? { addresses } : { addresses, problem: 'the name does not resolve on this box' };
        },
        () => ({ addresses: [], problem: 'the name lookup failed' }),
      );
      lookups.set(name, pending);
    }
    return pending;
  };
  return Promise.all(trunks.map(async (trunk) => (isValidCidr(trunk.host) ? { ...trunk, addresses: [trunk.host] } : { ...trunk, ...(await lookup(trunk.host)) })));
}

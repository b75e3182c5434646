// What listens on the box, and whether it should be reachable from outside. On the live system the
// truth is `ss`; under --root (a fixture, a mounted disk) it is read from the services' own config
// files, since nothing is running there to ask.
import type { Host } from '../../src/host.js';
import { expandInclude } from '../voip/asterisk-config.js';
import { getSetting, parseAsteriskConf } from './asterisk-conf.js';
import { isLoopbackAddress, parseSs, type ListeningSocket } from './ss.js';

export type Role = 'internal' | 'public' | 'unknown';

export interface InventoryEntry {
  readonly service: string; // "MySQL / MariaDB", "SSH", ...
  readonly proto: 'tcp' | 'udp';
  readonly address: string;
  readonly port: string; // "3306", or "10000-20000" for the RTP range
  readonly process?: string;
  /** Does it answer only on loopback? */
  readonly loopback: boolean;
  /** Should it be reachable from outside (public), only from the box itself (internal), or unknown. */
  readonly role: Role;
}

interface KnownService {
  readonly name: string;
  readonly role: Role;
  readonly match: (socket: ListeningSocket) => boolean;
}

// Ports and process names of what a VoIP box typically runs. Internal: nothing outside needs it.
const KNOWN: readonly KnownService[] = [
  { name: 'MySQL / MariaDB', role: 'internal', match: (s) => /^(mysqld|mariadbd)$/.test(s.process ?? '') || (s.port === 3306 && s.proto === 'tcp') },
  { name: 'Asterisk manager (AMI)', role: 'internal', match: (s) => s.port === 5038 && s.proto === 'tcp' },
  { name: 'Postfix (SMTP)', role: 'internal', match: (s) => s.process === 'master' || (s.port === 25 && s.proto === 'tcp') },
  { name: 'SSH', role: 'public', match: (s) => s.process === 'sshd' },
  { name: 'Web server', role: 'public', match: (s) => /^(apache2|httpd|nginx)$/.test(s.process ?? '') },
  { name: 'SIP', role: 'public', match: (s) => s.port === 5060 || s.port === 5061 },
  { name: 'IAX2', role: 'public', match: (s) => s.port === 4569 && s.proto === 'udp' },
  { name: 'Asterisk', role: 'unknown', match: (s) => s.process === 'asterisk' },
  { name: 'DNS resolver (local)', role: 'internal', match: (s) => s.port === 53 },
];

export function classifySockets(sockets: readonly ListeningSocket[]): InventoryEntry[] {
  return sockets.map((socket) => {
    const known = KNOWN.find((k) => k.match(socket));
    return {
      service: known?.name ?? socket.process ?? 'unknown program',
      proto: socket.proto,
      address: socket.address,
      port: String(socket.port),
      process: socket.process,
      loopback: isLoopbackAddress(socket.address),
      role: known?.role ?? 'unknown',
    };
  });
}

export async function liveInventory(host: Host): Promise<InventoryEntry[] | null> {
  if (!(await host.findProgram('ss'))) return null;
  const result = await host.run({ file: 'ss', args: ['-H', '-tulpn'] }, { reject: false });
  if (result.exitCode !== 0) return null;
  return classifySockets(parseSs(result.stdout));
}

/** The public-facing services a config-only inventory can see (SSH, web, SIP, IAX, RTP). */
export async function configInventory(host: Host): Promise<InventoryEntry[]> {
  const entries: InventoryEntry[] = [];
  const sshd = await host.readText('/etc/ssh/sshd_config');
  if (sshd !== null) {
    const ports = [...sshd.matchAll(/^\s*Port\s+(\d+)/gim)].map((m) => m[1]!);
    for (const port of ports.length > 0 ? ports : ['22']) entries.push({ service: 'SSH', proto: 'tcp', address: '0.0.0.0', port, loopback: false, role: 'public' });
  }
  for (const port of await apacheListenPorts(host)) entries.push({ service: 'Web server', proto: 'tcp', address: '0.0.0.0', port, loopback: false, role: 'public' });
  const sip = await readAsteriskWithIncludes(host, '/etc/asterisk/sip.conf');
  if (sip !== null) {
    const port = getSetting(sip, 'general', 'bindport') ?? getSetting(sip, 'general', 'udpbindaddr')?.split(':')[1] ?? '5060';
    const address = getSetting(sip, 'general', 'bindaddr') ?? '0.0.0.0';
    entries.push({ service: 'SIP (chan_sip)', proto: 'udp', address, port, loopback: isLoopbackAddress(address), role: 'public' });
    // SIP over TCP shares the UDP port; TLS has its own (tlsbindaddr, 5061 by default).
    if (/^(yes|true|on|1)$/i.test(getSetting(sip, 'general', 'tcpenable') ?? '')) {
      const tcp = getSetting(sip, 'general', 'tcpbindaddr') ?? address;
      entries.push({ service: 'SIP (chan_sip)', proto: 'tcp', address: tcp.replace(/:\d+$/, ''), port: /:(\d+)$/.exec(tcp)?.[1] ?? port, loopback: isLoopbackAddress(tcp.replace(/:\d+$/, '')), role: 'public' });
    }
    if (/^(yes|true|on|1)$/i.test(getSetting(sip, 'general', 'tlsenable') ?? '')) {
      const tls = getSetting(sip, 'general', 'tlsbindaddr') ?? address;
      entries.push({ service: 'SIP (chan_sip)', proto: 'tcp', address: tls.replace(/:\d+$/, ''), port: /:(\d+)$/.exec(tls)?.[1] ?? '5061', loopback: isLoopbackAddress(tls.replace(/:\d+$/, '')), role: 'public' });
    }
  }
  const pjsip = await readAsteriskWithIncludes(host, '/etc/asterisk/pjsip.conf');
  if (pjsip !== null) {
    for (const section of parseAsteriskConf(pjsip).sections) {
      const type = section.entries.find((e) => e.key.toLowerCase() === 'type')?.value;
      const bind = section.entries.find((e) => e.key.toLowerCase() === 'bind')?.value;
      const proto = section.entries.find((e) => e.key.toLowerCase() === 'protocol')?.value ?? 'udp';
      if (type !== 'transport' || !bind) continue;
      const match = /^(.*):(\d+)$/.exec(bind);
      const address = match ? match[1]!.replace(/^\[|\]$/g, '') : bind;
      entries.push({ service: 'SIP (PJSIP)', proto: proto === 'udp' ? 'udp' : 'tcp', address, port: match?.[2] ?? '5060', loopback: isLoopbackAddress(address), role: 'public' });
    }
  }
  const iax = await host.readText('/etc/asterisk/iax.conf');
  if (iax !== null) entries.push({ service: 'IAX2', proto: 'udp', address: getSetting(iax, 'general', 'bindaddr') ?? '0.0.0.0', port: getSetting(iax, 'general', 'bindport') ?? '4569', loopback: false, role: 'public' });
  const rtp = await host.readText('/etc/asterisk/rtp.conf');
  if (rtp !== null) {
    const start = getSetting(rtp, 'general', 'rtpstart') ?? '5000';
    const end = getSetting(rtp, 'general', 'rtpend') ?? '31000';
    entries.push({ service: 'RTP (call audio)', proto: 'udp', address: '0.0.0.0', port: `${start}-${end}`, loopback: false, role: 'public' });
  }
  return entries;
}

async function apacheListenPorts(host: Host): Promise<string[]> {
  const files = ['/etc/apache2/ports.conf', '/etc/httpd/conf/httpd.conf'];
  for (const dir of ['/etc/httpd/conf.d']) for (const name of await host.list(dir)) if (name.endsWith('.conf')) files.push(`${dir}/${name}`);
  const ports = new Set<string>();
  for (const file of files) {
    const text = await host.readText(file);
    if (text === null) continue;
    for (const match of text.matchAll(/^\s*Listen\s+(?:\S+:)?(\d+)/gim)) ports.add(match[1]!);
  }
  return [...ports].sort((a, b) => Number(a) - Number(b));
}

/**
 * An Asterisk config file with its #include / #tryinclude files inlined, as Asterisk reads it: a
 * relative name is under /etc/asterisk, a name may be a glob (`#include sip_*.conf`). FreePBX keeps
 * bindport in sip_general_additional.conf, its trunks in sip_additional.conf and pjsip's transports
 * in pjsip.transports.conf. (#exec is never run.)
 */
export async function readAsteriskWithIncludes(host: Host, file: string, depth = 0): Promise<string | null> {
  const text = await host.readText(file);
  if (text === null || depth > 5) return text;
  const parts: string[] = [];
  for (const line of text.split('\n')) {
    const include = /^\s*#(?:try)?include\s+"?([^"\s]+)"?/.exec(line);
    if (!include) {
      parts.push(line);
      continue;
    }
    for (const each of await expandInclude(host, include[1]!)) parts.push((await readAsteriskWithIncludes(host, each, depth + 1)) ?? '');
  }
  return parts.join('\n');
}


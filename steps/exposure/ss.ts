/**
 * Listening sockets from `ss -H -tulpn`. Pure: the caller runs the command.
 * Also copes with older iproute2 output (CentOS 6/7): a header line, `:::22` / `*:22` without brackets,
 * and `users:(("sshd",1234,3))` without `pid=`.
 */
export interface ListeningSocket {
  proto: 'tcp' | 'udp';
  /** '0.0.0.0', '::', '127.0.0.1', '::1', '*', ... without brackets or %interface. */
  address: string;
  port: number;
  /** First process of the users: field (only when ss ran as root). */
  process?: string;
  pid?: number;
  /** From `addr%iface` (e.g. systemd-resolved's 127.0.0.53%lo). */
  interface?: string;
}

const STATES = new Set(['LISTEN', 'UNCONN', 'ESTAB', 'SYN-SENT', 'SYN-RECV', 'FIN-WAIT-1', 'FIN-WAIT-2', 'TIME-WAIT', 'CLOSE-WAIT', 'LAST-ACK', 'CLOSING', 'CLOSED']);

export function parseSs(output: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of output.split(/\r?\n/)) {
    const socket = parseSsLine(line);
    if (socket !== null) sockets.push(socket);
  }
  return sockets;
}

function parseSsLine(line: string): ListeningSocket | null {
  const tokens = line.trim().split(/\s+/);
  let proto: 'tcp' | 'udp';
  let rest: string[];
  const first = tokens[0] ?? '';
  if (first === 'tcp' || first === 'udp') {
    proto = first;
    rest = tokens.slice(1);
  } else if (first === 'LISTEN' || first === 'UNCONN') {
    // `ss -tln` / `ss -uln` (one protocol) print no Netid column.
    proto = first === 'LISTEN' ? 'tcp' : 'udp';
    rest = tokens;
  } else {
    return null;
  }
  // rest: State Recv-Q Send-Q Local Peer [Process...]
  const [state, recvQ, sendQ, local] = rest;
  if (state === undefined || !STATES.has(state) || !/^\d+$/.test(recvQ ?? '') || !/^\d+$/.test(sendQ ?? '')) return null;
  const endpoint = parseEndpoint(local ?? '');
  if (endpoint === null) return null;
  const socket: ListeningSocket = { proto, address: endpoint.address, port: endpoint.port };
  if (endpoint.iface !== undefined) socket.interface = endpoint.iface;
  const users = /users:\(\("((?:[^"\\]|\\.)*)",(?:pid=)?(\d+)/.exec(rest.slice(5).join(' '));
  if (users !== null) {
    socket.process = users[1] ?? '';
    socket.pid = Number(users[2]);
  }
  return socket;
}

function parseEndpoint(text: string): { address: string; port: number; iface?: string } | null {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  const portText = text.slice(colon + 1);
  if (!/^\d+$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  let host = text.slice(0, colon);
  let iface: string | undefined;
  const bracketed = /^\[([^\]]*)\](?:%(.+))?$/.exec(host);
  if (bracketed !== null) {
    host = bracketed[1] ?? '';
    iface = bracketed[2];
  }
  const pct = host.indexOf('%');
  if (pct >= 0) {
    iface = host.slice(pct + 1);
    host = host.slice(0, pct);
  }
  if (host === '') return null;
  return iface === undefined || iface === '' ? { address: host, port } : { address: host, port, iface };
}

/** 127.0.0.0/8, ::1 (any spelling), ::ffff:127.x.y.z. Brackets and a %interface suffix are ignored. */
export function isLoopbackAddress(address: string): boolean {
  const a = stripDecoration(address);
  if (/^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a)) return true;
  const groups = expandIpv6(a);
  return groups !== null && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1;
}

/** 0.0.0.0, :: (any spelling), *. */
export function isWildcardAddress(address: string): boolean {
  const a = stripDecoration(address);
  if (a === '*' || a === '0.0.0.0') return true;
  const groups = expandIpv6(a);
  return groups !== null && groups.every((g) => g === 0);
}

function stripDecoration(address: string): string {
  return address.trim().replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '').toLowerCase();
}

/** Eight 16-bit groups of a plain IPv6 address (no embedded IPv4), or null. */
function expandIpv6(a: string): number[] | null {
  if (!/^[0-9a-f:]+$/.test(a) || !a.includes(':')) return null;
  const halves = a.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const parts = s.split(':');
    if (parts.some((p) => !/^[0-9a-f]{1,4}$/.test(p))) return null;
    return parts.map((p) => parseInt(p, 16));
  };
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const fill = 8 - head.length - tail.length;
  if (fill < 1) return null;
  return [...head, ...new Array<number>(fill).fill(0), ...tail];
}

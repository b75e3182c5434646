// SIP over UDP for the tests and benchmarks that attack a box: a small SIP server on the box that
// answers requests and logs each one it receives (so a test counts what got through the firewall),
// and a sender that sends requests from ONE socket, as the tools behind SIP floods and brute force do.
// Both are small Node programs run inside the sandbox's namespaces with the test's own Node.
import type { Box } from './sandbox.js';

export const SIP_LOG = '/run/sip-server.log';

/**
 * The SIP server: UDP on [::]:5060 (IPv4 and IPv6), one line "ADDRESS METHOD" per request in
 * SIP_LOG, a 200 OK to every request (Via, From, To, Call-ID and CSeq copied, as a real server does,
 * so that sipsak and svmap accept it). Replies it receives are not logged.
 */
const SERVER = String.raw`
const dgram = require('node:dgram');
const fs = require('node:fs');
const log = fs.openSync(process.argv[1], 'a');
// reuseAddr: a sender on the box may bind its own address's 5060 too, as Asterisk sends from its SIP port.
const socket = dgram.createSocket({ type: 'udp6', ipv6Only: false, reuseAddr: true });
socket.on('message', (message, peer) => {
  const text = message.toString('latin1');
  const start = /^\s*([A-Z]+) \S+ SIP\/2\.0\r?\n/i.exec(text);
  if (!start) return;
  const address = peer.address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  fs.writeSync(log, address + ' ' + start[1].toUpperCase() + '\n');
  if (start[1].toUpperCase() === 'ACK') return;
  const copy = (name) => (text.match(new RegExp('^' + name + ':.*$', 'gim')) || []).map((l) => l.replace(/\r$/, ''));
  const to = copy('To').map((l) => (/;tag=/.test(l) ? l : l + ';tag=box'));
  const reply = ['SIP/2.0 200 OK', ...copy('Via'), ...copy('From'), ...to, ...copy('Call-ID'), ...copy('CSeq'), 'Server: test-box', 'Content-Length: 0', '', ''].join('\r\n');
  socket.send(reply, peer.port, peer.address);
});
socket.bind(5060, '::', () => fs.writeSync(log, 'ready\n'));
`;

/**
 * The sender: `count` requests of `method` to TARGET:PORT from one socket bound to SOURCE (port 0:
 * any), one every `intervalMs`; then waits `settleMs` for replies. Prints {"sent", "replies"} as JSON.
 * Each request is a new transaction (its own branch and CSeq), as a password-guessing tool sends them.
 */
const SENDER = String.raw`
const dgram = require('node:dgram');
const [target, port, source, sourcePort, method, count, intervalMs, settleMs] = process.argv.slice(1);
const v6 = target.includes(':');
const socket = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true });
let replies = 0;
socket.on('message', (m) => { if (m.toString('latin1').startsWith('SIP/2.0 ')) replies++; });
socket.bind(Number(sourcePort), source, () => {
  const local = socket.address();
  const host = v6 ? '[' + target + ']' : target;
  const via = v6 ? '[' + local.address + ']' : local.address;
  let sent = 0;
  const send = () => {
    if (sent === Number(count)) {
      setTimeout(() => { console.log(JSON.stringify({ sent, replies })); socket.close(); }, Number(settleMs));
      return;
    }
    sent++;
    const user = 100 + (sent % 900);
    const request = [
      method + ' sip:' + host + ' SIP/2.0',
      'Via: SIP/2.0/UDP ' + via + ':' + local.port + ';branch=z9hG4bK-' + process.pid + '-' + sent + ';rport',
      'Max-Forwards: 70',
      'From: <sip:' + user + '@' + host + '>;tag=t' + sent,
      'To: <sip:' + user + '@' + host + '>',
      'Call-ID: ' + process.pid + '-' + sent + '@test',
      'CSeq: ' + sent + ' ' + method,
      'Contact: <sip:' + user + '@' + via + ':' + local.port + '>',
      'User-Agent: Test Phone 1.0',
      'Expires: 3600',
      'Content-Length: 0',
      '', '',
    ].join('\r\n');
    socket.send(request, Number(port), target);
    setTimeout(send, Number(intervalMs));
  };
  send();
});
`;

export interface SendOptions {
  /** The namespace the sender runs in. */
  readonly from: 'attacker' | 'admin' | 'box';
  readonly target: string;
  readonly port?: number;
  /** The address the socket is bound to (the sender's source address). */
  readonly source: string;
  /** The socket's port: 0 for any (a flood tool), 5060 for the box's own Asterisk. */
  readonly sourcePort?: number;
  readonly method?: string;
  readonly count: number;
  readonly intervalMs: number;
  readonly settleMs?: number;
}

export interface SendResult {
  readonly sent: number;
  /** Replies the sender got back (the SIP server answers every request that reached it). */
  readonly replies: number;
}

/** Sends requests from one socket; resolves when done (and the replies had time to come back). */
export async function sendSip(box: Box, options: SendOptions): Promise<SendResult> {
  const args = ['-e', SENDER, options.target, String(options.port ?? 5060), options.source, String(options.sourcePort ?? 0), options.method ?? 'REGISTER', String(options.count), String(options.intervalMs), String(options.settleMs ?? 1000)];
  const timeoutMs = options.count * options.intervalMs + (options.settleMs ?? 1000) + 15_000;
  const run = options.from === 'attacker' ? box.attacker.bind(box) : options.from === 'admin' ? box.admin.bind(box) : box.exec.bind(box);
  const result = await run(process.execPath, args, { timeoutMs });
  return JSON.parse(result.stdout.trim()) as SendResult;
}

/** Starts the SIP server in the box and waits until it listens. */
export async function startSipServer(box: Box): Promise<void> {
  await box.spawn(process.execPath, ['-e', SERVER, SIP_LOG]);
  const deadline = Date.now() + 10_000;
  while (!(await box.exec('cat', [SIP_LOG], { reject: false })).stdout.includes('ready')) {
    if (Date.now() > deadline) throw new Error('the SIP server in the box did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Requests the SIP server received, per source address (and method when given). */
export async function receivedFrom(box: Box, address: string, method?: string): Promise<number> {
  const log = await box.readFile(SIP_LOG);
  return log.split('\n').filter((line) => {
    const [from, what] = line.split(' ');
    return from === address && (method === undefined || what === method);
  }).length;
}

// The SIP request limit as an attacker meets it: a sandbox box behind bulwark's confirmed firewall,
// with a SIP server on 5060/udp that logs every request it receives, attacked from the "Internet"
// namespace by floods from ONE socket (as password guessers and extension enumerators send them),
// by SIPVicious' svmap, and probed with sipsak. What counts is what reached the SIP server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overSsh, tokenOf } from '../helpers/bulwark-in-box.js';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { receivedFrom, sendSip, startSipServer } from '../helpers/sip.js';

// The flood of the issue: 300 REGISTERs in 3 s from one socket. Against the default limit (60 at
// once, then 10 a second) about 60 + 3 × 10 = 90 get through.
const FLOOD = { count: 300, intervalMs: 10 } as const;
const LIMIT = { burst: 60, perSecond: 10 } as const;
const FLOOD_SECONDS = (FLOOD.count * FLOOD.intervalMs) / 1000;
/** What a flood of FLOOD_SECONDS may get through: the burst and the rate, with one second of slack. */
const ALLOWED = LIMIT.burst + LIMIT.perSecond * (FLOOD_SECONDS + 1);

const TRUSTED_V4 = '203.0.113.7';
const PHONE_V4 = '203.0.113.8';
const TRUNK_V4 = '203.0.113.9';

describe('the SIP request limit against one-socket floods (real iptables, a real SIP exchange)', () => {
  let box: Box;
  let trunkV6: string;

  beforeAll(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/bin/svmap': 'sipvicious', '/usr/bin/sipsak': 'sipsak' });
    box = await createBox({ attacker: true });
    trunkV6 = box.attackerV6!.replace(/::66$/, '::9');
    // More addresses on the Internet side: a trusted office, a phone, a trunk (IPv4 and IPv6).
    for (const address of [TRUSTED_V4, PHONE_V4, TRUNK_V4]) await box.attacker('ip', ['addr', 'add', `${address}/24`, 'dev', 'eth0']);
    await box.attacker('ip', ['addr', 'add', `${trunkV6}/64`, 'dev', 'eth0', 'nodad']);
    // The box's Asterisk configuration names the trunks: a chan_sip peer in an included file (as
    // FreePBX writes it) and a PJSIP identify; a phone registers (host=dynamic) and is no trunk.
    await box.writeFile('/etc/asterisk/sip.conf', '[general]\nbindport=5060\n#include sip_additional.conf\n');
    await box.writeFile('/etc/asterisk/sip_additional.conf', `[carrier]\ntype=peer\nhost=${TRUNK_V4} ; the carrier\n\n[201]\ntype=friend\nhost=dynamic\n`);
    await box.writeFile('/etc/asterisk/pjsip.conf', `[carrier6]\ntype=identify\nendpoint=carrier6\nmatch=${trunkV6}\n`);
    await startSipServer(box);
    await box.writeFile('/root/answers.json', JSON.stringify({ firewall: { allow: [{ port: 22, proto: 'tcp' }, { port: 5060, proto: 'udp' }], trustedSources: [TRUSTED_V4] } }));

    // The plan tells the admin the limit and which trunks it found and exempts
    const planned = await overSsh(box, ['plan', '--step', 'firewall', '--answers', '/root/answers.json']);
    expect(planned.code, planned.stderr).toBe(2);
    expect(planned.stdout).toContain('SIP limit: each address (each /64 for IPv6) may send 60 requests at once, then 10 a second');
    expect(planned.stdout).toMatch(/Never counted, as SIP trunks: carrier \(203\.0\.113\.9\); carrier6 \(2001:db8:[0-9a-f]+:66::9\)/);
    expect(planned.stdout).toContain(`Never counted, as trusted sources: ${TRUSTED_V4}.`);
    // The admin applies the firewall and confirms it from a new SSH connection.
    const applied = await overSsh(box, ['apply', '--step', 'firewall', '--yes', '--answers', '/root/answers.json', '--confirm-timeout', '120']);
    expect(applied.code, applied.stderr).toBe(0);
    const confirmed = await overSsh(box, ['confirm', tokenOf(applied)]);
    expect(confirmed.code, confirmed.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await box?.destroy();
  });

  it('loads the limit into the kernel as planned, with the trunks and the trusted source exempt before it', async () => {
    const v4 = (await box.exec('iptables', ['-S', 'BULWARK-SIPLIMIT'])).stdout;
    expect(v4.split('\n').filter(Boolean)).toEqual([
      '-N BULWARK-SIPLIMIT',
      `-A BULWARK-SIPLIMIT -s ${TRUSTED_V4}/32 -j RETURN`,
      `-A BULWARK-SIPLIMIT -s ${TRUNK_V4}/32 -j RETURN`,
      '-A BULWARK-SIPLIMIT -m hashlimit --hashlimit-upto 10/sec --hashlimit-burst 60 --hashlimit-mode srcip --hashlimit-name bw-sip --hashlimit-htable-size 16384 --hashlimit-htable-max 65536 --hashlimit-htable-expire 30000 -j RETURN',
      '-A BULWARK-SIPLIMIT -j DROP',
    ]);
    const v6 = (await box.exec('ip6tables', ['-S', 'BULWARK-SIPLIMIT'])).stdout;
    expect(v6).toContain(`-A BULWARK-SIPLIMIT -s ${trunkV6}/128 -j RETURN`);
    expect(v6).toContain('--hashlimit-name bw-sip-6 --hashlimit-htable-size 16384 --hashlimit-htable-max 65536 --hashlimit-htable-expire 30000 --hashlimit-srcmask 64 -j RETURN');
    // the request rules stand before the established RETURN
    const input = (await box.exec('iptables', ['-S', 'BULWARK-INPUT'])).stdout.split('\n');
    const register = input.findIndex((r) => r.includes('--string "REGISTER "') && r.endsWith('-j BULWARK-SIPLIMIT'));
    const established = input.findIndex((r) => r.includes('RELATED,ESTABLISHED'));
    expect(register).toBeGreaterThan(0);
    expect(register).toBeLessThan(established);
    // and a second plan has nothing to do
    const again = await overSsh(box, ['plan', '--step', 'firewall', '--answers', '/root/answers.json']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
  });

  it('cuts a one-socket REGISTER flood over IPv4 to what the limit allows, while a phone at a normal pace loses nothing', async () => {
    const attacker = box.attackerV4!;
    const before = { attacker: await receivedFrom(box, attacker), phone: await receivedFrom(box, PHONE_V4) };
    // Given a phone re-registering (with its digest retry) every second during the flood
    const [flood, phone] = await Promise.all([
      sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: attacker, ...FLOOD }),
      sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: PHONE_V4, count: 8, intervalMs: 500 }),
    ]);
    const reached = (await receivedFrom(box, attacker)) - before.attacker;
    console.log(`IPv4 one-socket flood: ${reached} of ${flood.sent} REGISTERs reached the SIP server (limit: ${LIMIT.burst} at once, then ${LIMIT.perSecond}/s)`);
    // Then the flood is cut to the burst and the rate, but not below the burst
    expect(flood.sent).toBe(FLOOD.count);
    expect(reached).toBeGreaterThanOrEqual(LIMIT.burst);
    expect(reached).toBeLessThanOrEqual(ALLOWED);
    expect(flood.replies).toBe(reached);
    // and the phone behind another address got every request through and every answer back
    expect((await receivedFrom(box, PHONE_V4)) - before.phone).toBe(8);
    expect(phone.replies).toBe(8);
  }, 60_000);

  it('cuts the same flood over IPv6', async () => {
    const attacker = box.attackerV6!;
    const before = await receivedFrom(box, attacker);
    const flood = await sendSip(box, { from: 'attacker', target: box.boxAttackerV6!, source: attacker, ...FLOOD });
    const reached = (await receivedFrom(box, attacker)) - before;
    console.log(`IPv6 one-socket flood: ${reached} of ${flood.sent} REGISTERs reached the SIP server`);
    expect(reached).toBeGreaterThanOrEqual(LIMIT.burst);
    expect(reached).toBeLessThanOrEqual(ALLOWED);
  }, 60_000);

  it('counts every request method of the list, and only requests: INVITE and OPTIONS floods are cut as well', async () => {
    // (the buckets of the floods before have had time to fill again: 60 at 10 a second take 6 s)
    await new Promise((resolve) => setTimeout(resolve, 6500));
    const attacker = box.attackerV4!;
    const before = await receivedFrom(box, attacker);
    await sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: attacker, method: 'INVITE', count: 150, intervalMs: 10 });
    await sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: attacker, method: 'OPTIONS', count: 150, intervalMs: 10 });
    const reached = (await receivedFrom(box, attacker)) - before;
    // one bucket for every method: both floods together get the burst and the rate once
    expect(reached).toBeGreaterThanOrEqual(LIMIT.burst);
    expect(reached).toBeLessThanOrEqual(ALLOWED + LIMIT.perSecond * 2);
  }, 60_000);

  it('cuts sipsak\'s own flood mode (OPTIONS as fast as one socket sends them) to the burst', async () => {
    await new Promise((resolve) => setTimeout(resolve, 6500)); // the attacker's bucket fills again
    const attacker = box.attackerV4!;
    const before = await receivedFrom(box, attacker);
    const flood = await box.attacker('sipsak', ['-F', '-e', '1000', '-s', `sip:100@${box.boxAttackerV4!}`], { reject: false, timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const reached = (await receivedFrom(box, attacker)) - before;
    console.log(`sipsak -F -e 1000: ${reached} of 1000 OPTIONS reached the SIP server (sipsak exit ${flood.code})`);
    expect(reached).toBeGreaterThanOrEqual(LIMIT.burst);
    expect(reached).toBeLessThanOrEqual(ALLOWED);
  }, 60_000);

  it('lets the same flood through whole from a trusted source and from the trunks (IPv4 and IPv6)', async () => {
    const senders = [
      { source: TRUSTED_V4, target: box.boxAttackerV4! },
      { source: TRUNK_V4, target: box.boxAttackerV4! },
      { source: trunkV6, target: box.boxAttackerV6! },
    ];
    for (const { source, target } of senders) {
      const before = await receivedFrom(box, source);
      const flood = await sendSip(box, { from: 'attacker', target, source, ...FLOOD });
      expect((await receivedFrom(box, source)) - before, `from ${source}`).toBe(FLOOD.count);
      expect(flood.replies, `replies to ${source}`).toBe(FLOOD.count);
    }
  }, 60_000);

  it('never counts the replies to the box\'s own requests: 300 REGISTERs to a provider that is no known trunk all get their answer', async () => {
    // Given a SIP server on the Internet side (the provider), answering on 5060
    const provider = '203.0.113.10';
    await box.attacker('ip', ['addr', 'add', `${provider}/24`, 'dev', 'eth0']);
    await box.attacker('sh', ['-c', `nohup ${JSON.stringify(process.execPath)} -e "$0" >/dev/null 2>&1 &`, providerServer(provider)]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    // When the box sends from its SIP port (as Asterisk registers and calls out) faster than the limit
    const outgoing = await sendSip(box, { from: 'box', target: provider, source: box.boxAttackerV4!, sourcePort: 5060, count: 300, intervalMs: 5 });
    // Then every "SIP/2.0 200 OK" came back through the firewall
    expect(outgoing.replies).toBe(300);
  }, 60_000);

  it('hides the box from svmap, while sipsak from the same outside address still gets its answer', async () => {
    // svmap announces itself as "friendly-scanner": dropped before any request is counted
    const scan = await box.attacker('svmap', [box.boxAttackerV4!, '-p', '5060'], { reject: false, timeoutMs: 60_000 });
    expect(scan.stdout + scan.stderr).not.toMatch(/\d+\.\d+\.\d+\.\d+:5060\s*\|/);
    expect(scan.stdout + scan.stderr).toMatch(/found nothing|No SIP devices/i);
    // after the floods above the attacker's bucket is empty: wait until one request fits again
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const probe = await box.attacker('sipsak', ['-vv', '-s', `sip:100@${box.boxAttackerV4!}`], { reject: false, timeoutMs: 30_000 });
    expect(probe.code, probe.stdout + probe.stderr).toBe(0);
    expect(probe.stdout).toMatch(/200 OK/);
  }, 90_000);

  it('after a rollback of the firewall, the same flood reaches the SIP server whole again', async () => {
    const rolledBack = await overSsh(box, ['rollback', '--step', 'firewall', '--yes']);
    expect(rolledBack.code, rolledBack.stdout + rolledBack.stderr).toBe(0);
    expect((await box.exec('iptables-save', [])).stdout).not.toContain('BULWARK');
    const attacker = box.attackerV4!;
    const before = await receivedFrom(box, attacker);
    await sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: attacker, ...FLOOD });
    expect((await receivedFrom(box, attacker)) - before).toBe(FLOOD.count);
    // and svmap finds the box again (so "found nothing" above was the firewall's doing)
    const scan = await box.attacker('svmap', [box.boxAttackerV4!, '-p', '5060'], { reject: false, timeoutMs: 60_000 });
    expect(scan.stdout).toMatch(new RegExp(`${box.boxAttackerV4!.replace(/\./g, '\\.')}:5060\\s*\\|`));
  }, 60_000);
});

/** A provider's SIP server on the Internet side: answers every request with 200 OK. */
function providerServer(address: string): string {
  return String.raw`
const socket = require('node:dgram').createSocket('udp4');
socket.on('message', (m, peer) => {
  const text = m.toString('latin1');
  if (text.startsWith('SIP/2.0')) return;
  const copy = (name) => (text.match(new RegExp('^' + name + ':.*$', 'gim')) || []).map((l) => l.replace(/\r$/, ''));
  socket.send(['SIP/2.0 200 OK', ...copy('Via'), ...copy('From'), ...copy('To'), ...copy('Call-ID'), ...copy('CSeq'), 'Content-Length: 0', '', ''].join('\r\n'), peer.port, peer.address);
});
socket.bind(5060, '${address}');
setTimeout(() => process.exit(0), 60000);
`;
}

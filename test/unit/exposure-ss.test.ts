import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isLoopbackAddress, isWildcardAddress, parseSs, type ListeningSocket } from '../../steps/exposure/ss.js';

// `ss -H -tulpn` as root on a Debian 12 FreePBX box.
const DEBIAN12_ROOT = `udp   UNCONN 0      0          127.0.0.53%lo:53         0.0.0.0:*    users:(("systemd-resolve",pid=402,fd=13))
udp   UNCONN 0      0                0.0.0.0:5060       0.0.0.0:*    users:(("asterisk",pid=1201,fd=21))
udp   UNCONN 0      0                   [::]:4569          [::]:*    users:(("asterisk",pid=1201,fd=19))
tcp   LISTEN 0      80               0.0.0.0:3306       0.0.0.0:*    users:(("mariadbd",pid=812,fd=20))
tcp   LISTEN 0      128              0.0.0.0:22         0.0.0.0:*    users:(("sshd",pid=650,fd=3))
tcp   LISTEN 0      100            127.0.0.1:25         0.0.0.0:*    users:(("master",pid=990,fd=13))
tcp   LISTEN 0      511                    *:80               *:*    users:(("apache2",pid=700,fd=4),("apache2",pid=701,fd=4))
tcp   LISTEN 0      128                 [::]:22            [::]:*    users:(("sshd",pid=650,fd=4))
tcp   LISTEN 0      100                [::1]:25            [::]:*    users:(("master",pid=990,fd=14))
tcp   LISTEN 0      4096 [::ffff:127.0.0.1]:8080              *:*    users:(("java",pid=3000,fd=50))
`;

// The same box without root: no process column.
const DEBIAN12_USER = `tcp   LISTEN 0      80               0.0.0.0:3306       0.0.0.0:*
tcp   LISTEN 0      128                 [::]:22            [::]:*
`;

// CentOS 7 (iproute 3.10): a header line, unbracketed IPv6, old users format.
const CENTOS7 = `Netid  State      Recv-Q Send-Q Local Address:Port               Peer Address:Port
udp    UNCONN     0      0         *:5060                  *:*                   users:(("asterisk",pid=1201,fd=21))
tcp    LISTEN     0      50        *:3306                  *:*                   users:(("mysqld",pid=1100,fd=10))
tcp    LISTEN     0      128      :::22                   :::*                   users:(("sshd",pid=900,fd=4))
tcp    LISTEN     0      100     ::1:25                   :::*                   users:(("master",1300,13))
`;

describe('parseSs', () => {
  it('parses ss -H -tulpn as root', () => {
    // Given the output of ss on a Debian 12 PBX
    // When it is parsed
    const sockets = parseSs(DEBIAN12_ROOT);
    // Then each socket has its address, port, interface and first process
    expect(sockets).toEqual([
      { proto: 'udp', address: '127.0.0.53', port: 53, interface: 'lo', process: 'systemd-resolve', pid: 402 },
      { proto: 'udp', address: '0.0.0.0', port: 5060, process: 'asterisk', pid: 1201 },
      { proto: 'udp', address: '::', port: 4569, process: 'asterisk', pid: 1201 },
      { proto: 'tcp', address: '0.0.0.0', port: 3306, process: 'mariadbd', pid: 812 },
      { proto: 'tcp', address: '0.0.0.0', port: 22, process: 'sshd', pid: 650 },
      { proto: 'tcp', address: '127.0.0.1', port: 25, process: 'master', pid: 990 },
      { proto: 'tcp', address: '*', port: 80, process: 'apache2', pid: 700 },
      { proto: 'tcp', address: '::', port: 22, process: 'sshd', pid: 650 },
      { proto: 'tcp', address: '::1', port: 25, process: 'master', pid: 990 },
      { proto: 'tcp', address: '::ffff:127.0.0.1', port: 8080, process: 'java', pid: 3000 },
    ]);
  });

  it('parses output without the process column (not root)', () => {
    expect(parseSs(DEBIAN12_USER)).toEqual([
      { proto: 'tcp', address: '0.0.0.0', port: 3306 },
      { proto: 'tcp', address: '::', port: 22 },
    ]);
  });

  it('parses old iproute output: header, unbracketed IPv6, users without pid=', () => {
    expect(parseSs(CENTOS7)).toEqual([
      { proto: 'udp', address: '*', port: 5060, process: 'asterisk', pid: 1201 },
      { proto: 'tcp', address: '*', port: 3306, process: 'mysqld', pid: 1100 },
      { proto: 'tcp', address: '::', port: 22, process: 'sshd', pid: 900 },
      { proto: 'tcp', address: '::1', port: 25, process: 'master', pid: 1300 },
    ]);
  });

  it('reads interface-scoped addresses in both notations', () => {
    expect(parseSs('udp UNCONN 0 0 [fe80::1%eth0]:123 [::]:*\nudp UNCONN 0 0 [fe80::2]%eth1:123 [::]:*\nudp UNCONN 0 0 0.0.0.0%eth0:68 0.0.0.0:*\n')).toEqual([
      { proto: 'udp', address: 'fe80::1', port: 123, interface: 'eth0' },
      { proto: 'udp', address: 'fe80::2', port: 123, interface: 'eth1' },
      { proto: 'udp', address: '0.0.0.0', port: 68, interface: 'eth0' },
    ]);
  });

  it('infers the protocol when ss printed no Netid column (one protocol asked)', () => {
    expect(parseSs('LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\nUNCONN 0 0 0.0.0.0:5060 0.0.0.0:*\n')).toEqual([
      { proto: 'tcp', address: '0.0.0.0', port: 22 },
      { proto: 'udp', address: '0.0.0.0', port: 5060 },
    ]);
  });

  it('ignores lines it cannot parse', () => {
    expect(parseSs('\nState Recv-Q\nu_str LISTEN 0 4096 /run/x.sock 1234 * 0\ntcp LISTEN 0 128 0.0.0.0:notaport 0.0.0.0:*\ntcp LISTEN 0 128 nocolon 0.0.0.0:*\ngarbage\r\n')).toEqual([]);
  });

  it('round-trips generated lines', () => {
    const address = fc.constantFrom('0.0.0.0', '127.0.0.1', '10.1.2.3', '::', '::1', '*', 'fe80::1', '::ffff:127.0.0.1');
    const socket = fc.record({
      proto: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'),
      address,
      port: fc.integer({ min: 1, max: 65535 }),
      process: fc.option(fc.stringMatching(/^[a-z][a-z0-9_.-]{0,14}$/), { nil: undefined }),
      pid: fc.integer({ min: 1, max: 4194304 }),
    });
    fc.assert(
      fc.property(fc.array(socket, { maxLength: 10 }), (list) => {
        const text = list
          .map((s) => {
            const host = s.address.includes(':') ? `[${s.address}]` : s.address;
            const users = s.process === undefined ? '' : ` users:(("${s.process}",pid=${s.pid},fd=3))`;
            return `${s.proto} ${s.proto === 'tcp' ? 'LISTEN' : 'UNCONN'} 0 128 ${host}:${s.port} 0.0.0.0:*${users}`;
          })
          .join('\n');
        const expected: ListeningSocket[] = list.map((s) =>
          s.process === undefined ? { proto: s.proto, address: s.address, port: s.port } : { proto: s.proto, address: s.address, port: s.port, process: s.process, pid: s.pid },
        );
        expect(parseSs(text)).toEqual(expected);
      }),
    );
  });
});

describe('isLoopbackAddress / isWildcardAddress', () => {
  it.each([
    ['127.0.0.1', true, false],
    ['127.0.0.53', true, false],
    ['127.255.255.254', true, false],
    ['::1', true, false],
    ['[::1]', true, false],
    ['0:0:0:0:0:0:0:1', true, false],
    ['::ffff:127.0.0.1', true, false],
    ['::FFFF:127.0.0.2', true, false],
    ['127.0.0.53%lo', true, false],
    ['0.0.0.0', false, true],
    ['::', false, true],
    ['[::]', false, true],
    ['0:0:0:0:0:0:0:0', false, true],
    ['*', false, true],
    ['10.0.0.1', false, false],
    ['128.0.0.1', false, false],
    ['::2', false, false],
    ['fe80::1', false, false],
    ['::ffff:10.0.0.1', false, false],
    ['1:2:3:4:5:6:7:8:9', false, false],
    ['', false, false],
  ])('%j: loopback %s, wildcard %s', (address, loopback, wildcard) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
    expect(isWildcardAddress(address)).toBe(wildcard);
  });
});

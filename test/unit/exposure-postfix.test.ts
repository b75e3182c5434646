import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { inetInterfaces, isLoopbackInterfaces, parseMainCf, setMainCfParameter } from '../../steps/exposure/postfix.js';
import { lineDiff } from '../helpers/line-diff.js';

// Abridged Debian 12 main.cf as written by the postfix package ("Internet Site").
const DEBIAN_MAIN_CF = `# See /usr/share/postfix/main.cf.dist for a commented, more complete version


# Debian specific:  Specifying a file name will cause the first
# line of that file to be used as the name.  The Debian default
# is /etc/mailname.
#myorigin = /etc/mailname

smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no

# TLS parameters
smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem
smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
smtpd_tls_security_level=may

smtpd_relay_restrictions = permit_mynetworks permit_sasl_authenticated defer_unauth_destination
myhostname = pbx.example.com
alias_maps = hash:/etc/aliases
alias_database = hash:/etc/aliases
mydestination = $myhostname, pbx.example.com, localhost.example.com, localhost
relayhost =
mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128
mailbox_size_limit = 0
recipient_delimiter = +
inet_interfaces = all
inet_protocols = all
`;

// Abridged CentOS/RHEL main.cf: the stock value is localhost, with commented alternatives.
const CENTOS_MAIN_CF = `# The inet_interfaces parameter specifies the network interface
# addresses that this mail system receives mail on.  By default,
# the software claims all active interfaces on the machine.
#
#inet_interfaces = all
#inet_interfaces = $myhostname
#inet_interfaces = $myhostname, localhost
inet_interfaces = localhost

# Enable IPv4, and IPv6 if supported
inet_protocols = all
`;


describe('parseMainCf', () => {
  it('reads parameters with their lines, the last occurrence winning', () => {
    const params = parseMainCf('a = 1\n# a = 2\nb=two words  \na = 3\n');
    expect(params.get('a')).toEqual({ value: '3', line: 3, endLine: 3 });
    expect(params.get('b')).toEqual({ value: 'two words', line: 2, endLine: 2 });
    expect(params.size).toBe(2);
  });

  it('joins continuation lines, skipping comment and blank lines between them', () => {
    const text = 'smtpd_recipient_restrictions =\n    permit_mynetworks,\n# reject first\n\n    reject_unauth_destination\nnext = 1\n';
    expect(parseMainCf(text).get('smtpd_recipient_restrictions')).toEqual({
      value: 'permit_mynetworks, reject_unauth_destination',
      line: 0,
      endLine: 4,
    });
    expect(parseMainCf(text).get('next')).toEqual({ value: '1', line: 5, endLine: 5 });
  });

  it('keeps a # after text as part of the value (main.cf has no inline comments)', () => {
    expect(parseMainCf('relayhost = [smtp.example.com] # not a comment\n').get('relayhost')?.value).toBe('[smtp.example.com] # not a comment');
  });

  it('reads an empty value and ignores lines that are not parameters', () => {
    const params = parseMainCf('relayhost =\ngarbage line\n  orphan continuation\r\n');
    expect(params.get('relayhost')).toEqual({ value: '', line: 0, endLine: 0 });
    expect(params.size).toBe(1);
  });
});

describe('inetInterfaces / isLoopbackInterfaces', () => {
  it('reads the Debian and CentOS stock values, and the default "all"', () => {
    expect(inetInterfaces(DEBIAN_MAIN_CF)).toBe('all');
    expect(inetInterfaces(CENTOS_MAIN_CF)).toBe('localhost');
    expect(inetInterfaces('myhostname = x\n')).toBe('all');
  });

  it.each([
    ['loopback-only', true],
    ['localhost', true],
    ['127.0.0.1', true],
    ['[::1]', true],
    ['127.0.0.1, [::1]', true],
    ['localhost 127.0.0.1', true],
    ['all', false],
    ['$myhostname', false],
    ['$myhostname, localhost', false],
    ['192.168.1.5', false],
    ['', false],
  ])('%j is loopback: %s', (value, expected) => {
    expect(isLoopbackInterfaces(value)).toBe(expected);
  });
});

describe('setMainCfParameter', () => {
  it('replaces the Debian inet_interfaces line and nothing else', () => {
    // Given the Debian main.cf listening on all interfaces
    // When inet_interfaces is set to loopback-only
    const after = setMainCfParameter(DEBIAN_MAIN_CF, 'inet_interfaces', 'loopback-only');
    // Then exactly that line changed
    expect(after).toBe(DEBIAN_MAIN_CF.replace('inet_interfaces = all\n', 'inet_interfaces = loopback-only\n'));
    expect(lineDiff(DEBIAN_MAIN_CF, after)).toEqual({ at: 25, removed: ['inet_interfaces = all'], added: ['inet_interfaces = loopback-only'] });
  });

  it('returns the text unchanged when the value is already set', () => {
    expect(setMainCfParameter(CENTOS_MAIN_CF, 'inet_interfaces', 'localhost')).toBe(CENTOS_MAIN_CF);
    expect(setMainCfParameter('mynetworks = 127.0.0.0/8,\n  [::1]/128\n', 'mynetworks', '127.0.0.0/8, [::1]/128')).toBe('mynetworks = 127.0.0.0/8,\n  [::1]/128\n');
  });

  it('edits only the last occurrence', () => {
    const text = 'inet_interfaces = localhost\nbiff = no\ninet_interfaces = all\n';
    expect(setMainCfParameter(text, 'inet_interfaces', 'loopback-only')).toBe('inet_interfaces = localhost\nbiff = no\ninet_interfaces = loopback-only\n');
  });

  it('replaces continuation lines but keeps the comments between them', () => {
    const text = 'inet_interfaces = 192.168.1.5,\n    10.0.0.5,\n# the VPN\n    172.16.0.1\nbiff = no\n';
    expect(setMainCfParameter(text, 'inet_interfaces', 'loopback-only')).toBe('inet_interfaces = loopback-only\n# the VPN\nbiff = no\n');
  });

  it('appends a missing parameter, adding the missing final newline first', () => {
    expect(setMainCfParameter('biff = no\n', 'inet_interfaces', 'loopback-only')).toBe('biff = no\ninet_interfaces = loopback-only\n');
    expect(setMainCfParameter('biff = no', 'inet_interfaces', 'loopback-only')).toBe('biff = no\ninet_interfaces = loopback-only\n');
    expect(setMainCfParameter('', 'inet_interfaces', 'loopback-only')).toBe('inet_interfaces = loopback-only\n');
  });

  it('keeps CRLF line ends and a missing final newline on a replaced last line', () => {
    expect(setMainCfParameter('biff = no\r\ninet_interfaces = all\r\n    , 10.0.0.1', 'inet_interfaces', 'localhost')).toBe('biff = no\r\ninet_interfaces = localhost');
    expect(setMainCfParameter('biff = no\r\n', 'inet_interfaces', 'localhost')).toBe('biff = no\r\ninet_interfaces = localhost\r\n');
  });
});

describe('setMainCfParameter properties', () => {
  const KEY = 'inet_interfaces';
  const logical = fc.oneof(
    fc.constantFrom('# comment', '#inet_interfaces = all', '', '   ', 'biff = no', 'relayhost =', 'myhostname = pbx.example.com', 'inet_interfacesx = all').map((l) => [l]),
    fc.constantFrom('mynetworks = 127.0.0.0/8', 'smtpd_recipient_restrictions =').chain((head) =>
      fc.array(fc.constantFrom('    permit_mynetworks,', '\treject', '# inner comment'), { maxLength: 3 }).map((rest) => [head, ...rest]),
    ),
    fc.constantFrom('inet_interfaces = all', 'inet_interfaces=localhost', 'inet_interfaces = $myhostname,').chain((head) =>
      fc.array(fc.constantFrom('    localhost', '\t192.168.0.1', '# inner comment', ''), { maxLength: 3 }).map((rest) => [head, ...rest]),
    ),
  );
  const file = fc.record({ blocks: fc.array(logical, { maxLength: 12 }), crlf: fc.boolean(), finalNewline: fc.boolean() });
  const value = fc.constantFrom('loopback-only', 'localhost', '127.0.0.1, [::1]', 'all');

  it('rewrites only the last logical line (or appends one), reads back the value, and is idempotent', () => {
    fc.assert(
      fc.property(file, value, (f, v) => {
        const eol = f.crlf ? '\r\n' : '\n';
        const lines = f.blocks.flat();
        const before = lines.join(eol) + (f.finalNewline && lines.length > 0 ? eol : '');
        const after = setMainCfParameter(before, KEY, v);
        const current = parseMainCf(before).get(KEY);
        if (current?.value === v) {
          expect(after).toBe(before);
        } else if (current !== undefined) {
          // expected: the key line replaced, its continuation lines dropped, everything else kept
          const expected: string[] = [];
          before.split(/\r?\n/).forEach((l, i) => {
            if (i === current.line) expected.push(`${KEY} = ${v}`);
            else if (i > current.line && i <= current.endLine && /^\s+\S/.test(l) && !l.trim().startsWith('#')) return;
            else expected.push(l);
          });
          expect(after.split(/\r?\n/)).toEqual(expected);
        } else {
          const tail = before === '' ? '' : before.endsWith('\n') ? before : before + (before.includes('\r\n') ? '\r\n' : '\n');
          expect(after).toBe(`${tail}${KEY} = ${v}${before.includes('\r\n') ? '\r\n' : '\n'}`);
        }
        if (before.includes('\r\n')) expect(after.replace(/\r\n/g, '').includes('\n')).toBe(false);
        expect(parseMainCf(after).get(KEY)?.value).toBe(v);
        expect(setMainCfParameter(after, KEY, v)).toBe(after);
      }),
      { numRuns: 300 },
    );
  });
});

import { describe, expect, it } from 'vitest';
import { validateAnswers } from '../../src/answers.js';
import { UserError } from '../../src/errors.js';

function messageFor(data: unknown): string {
  try {
    validateAnswers(data, 'answers file a.json');
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    return (error as UserError).message;
  }
  throw new Error('expected a validation error');
}

describe('answers file validation', () => {
  it('accepts the example from DESIGN.md', () => {
    const example = {
      'elastix-extras': { keep: ['a2billing', 'freepbx'] },
      exposure: { loopbackOnly: ['mysql', 'postfix', 'asterisk-ami'] },
      firewall: { allow: [{ port: 22, proto: 'tcp', from: ['198.51.100.0/24'] }, { port: '10000-20000', proto: 'udp' }], trustedSources: ['203.0.113.0/24'], rateLimit: true },
      geoblock: { mode: 'allow', countries: ['GB', 'IE'], ports: [{ port: 5060, proto: 'udp' }] },
      ids: { jails: ['sshd', 'asterisk', 'recidive'], ignoreIp: ['198.51.100.7'] },
      htaccess: { protect: ['/a2billing/admin'], users: [{ name: 'ops', passwordFile: '/root/ops.pw' }] },
      ssh: { port: 22, passwordAuthentication: false },
      ssl: { domain: 'pbx.example.com', cert: '/root/pbx.crt', key: '/root/pbx.key', chain: '/root/chain.pem' },
    };
    expect(validateAnswers(example, 'x')).toEqual(example);
  });

  it('names an unknown key and lists the accepted ones', () => {
    expect(messageFor({ exposure: { loopbackOnly: [], bindAll: true } })).toBe('answers file a.json: unknown key "bindAll" in exposure (accepted: loopbackOnly)');
    expect(messageFor({ exposre: {} })).toMatch(/unknown key "exposre" \(accepted: elastix-extras, exposure, voip, firewall/);
  });

  it('names the field and the accepted form for a wrong value', () => {
    expect(messageFor({ exposure: { loopbackOnly: ['mysql', 'redis'] } })).toBe('answers file a.json: exposure.loopbackOnly[1]: expected one of "mysql", "postfix", "asterisk-ami" (got "redis")');
    expect(messageFor({ firewall: { allow: [{ port: 70000, proto: 'tcp' }] } })).toMatch(/^answers file a\.json: firewall\.allow\[0\]\.port: expected a port .*\(got 70000\)$/);
    expect(messageFor({ firewall: { allow: [{ port: '20000-10000', proto: 'udp' }] } })).toMatch(/firewall\.allow\[0\]\.port: .*LOW <= HIGH/);
    expect(messageFor({ firewall: { allow: [{ port: 22, proto: 'icmp' }] } })).toBe('answers file a.json: firewall.allow[0].proto: expected "tcp" or "udp" (got "icmp")');
    expect(messageFor({ firewall: { allow: [{ port: 22, proto: 'tcp', from: ['1.2.3.4/33'] }] } })).toMatch(/firewall\.allow\[0\]\.from\[0\]: expected an IPv4 or IPv6 address or CIDR .*\(got "1\.2\.3\.4\/33"\)/);
    expect(messageFor({ geoblock: { mode: 'allow', countries: ['gb'], ports: [{ port: 5060, proto: 'udp' }] } })).toMatch(/geoblock\.countries\[0\]: expected a two-letter ISO 3166 country code/);
    expect(messageFor({ exposure: { loopbackOnly: 'mysql' } })).toMatch(/exposure\.loopbackOnly: .*\(got "mysql"\)/);
  });

  it('takes firewall.sipLimit as false or tuning numbers, and names the field of a bad one', () => {
    const tuned = { firewall: { allow: [], sipLimit: { perSecond: 25, burst: 200, exempt: ['198.51.100.20', '2001:db8::/48'] } } };
    expect(validateAnswers(tuned, 'x')).toEqual(tuned);
    expect(validateAnswers({ firewall: { allow: [], sipLimit: false } }, 'x')).toEqual({ firewall: { allow: [], sipLimit: false } });
    expect(messageFor({ firewall: { allow: [], sipLimit: { perSecond: 0 } } })).toBe('answers file a.json: firewall.sipLimit.perSecond: expected a whole number of requests a second from 1 to 10000 (got 0)');
    expect(messageFor({ firewall: { allow: [], sipLimit: { burst: 2.5 } } })).toBe('answers file a.json: firewall.sipLimit.burst: expected a whole number of requests from 1 to 10000 (got 2.5)');
    expect(messageFor({ firewall: { allow: [], sipLimit: { perSecond: 20000 } } })).toMatch(/firewall\.sipLimit\.perSecond: expected a whole number .* \(got 20000\)$/);
    expect(messageFor({ firewall: { allow: [], sipLimit: { exempt: ['1.2.3.4/33'] } } })).toMatch(/firewall\.sipLimit\.exempt\[0\]: expected an IPv4 or IPv6 address or CIDR/);
    expect(messageFor({ firewall: { allow: [], sipLimit: true } })).toMatch(/^answers file a\.json: firewall\.sipLimit: expected false or an object such as/);
    expect(messageFor({ firewall: { allow: [], sipLimit: { rate: 5 } } })).toMatch(/unknown key "rate" in firewall\.sipLimit \(accepted: perSecond, burst, exempt\)/);
  });

  it('reports a missing required key as missing', () => {
    expect(messageFor({ exposure: {} })).toMatch(/exposure\.loopbackOnly: missing; .*\(got nothing\)/);
  });
});

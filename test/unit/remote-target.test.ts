// --host and --ssh-option as the admin writes them, and which commands leave the box unchanged (the
// mirror of its files stays valid after them).
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { readsOnly } from '../../src/host.js';
import { changesKernelOnly } from '../../src/remote/host.js';
import { describeTarget, parseTarget } from '../../src/remote/target.js';

const messageOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).exitCode).toBe(2);
    return (error as UserError).message;
  }
  throw new Error('expected a UserError');
};

describe('parseTarget', () => {
  it('reads [USER@]HOST[:PORT], ssh:// URLs and IPv6 addresses in brackets', () => {
    expect(parseTarget('pbx.example.com')).toEqual({ user: null, host: 'pbx.example.com', port: null, options: [] });
    expect(parseTarget('root@198.51.100.7:2222')).toMatchObject({ user: 'root', host: '198.51.100.7', port: 2222 });
    expect(parseTarget('ssh://admin@pbx.example.com:22/')).toMatchObject({ user: 'admin', host: 'pbx.example.com', port: 22 });
    expect(parseTarget('ops@[2001:db8::5]:2200')).toMatchObject({ user: 'ops', host: '2001:db8::5', port: 2200 });
    expect(parseTarget('2001:db8::5')).toMatchObject({ host: '2001:db8::5', port: null });
    expect(describeTarget(parseTarget('ops@[2001:db8::5]:2200'))).toBe('ops@[2001:db8::5]:2200');
  });

  it('passes ssh options through as KEY=VALUE, refusing the ones bulwark sets itself', () => {
    expect(parseTarget('pbx', ['IdentityFile=~/.ssh/pbx key', 'ProxyJump=bastion']).options).toEqual(['IdentityFile=~/.ssh/pbx key', 'ProxyJump=bastion']);
    expect(messageOf(() => parseTarget('pbx', ['IdentityFile']))).toMatch(/--ssh-option: "IdentityFile": expected KEY=VALUE/);
    expect(messageOf(() => parseTarget('pbx', ['ControlPath=/tmp/x']))).toMatch(/ControlPath is set by bulwark itself/);
    expect(messageOf(() => parseTarget('pbx', ['BatchMode=no']))).toMatch(/BatchMode is set by bulwark itself/);
    expect(messageOf(() => parseTarget('pbx', ['LocalCommand=touch /tmp/x']))).toMatch(/LocalCommand is set by bulwark itself/);
  });

  it('names what is wrong with a bad host, user or port, and the accepted form', () => {
    expect(messageOf(() => parseTarget('root@bad host'))).toMatch(/"bad host" is not a host name or address; expected \[USER@\]HOST\[:PORT\]/);
    expect(messageOf(() => parseTarget('pbx:70000'))).toMatch(/the port must be from 1 to 65535/);
    expect(messageOf(() => parseTarget('pbx:'))).toMatch(/the port is missing/);
    expect(messageOf(() => parseTarget('-oProxyCommand=x@pbx'))).toMatch(/the user name "-oProxyCommand=x" is not valid/);
    expect(messageOf(() => parseTarget('-oProxyCommand=x'))).toMatch(/is not a host name or address/);
  });
});

describe('readsOnly', () => {
  it('keeps the mirror after the commands a plan runs, and drops it after anything else', () => {
    for (const [file, ...args] of [['sshd', '-T'], ['ss', '-H', '-tulpn'], ['iptables-save'], ['iptables', '--version'], ['ipset', 'list', '-n'], ['service', 'ssh', 'status'], ['fail2ban-regex', '/var/log/auth.log', 'f.conf'], ['apache2ctl', '-v'], ['iptables-restore', '--test', '--noflush']]) {
      expect(readsOnly({ file: file!, args }), `${file} ${args.join(' ')}`).toBe(true);
    }
    for (const [file, ...args] of [['service', 'apache2', 'reload'], ['iptables-restore', '--noflush'], ['ipset', 'restore'], ['aide', '--init'], ['apt-get', 'install', 'fail2ban'], ['systemctl', 'disable', 'x'], ['sh', '-c', 'true']]) {
      expect(readsOnly({ file: file!, args }), `${file} ${args.join(' ')}`).toBe(false);
    }
  });

  it('keeps the files\' mirror after a change of the kernel\'s tables or sets only', () => {
    for (const [file, ...args] of [['iptables-restore', '--noflush'], ['ip6tables-restore', '--noflush'], ['ipset', 'restore'], ['ipset', 'destroy', 'bulwark-geo4'], ['/sbin/iptables', '-I', 'INPUT', '1', '-j', 'DROP']]) {
      expect(changesKernelOnly({ file: file!, args }), `${file} ${args.join(' ')}`).toBe(true);
    }
    for (const [file, ...args] of [['iptables-save'], ['iptables-restore', '--test'], ['service', 'netfilter-persistent', 'save'], ['sh', '-c', 'iptables-save > /etc/iptables/rules.v4']]) {
      expect(changesKernelOnly({ file: file!, args }), `${file} ${args.join(' ')}`).toBe(false);
    }
  });
});

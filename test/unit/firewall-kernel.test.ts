// The firewall step's network kernel settings as plain data: which reverse-path filter a routing
// table calls for, which keys a live plan sets, and the boot file (its own, or a block in sysctl.conf).
import { describe, expect, it } from 'vitest';
import { fileContent, gatewayInterfaces, planKernel, reversePathFor, settingsFile, wantedSettings, type KernelFacts } from '../../steps/firewall/kernel.js';
import type { SystemFacts } from '../../src/system.js';

const HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
const route = (iface: string, dest: string, gateway: string, flags: string) => `${iface}\t${dest}\t${gateway}\t${flags}\t0\t0\t0\t00000000\t0\t0\t0\n`;

function facts(overrides: Partial<KernelFacts> = {}): KernelFacts {
  return {
    live: Object.fromEntries(wantedSettings('1').map(([key]) => [key, '0'])),
    gatewayInterfaces: ['eth0'],
    forwarding: false,
    file: { path: '/etc/sysctl.d/60-bulwark-network.conf', current: null, block: false },
    ...overrides,
  };
}

const system = (family: 'rhel' | 'debian', version: string) => ({ distro: { id: 'x', name: 'x', version, family } }) as unknown as SystemFacts;

describe('network kernel settings', () => {
  it('reads the interfaces with a gateway route; a docker bridge (no gateway) does not count', () => {
    const table = HEADER + route('eth0', '00000000', '010200C0', '0003') + route('eth0', '000200C0', '00000000', '0001') + route('docker0', '000011AC', '00000000', '0001');
    expect(gatewayInterfaces(table)).toEqual(['eth0']);
    expect(reversePathFor(facts({ gatewayInterfaces: gatewayInterfaces(table) }))).toBe('1');
    const twoUplinks = table + route('eth1', '00000000', '01FE000A', '0003');
    expect(gatewayInterfaces(twoUplinks)).toEqual(['eth0', 'eth1']);
    expect(reversePathFor(facts({ gatewayInterfaces: gatewayInterfaces(twoUplinks) }))).toBe('2');
  });

  it('live: sets only the keys that differ and exist, keeping their values before', () => {
    const live = { ...facts().live, 'net.ipv4.tcp_syncookies': '1', 'net.ipv6.conf.all.accept_redirects': null, 'net.ipv6.conf.default.accept_redirects': null };
    const { settings, file } = planKernel(facts({ live }), true);
    const keys = settings!.settings.map((s) => s.key);
    expect(keys).not.toContain('net.ipv4.tcp_syncookies');
    expect(keys).not.toContain('net.ipv6.conf.all.accept_redirects');
    expect(settings!.settings.find((s) => s.key === 'net.ipv4.conf.all.rp_filter')).toEqual({ key: 'net.ipv4.conf.all.rp_filter', before: '0', after: '1' });
    expect(settings!.apply).toEqual({ file: 'sysctl', args: ['-w', ...settings!.settings.map((s) => `${s.key}=${s.after}`)] });
    expect(file!.afterConfirm).toBe(true);
    expect(file!.after).not.toContain('net.ipv6.conf.all.accept_redirects');
    expect(file!.after).toContain('net.ipv4.conf.all.rp_filter = 1\n');
  });

  it('with gateways on two interfaces: loose filter, and the file says why', () => {
    const { file, settings } = planKernel(facts({ gatewayInterfaces: ['eth0', 'wg0'] }), true);
    expect(file!.after).toContain('Reverse-path filter loose (2): routes through gateways on eth0, wg0');
    expect(settings!.settings.find((s) => s.key === 'net.ipv4.conf.default.rp_filter')?.after).toBe('2');
  });

  it('under --root: the file only, with every key', () => {
    const { file, settings } = planKernel(facts({ live: {} }), false);
    expect(settings).toBeNull();
    expect(file!.afterConfirm).toBe(false);
    for (const [key, value] of wantedSettings('1')) expect(file!.after).toContain(`${key} = ${value}\n`);
  });

  it('CentOS 5 and 6: a marked block in /etc/sysctl.conf, replaced in place and the rest kept', () => {
    expect(settingsFile(system('rhel', '5.11'))).toEqual({ path: '/etc/sysctl.conf', block: true });
    expect(settingsFile(system('rhel', '6.10'))).toEqual({ path: '/etc/sysctl.conf', block: true });
    expect(settingsFile(system('rhel', '7'))).toEqual({ path: '/etc/sysctl.d/60-bulwark-network.conf', block: false });
    expect(settingsFile(system('debian', '12'))).toEqual({ path: '/etc/sysctl.d/60-bulwark-network.conf', block: false });
    const own = 'kernel.sysrq = 0\nnet.ipv4.ip_forward = 0';
    const first = fileContent(facts({ live: {}, file: { path: '/etc/sysctl.conf', current: own, block: true } }), false);
    expect(first.startsWith(`${own}\n# BEGIN bulwark network settings\n`)).toBe(true);
    expect(first.endsWith('# END bulwark network settings\n')).toBe(true);
    const edited = `${first}kernel.shmmax = 1\n`;
    const again = fileContent(facts({ live: {}, gatewayInterfaces: ['a', 'b'], file: { path: '/etc/sysctl.conf', current: edited, block: true } }), false);
    expect(again.match(/# BEGIN bulwark/g)).toHaveLength(1);
    expect(again).toContain('net.ipv4.conf.all.rp_filter = 2\n');
    expect(again.startsWith(`${own}\n`)).toBe(true);
    expect(again.endsWith('# END bulwark network settings\nkernel.shmmax = 1\n')).toBe(true);
  });
});

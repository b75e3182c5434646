// What kind of box this is: distribution, init system, package manager and Apache flavour.
// Detected from files only, so the same code works on the live system and on a --root fixture;
// the one live probe (is systemd running right now?) is made only when acting on "/".
import type { Host } from './host.js';

export interface SystemFacts {
  readonly distro: {
    readonly id: string; // debian, ubuntu, centos, rhel, rocky, almalinux, fedora, unknown
    readonly name: string; // "Debian GNU/Linux 12 (bookworm)", "CentOS release 5.11 (Final)"
    readonly version: string; // "12", "5.11"
    readonly family: 'debian' | 'rhel' | 'unknown';
  };
  readonly init: 'systemd' | 'sysv';
  readonly packageManager: 'apt' | 'yum' | 'dnf' | null;
  readonly apache: ApacheFacts | null;
}

export interface ApacheFacts {
  readonly flavour: 'apache2' | 'httpd';
  readonly version: '2.2' | '2.4';
  /** Main configuration file: /etc/apache2/apache2.conf or /etc/httpd/conf/httpd.conf. */
  readonly mainConfig: string;
}

export async function detectSystem(host: Host): Promise<SystemFacts> {
  const [distro, init, packageManager, apache] = await Promise.all([
    detectDistro(host),
    detectInit(host),
    detectPackageManager(host),
    detectApache(host),
  ]);
  return { distro, init, packageManager, apache };
}

async function detectDistro(host: Host): Promise<SystemFacts['distro']> {
  const osRelease = (await host.readText('/etc/os-release')) ?? (await host.readText('/usr/lib/os-release'));
  if (osRelease) {
    const fields = parseOsRelease(osRelease);
    const id = (fields.ID ?? 'unknown').toLowerCase();
    const like = `${id} ${(fields.ID_LIKE ?? '').toLowerCase()}`;
    const family = /debian|ubuntu/.test(like) ? 'debian' : /rhel|centos|fedora/.test(like) ? 'rhel' : 'unknown';
    return { id, name: fields.PRETTY_NAME ?? fields.NAME ?? id, version: fields.VERSION_ID ?? '', family };
  }
  // CentOS 5 and 6 (Elastix 2.x) have no os-release, only /etc/redhat-release.
  const redhat = await host.readText('/etc/redhat-release');
  if (redhat) {
    const name = redhat.trim();
    const version = /release\s+([\d.]+)/.exec(name)?.[1] ?? '';
    const id = /centos/i.test(name) ? 'centos' : /fedora/i.test(name) ? 'fedora' : 'rhel';
    return { id, name, version, family: 'rhel' };
  }
  const debian = await host.readText('/etc/debian_version');
  if (debian) return { id: 'debian', name: `Debian ${debian.trim()}`, version: debian.trim().split('.')[0] ?? '', family: 'debian' };
  return { id: 'unknown', name: 'unknown Linux', version: '', family: 'unknown' };
}

export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) fields[match[1]!] = match[2]!.replace(/^(["'])(.*)\1$/, '$2');
  }
  return fields;
}

async function detectInit(host: Host): Promise<SystemFacts['init']> {
  // On the running system the question is what is running now, not what is installed.
  if (host.live) return (await host.lstat('/run/systemd/system')) ? 'systemd' : 'sysv';
  const init = await host.lstat('/sbin/init');
  if (init?.type === 'symlink' && (await host.readlink('/sbin/init')).includes('systemd')) return 'systemd';
  if (!(await host.exists('/etc/inittab')) && (await host.exists('/lib/systemd/systemd'))) return 'systemd';
  if (!(await host.exists('/etc/inittab')) && (await host.exists('/usr/lib/systemd/systemd'))) return 'systemd';
  return 'sysv';
}

async function detectPackageManager(host: Host): Promise<SystemFacts['packageManager']> {
  if ((await host.exists('/var/lib/dpkg/status')) || (await host.exists('/etc/apt/sources.list'))) return 'apt';
  if (await host.exists('/etc/dnf/dnf.conf')) return 'dnf';
  if (await host.exists('/etc/yum.conf')) return 'yum';
  return null;
}

async function detectApache(host: Host): Promise<ApacheFacts | null> {
  if (await host.exists('/etc/apache2/apache2.conf')) {
    // Debian has shipped 2.4 since 8 (jessie); authz_core exists only in 2.4.
    const is24 = (await host.exists('/etc/apache2/mods-available/authz_core.load')) || !(await host.exists('/etc/apache2/mods-available/authz_default.load'));
    return { flavour: 'apache2', version: is24 ? '2.4' : '2.2', mainConfig: '/etc/apache2/apache2.conf' };
  }
  if (await host.exists('/etc/httpd/conf/httpd.conf')) {
    const main = (await host.readText('/etc/httpd/conf/httpd.conf')) ?? '';
    const modules = await host.list('/etc/httpd/conf.modules.d');
    let texts = main;
    for (const name of modules) texts += (await host.readText(`/etc/httpd/conf.modules.d/${name}`)) ?? '';
    return { flavour: 'httpd', version: /authz_core_module/.test(texts) ? '2.4' : '2.2', mainConfig: '/etc/httpd/conf/httpd.conf' };
  }
  return null;
}

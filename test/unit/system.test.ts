import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { findService, serviceCommand } from '../../src/services.js';
import { detectSystem, type SystemFacts } from '../../src/system.js';
import { materializeFixture, removeFixture } from '../helpers/fixture.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await removeFixture(dir);
});

async function fixtureHost(name: 'elastix-centos5' | 'debian12-a2billing'): Promise<Host> {
  const root = await materializeFixture(name);
  made.push(root);
  return new Host(root);
}

describe('detectSystem from files only', () => {
  it('an Elastix 2.x box: CentOS 5, SysV, yum, Apache 2.2 as httpd', async () => {
    const system = await detectSystem(await fixtureHost('elastix-centos5'));
    expect(system).toEqual({
      distro: { id: 'centos', name: 'CentOS release 5.11 (Final)', version: '5.11', family: 'rhel' },
      init: 'sysv',
      packageManager: 'yum',
      apache: { flavour: 'httpd', version: '2.2', mainConfig: '/etc/httpd/conf/httpd.conf' },
    });
  });

  it('a Debian 12 box: systemd, apt, Apache 2.4 as apache2', async () => {
    const system = await detectSystem(await fixtureHost('debian12-a2billing'));
    expect(system.distro).toMatchObject({ id: 'debian', version: '12', family: 'debian' });
    expect(system.init).toBe('systemd');
    expect(system.packageManager).toBe('apt');
    expect(system.apache).toEqual({ flavour: 'apache2', version: '2.4', mainConfig: '/etc/apache2/apache2.conf' });
  });
});

describe('service control the way the box does it', () => {
  it('finds the installed name among the candidates', async () => {
    const elastix = await fixtureHost('elastix-centos5');
    expect(await findService(elastix, await detectSystem(elastix), ['mariadb', 'mysql', 'mysqld'])).toBe('mysqld');
    const debian = await fixtureHost('debian12-a2billing');
    expect(await findService(debian, await detectSystem(debian), ['mariadb', 'mysql', 'mysqld'])).toBe('mariadb');
    expect(await findService(debian, await detectSystem(debian), ['no-such-daemon'])).toBeNull();
  });

  it('uses systemctl under systemd, `service` or the init script under SysV', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-svc-'));
    made.push(root);
    const host = new Host(root);
    const sysv: SystemFacts = { distro: { id: 'debian', name: 'x', version: '12', family: 'debian' }, init: 'sysv', packageManager: 'apt', apache: null };
    await fs.mkdir(path.join(root, 'etc/init.d'), { recursive: true });
    await fs.writeFile(path.join(root, 'etc/init.d/postfix'), '#!/bin/sh\n', { mode: 0o755 });
    // No `service` program on the box: the init script itself.
    expect(await serviceCommand(host, sysv, 'postfix', 'restart')).toEqual({ file: '/etc/init.d/postfix', args: ['restart'] });
    await fs.mkdir(path.join(root, 'usr/sbin'), { recursive: true });
    await fs.writeFile(path.join(root, 'usr/sbin/service'), '#!/bin/sh\n', { mode: 0o755 });
    host.forget(); // (changed behind the host's back: a new look at the box, as the engine takes one)
    expect(await serviceCommand(host, sysv, 'postfix', 'restart')).toEqual({ file: 'service', args: ['postfix', 'restart'] });
    expect(await serviceCommand(host, { ...sysv, init: 'systemd' }, 'postfix', 'reload')).toEqual({ file: 'systemctl', args: ['reload', 'postfix'] });
  });
});

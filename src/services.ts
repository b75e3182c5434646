// Starting, stopping and reloading services the way the box does it: systemctl where systemd runs,
// otherwise the SysV init script (`service` when present, else /etc/init.d/NAME directly — many
// VoIP boxes have no systemd).
import type { Command, ServiceAction } from './change.js';
import type { Host } from './host.js';
import type { SystemFacts } from './system.js';

/** The first of the candidate names that is installed on the box, or null. */
export async function findService(host: Host, system: SystemFacts, names: readonly string[]): Promise<string | null> {
  for (const name of names) {
    if (system.init === 'systemd') {
      for (const dir of ['/etc/systemd/system', '/lib/systemd/system', '/usr/lib/systemd/system']) {
        if (await host.exists(`${dir}/${name}.service`)) return name;
      }
    }
    if (await host.exists(`/etc/init.d/${name}`)) return name;
    if (await host.exists(`/etc/rc.d/init.d/${name}`)) return name;
  }
  return null;
}

export async function serviceCommand(host: Host, system: SystemFacts, name: string, action: ServiceAction): Promise<Command> {
  if (system.init === 'systemd') return { file: 'systemctl', args: [action, name] };
  if (action === 'enable' || action === 'disable') {
    // SysV: the rc links decide what starts at boot.
    if (await host.findProgram('update-rc.d')) return { file: 'update-rc.d', args: [name, action] };
    return { file: 'chkconfig', args: [name, action === 'enable' ? 'on' : 'off'] };
  }
  if (await host.findProgram('service')) return { file: 'service', args: [name, action] };
  const script = (await host.exists(`/etc/init.d/${name}`)) ? `/etc/init.d/${name}` : `/etc/rc.d/init.d/${name}`;
  return { file: script, args: [action] };
}

// What the steps that write Apache configuration share: the configuration test, and the place of a
// bulwark-owned file — conf.d on RHEL, conf-available plus the conf-enabled link a2enconf makes on
// Debian.
import type { Validator } from '../src/change.js';
import type { Host } from '../src/host.js';
import type { ApacheFacts } from '../src/system.js';

export function apacheTest(apache: ApacheFacts): Validator {
  return { when: 'installed', command: apache.flavour === 'apache2' ? { file: 'apache2ctl', args: ['-t'] } : { file: 'httpd', args: ['-t'] }, label: 'Apache configuration test' };
}

export interface ConfSlot {
  readonly path: string;
  readonly current: string | null;
  /** Debian: conf-enabled/NAME -> ../conf-available/NAME, and what is there now. */
  readonly link: { readonly path: string; readonly target: string; readonly current: string | null } | null;
}

export async function confSlot(host: Host, apache: ApacheFacts | null, name: string): Promise<ConfSlot | null> {
  if (apache?.flavour === 'apache2') {
    const file = `/etc/apache2/conf-available/${name}`;
    const linkPath = `/etc/apache2/conf-enabled/${name}`;
    const meta = await host.lstat(linkPath);
    return { path: file, current: await host.readText(file), link: { path: linkPath, target: `../conf-available/${name}`, current: meta?.type === 'symlink' ? await host.readlink(linkPath) : null } };
  }
  if (apache) return { path: `/etc/httpd/conf.d/${name}`, current: await host.readText(`/etc/httpd/conf.d/${name}`), link: null };
  return null;
}

// What starts a daemon at boot, and exactly which links the box's own tool changes to stop that:
//   systemd      `systemctl disable N` removes every link to N.service under /etc/systemd/system
//                (*.wants/, *.requires/, and Alias= names); a unit that is only a SysV script is
//                handed to chkconfig / update-rc.d (systemd-sysv-install), as below;
//   chkconfig    (RHEL/CentOS) `chkconfig N off`: in runlevels 2-5 the S link goes and a K link with
//                the script's stop priority (its "# chkconfig: 2345 99 01" header) takes its place;
//   update-rc.d  (Debian) `update-rc.d N disable`: in the runlevels of the script's Default-Start,
//                S##N is renamed K##N (same number, same target).
// The prediction is data (the preview shows it, the snapshot records those paths); on the live box
// the tool itself makes the change and verify checks it matches, under --root bulwark makes it.
import * as path from 'node:path';
import type { Host } from '../../src/host.js';
import type { SystemFacts } from '../../src/system.js';

export interface LinkEdit {
  readonly path: string;
  readonly before: string | null;
  readonly after: string | null;
}

export interface Daemon {
  /** The name found on this box (portmap on CentOS 5, rpcbind on 7). */
  readonly name: string;
  readonly tool: 'systemd' | 'chkconfig' | 'update-rc.d';
  /** Links that start it at boot now. */
  readonly bootLinks: readonly string[];
  /** The links `disable` changes (empty: it does not start at boot). */
  readonly disable: readonly LinkEdit[];
  /** Running now (live only; null under --root). */
  readonly running: boolean | null;
  /** Is the prediction exactly what the box's tool does? When it is not (a RHEL script with only an
   *  LSB header: chkconfig then derives the K priority from dependencies), bulwark makes the links
   *  itself on the live box too, so that the snapshot holds every path it changes. */
  readonly byTool: boolean;
}

const UNIT_DIRS = ['/etc/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system'];
const SYSTEMD_ETC = '/etc/systemd/system';

/** The first of the candidate names installed as a unit or an init script, with its boot state. */
export async function findDaemon(host: Host, system: SystemFacts, names: readonly string[]): Promise<Daemon | null> {
  for (const name of names) {
    const unit = await firstExisting(host, UNIT_DIRS.map((dir) => `${dir}/${name}.service`));
    const script = await firstExisting(host, [`/etc/init.d/${name}`, `/etc/rc.d/init.d/${name}`]);
    if (!unit && !script) continue;
    const edits: LinkEdit[] = [];
    let tool: Daemon['tool'];
    let byTool = true;
    if (system.init === 'systemd' && unit) {
      tool = 'systemd';
      edits.push(...(await systemdDisable(host, name)));
      // Debian's systemctl also hands a unit's twin init script to update-rc.d.
      if (script && system.distro.family === 'debian') edits.push(...(await updateRcDisable(host, name, script)));
    } else if (script && system.distro.family === 'rhel') {
      tool = system.init === 'systemd' ? 'systemd' : 'chkconfig';
      const result = await chkconfigOff(host, name, script);
      edits.push(...result.edits);
      byTool = result.exact;
    } else if (script) {
      tool = system.init === 'systemd' ? 'systemd' : 'update-rc.d';
      edits.push(...(await updateRcDisable(host, name, script)));
    } else {
      tool = 'systemd';
      edits.push(...(await systemdDisable(host, name)));
    }
    const bootLinks = edits.filter((e) => e.before !== null && e.after === null).map((e) => e.path);
    return { name, tool, bootLinks, disable: edits, running: await isRunning(host, system, name, Boolean(unit)), byTool };
  }
  return null;
}

async function firstExisting(host: Host, paths: readonly string[]): Promise<string | null> {
  for (const candidate of paths) if (await host.exists(candidate)) return candidate;
  return null;
}

/** Every link under /etc/systemd/system that enables N.service: in *.wants / *.requires, or an alias. */
async function systemdDisable(host: Host, name: string): Promise<LinkEdit[]> {
  const unit = `${name}.service`;
  const edits: LinkEdit[] = [];
  for (const entry of await host.list(SYSTEMD_ETC)) {
    const entryPath = `${SYSTEMD_ETC}/${entry}`;
    const meta = await host.lstat(entryPath);
    if (meta?.type === 'dir' && /\.(wants|requires)$/.test(entry)) {
      const link = `${entryPath}/${unit}`;
      if ((await host.lstat(link))?.type === 'symlink') edits.push({ path: link, before: await host.readlink(link), after: null });
    } else if (meta?.type === 'symlink' && entry !== unit && entry.endsWith('.service')) {
      // An Alias= link (mysql.service -> mariadb.service) goes with the unit; a mask (-> /dev/null) is not ours.
      const target = await host.readlink(entryPath);
      if (path.posix.basename(target) === unit) edits.push({ path: entryPath, before: target, after: null });
    }
  }
  return edits;
}

/** rc directories as the box has them: /etc/rc.d/rcN.d on RHEL (with /etc/rcN.d links), /etc/rcN.d on Debian. */
async function rcDir(host: Host, level: string): Promise<string> {
  const real = await host.resolve(`/etc/rc${level}.d`);
  return real;
}

async function linksFor(host: Host, level: string, name: string): Promise<{ path: string; letter: 'S' | 'K'; number: string; target: string }[]> {
  const dir = await rcDir(host, level);
  const out = [];
  for (const entry of await host.list(dir)) {
    const match = /^([SK])(\d\d)(.+)$/.exec(entry);
    if (!match || match[3] !== name) continue;
    const linkPath = `${dir}/${entry}`;
    if ((await host.lstat(linkPath))?.type !== 'symlink') continue;
    out.push({ path: linkPath, letter: match[1] as 'S' | 'K', number: match[2]!, target: await host.readlink(linkPath) });
  }
  return out;
}

/**
 * `chkconfig N off`: levels 2-5, S links out, K<stop> links in. The stop priority is the script's
 * "# chkconfig:" header; without one (LSB header only) it is taken as 100 - start, and the result
 * is marked inexact (see Daemon.byTool).
 */
async function chkconfigOff(host: Host, name: string, script: string): Promise<{ edits: LinkEdit[]; exact: boolean }> {
  const text = (await host.readText(script)) ?? '';
  const header = /^#\s*chkconfig:\s*(\S+)\s+(\d+)\s+(\d+)/m.exec(text);
  const edits: LinkEdit[] = [];
  let stop = header ? Number(header[3]) : null;
  for (const level of ['2', '3', '4', '5']) {
    const links = await linksFor(host, level, name);
    const starts = links.filter((l) => l.letter === 'S');
    if (stop === null && starts[0]) stop = 100 - Number(starts[0].number); // chkconfig's rule for LSB-only scripts
    for (const link of starts) edits.push({ path: link.path, before: link.target, after: null });
    if (stop !== null && !links.some((l) => l.letter === 'K') && starts.length > 0) {
      edits.push({ path: `${await rcDir(host, level)}/K${String(stop).padStart(2, '0')}${name}`, before: null, after: `../init.d/${name}` });
    }
  }
  return { edits, exact: header !== null };
}

/** `update-rc.d N disable`: in the Default-Start levels (2-5 when the script does not say), S##N becomes K##N. */
async function updateRcDisable(host: Host, name: string, script: string): Promise<LinkEdit[]> {
  const text = (await host.readText(script)) ?? '';
  const declared = /^#\s*Default-Start:\s*(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).filter(Boolean);
  const levels = (declared && declared.length > 0 ? declared : ['2', '3', '4', '5']).filter((l) => /^[S2345]$/.test(l));
  const edits: LinkEdit[] = [];
  for (const level of levels) {
    for (const link of await linksFor(host, level, name)) {
      if (link.letter !== 'S') continue;
      edits.push({ path: link.path, before: link.target, after: null });
      edits.push({ path: link.path.replace(/\/S(\d\d)([^/]+)$/, '/K$1$2'), before: null, after: link.target });
    }
  }
  return edits;
}

async function isRunning(host: Host, system: SystemFacts, name: string, hasUnit: boolean): Promise<boolean | null> {
  if (!host.live) return null;
  if (system.init === 'systemd' && hasUnit) return (await host.run({ file: 'systemctl', args: ['is-active', '--quiet', `${name}.service`] }, { reject: false })).exitCode === 0;
  const script = (await host.exists(`/etc/init.d/${name}`)) ? `/etc/init.d/${name}` : `/etc/rc.d/init.d/${name}`;
  if (await host.findProgram('service')) return (await host.run({ file: 'service', args: [name, 'status'] }, { reject: false })).exitCode === 0;
  return (await host.run({ file: script, args: ['status'] }, { reject: false })).exitCode === 0;
}

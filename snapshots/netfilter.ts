// The running firewall, read and written through iptables-save / iptables-restore (and their IPv6
// twins). Used by the firewall step, the transaction, the watchdog and rollback.
import type { IpFamily, StepId } from '../src/change.js';
import type { Host } from '../src/host.js';
import { filterTable, parseSave } from '../steps/firewall/iptables-save.js';
import { FIREWALL_OWNERSHIP, restoreScript, undefinedTargets, type Ownership } from '../steps/firewall/rules.js';
import { GEO_OWNERSHIP } from '../steps/geoblock/rules.js';
import type { Manifest, SnapshotStore } from './store.js';

export const FAMILIES: readonly IpFamily[] = ['ipv4', 'ipv6'];

const tools = (family: IpFamily) =>
  family === 'ipv4' ? { save: 'iptables-save', restore: 'iptables-restore' } : { save: 'ip6tables-save', restore: 'ip6tables-restore' };

/** The whole ruleset of one family as iptables-save prints it ('' on a fresh nf_tables host). */
export async function saveRules(host: Host, family: IpFamily): Promise<string> {
  return (await host.run({ file: tools(family).save, args: [] })).stdout;
}

/**
 * Loads a --noflush script atomically (one transaction per table). Checked first with --test, and
 * for jumps to chains nobody defines (the nf_tables backend's --test lets those through).
 */
export async function loadScript(host: Host, family: IpFamily, script: string, options: { checked?: boolean } = {}): Promise<void> {
  if (!options.checked) await checkScript(host, family, script);
  await host.run({ file: tools(family).restore, args: ['--noflush'] }, { input: script });
}

/** The checks of loadScript without loading: run for every family before the first is loaded. */
export async function checkScript(host: Host, family: IpFamily, script: string): Promise<void> {
  const current = filterTable(parseSave(await saveRules(host, family)));
  const missing = undefinedTargets(script, current);
  if (missing.length > 0) throw new Error(`${tools(family).restore}: the ruleset jumps to undefined chain(s) ${missing.join(', ')}`);
  await host.run({ file: tools(family).restore, args: ['--test', '--noflush'] }, { input: script });
}

/** Records both families' rulesets in the manifest (the caller saves it), before anything is loaded. */
export async function captureFirewall(host: Host, store: SnapshotStore, manifest: Manifest): Promise<void> {
  const saved = await Promise.all(FAMILIES.map(async (family) => [family, await store.putText(await saveRules(host, family))] as const));
  manifest.firewall = Object.fromEntries(saved) as Partial<Record<IpFamily, string>>;
}

/** What the snapshot's step owns in the filter table: a rollback puts back that part only. */
export function ownershipOf(step: StepId | undefined): Ownership {
  return step === 'geoblock' ? GEO_OWNERSHIP : FIREWALL_OWNERSHIP;
}

/** The iptables-restore input, per family, that would put the step's part back now (the dead-man switch runs it later). */
export async function firewallRestoreScripts(host: Host, store: SnapshotStore, manifest: Manifest): Promise<{ family: IpFamily; script: string }[]> {
  const scripts: { family: IpFamily; script: string }[] = [];
  for (const family of FAMILIES) {
    const hash = manifest.firewall?.[family];
    if (hash === undefined) continue;
    const saved = filterTable(parseSave(await store.getText(hash)));
    const current = filterTable(parseSave(await saveRules(host, family)));
    scripts.push({ family, script: restoreScript(current, saved, ownershipOf(manifest.step)) });
  }
  return scripts;
}

/** Puts the step's part of the running firewall back as the snapshot recorded it, both families. */
export async function restoreFirewall(host: Host, store: SnapshotStore, manifest: Manifest): Promise<IpFamily[]> {
  const restored: IpFamily[] = [];
  for (const family of FAMILIES) {
    const hash = manifest.firewall?.[family];
    if (hash === undefined) continue;
    const saved = filterTable(parseSave(await store.getText(hash)));
    const current = filterTable(parseSave(await saveRules(host, family)));
    await loadScript(host, family, restoreScript(current, saved, ownershipOf(manifest.step)));
    restored.push(family);
  }
  return restored;
}

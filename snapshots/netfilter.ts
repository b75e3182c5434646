// The running firewall, read and written through iptables-save / iptables-restore (and their IPv6
// twins), and what a step owns in it. Used by the steps, the transaction, the dead-man switch and
// rollback. Ownership is data recorded in each snapshot (its chains, the comment that marks its
// INPUT rules, whether it sets the policies), so putting a step's part back needs no step's code.
import type { IpFamily } from '../src/change.js';
import type { Host } from '../src/host.js';
import { filterTable, jumpTargets, parseSave, STANDARD_TARGETS, type Table } from '../src/iptables-save.js';
import type { Manifest, SnapshotStore } from './store.js';

/**
 * What a step owns in the filter table: its chains, its rules in INPUT (marked by their comment,
 * "COMMENT" or "COMMENT:fingerprint"), and — for the firewall step only — the built-in chains'
 * policies. A rollback puts back exactly that and nothing else, so undoing one step never touches
 * another's rules (nor fail2ban's).
 */
export interface FilterOwnership {
  readonly chains: readonly string[];
  readonly comment: string;
  readonly policies: boolean;
}

/** Does this rule carry the owner's comment ("bulwark" never matches "bulwark-geo")? */
export function ownsRule(comment: string, rule: string): boolean {
  const escaped = comment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`--comment "?${escaped}(:[0-9a-f]+)?"?(\\s|$)`).test(rule);
}

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

/**
 * What the snapshot's step owns in the filter table: recorded in the snapshot by the apply. Snapshots
 * written before bulwark recorded it were made by the firewall or the geoblock step: theirs, as they
 * were then.
 */
export function ownershipOf(manifest: Manifest): FilterOwnership {
  if (manifest.firewallOwner) return manifest.firewallOwner;
  return manifest.step === 'geoblock'
    ? { chains: ['BULWARK-GEO'], comment: 'bulwark-geo', policies: false }
    : { chains: ['BULWARK-INPUT', 'BULWARK-SIPSCAN', 'BULWARK-SIPLIMIT', 'BULWARK-SSHLIMIT', 'BULWARK-SIPCONN'], comment: 'bulwark', policies: true };
}

/**
 * The script that puts the owner's part of the filter table back as it was in `saved`: the built-in
 * policies (if it owns them), its rules in INPUT and its chains. Everything else (fail2ban's bans
 * added since, Docker's chains) is left as it is now. An empty saved ruleset means ACCEPT policies
 * and nothing of the owner's.
 */
export function restoreScript(current: Table, saved: Table, owner: FilterOwnership): string {
  const now = filterTable(new Map([['filter', current]]));
  const { head, tail } = restoreParts(saved, owner);
  const deletes = (now.rules.get('INPUT') ?? []).filter((rule) => ownsRule(owner.comment, rule)).map((rule) => `-D INPUT ${rule}`);
  return [...head, ...deletes, ...tail].join('\n') + '\n';
}

/**
 * restoreScript in the two parts that do not depend on the rules in force — before and after the
 * deletion of the owner's INPUT rules — so that the dead-man switch can be written before the change
 * is loaded and still fit whatever is loaded then: its sh script finds the rules to delete at the
 * moment it runs (ownedInputPattern). Every owned chain is declared (which empties it, or makes it)
 * and removed again if the snapshot did not have it.
 */
export function restoreParts(saved: Table, owner: FilterOwnership): { head: string[]; tail: string[] } {
  const before = filterTable(new Map([['filter', saved]]));
  const owns = (rule: string) => ownsRule(owner.comment, rule);
  const head = ['*filter'];
  if (owner.policies) for (const name of ['INPUT', 'FORWARD', 'OUTPUT']) head.push(`:${name} ${before.chains.find((c) => c.name === name)?.policy ?? 'ACCEPT'} [0:0]`);
  const tail: string[] = [];
  for (const chain of owner.chains) {
    tail.push(`:${chain} - [0:0]`);
    if (!before.chains.some((c) => c.name === chain)) tail.push(`-X ${chain}`);
  }
  for (const chain of owner.chains) for (const rule of before.rules.get(chain) ?? []) if (before.chains.some((c) => c.name === chain)) tail.push(`-A ${chain} ${rule}`);
  (before.rules.get('INPUT') ?? []).forEach((rule, index) => {
    if (!owns(rule)) return;
    tail.push(rule.endsWith('-j ACCEPT') ? `-A INPUT ${rule}` : `-I INPUT ${index + 1} ${rule}`);
  });
  tail.push('COMMIT');
  return { head, tail };
}

/** An extended regular expression (grep -E) for the owner's rules in INPUT as iptables-save prints them. */
export function ownedInputPattern(owner: FilterOwnership): string {
  const escaped = owner.comment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `^-A INPUT .*--comment "?${escaped}(:[0-9a-f]+)?"?( |$)`;
}

/** Chains a script jumps to that neither it nor the kernel defines. iptables-restore --test misses
 *  these on the nf_tables backend, so bulwark checks them itself. */
export function undefinedTargets(script: string, current: Table): string[] {
  const defined = new Set([...current.chains.map((c) => c.name), ...[...script.matchAll(/^:(\S+)/gm)].map((m) => m[1]!)]);
  const deleted = new Set([...script.matchAll(/^-X (\S+)/gm)].map((m) => m[1]!));
  const missing = new Set<string>();
  for (const line of script.split('\n')) {
    if (!/^-[AI] /.test(line)) continue;
    for (const target of jumpTargets(line)) if (!STANDARD_TARGETS.has(target) && (!defined.has(target) || deleted.has(target))) missing.add(target);
  }
  return [...missing];
}

/**
 * What the dead-man switch runs to put the step's part back, per family: the fixed parts of the
 * restore script and the pattern of the INPUT rules to delete, found when it runs (restoreParts).
 */
export async function firewallRestoreParts(store: SnapshotStore, manifest: Manifest): Promise<{ family: IpFamily; head: string[]; tail: string[]; ownedInput: string }[]> {
  const parts: { family: IpFamily; head: string[]; tail: string[]; ownedInput: string }[] = [];
  for (const family of FAMILIES) {
    const hash = manifest.firewall?.[family];
    if (hash === undefined) continue;
    const owner = ownershipOf(manifest);
    parts.push({ family, ...restoreParts(filterTable(parseSave(await store.getText(hash))), owner), ownedInput: ownedInputPattern(owner) });
  }
  return parts;
}

/** Puts the step's part of the running firewall back as the snapshot recorded it, both families. */
export async function restoreFirewall(host: Host, store: SnapshotStore, manifest: Manifest): Promise<IpFamily[]> {
  const restored: IpFamily[] = [];
  for (const family of FAMILIES) {
    const hash = manifest.firewall?.[family];
    if (hash === undefined) continue;
    const saved = filterTable(parseSave(await store.getText(hash)));
    const current = filterTable(parseSave(await saveRules(host, family)));
    await loadScript(host, family, restoreScript(current, saved, ownershipOf(manifest)));
    restored.push(family);
  }
  return restored;
}

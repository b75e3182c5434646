// Kernel sets (ipset) of bulwark's: listed, saved into snapshots and put back. Only the sets bulwark
// owns (bulwark-*) are ever touched.
import type { Host } from '../src/host.js';
import type { Manifest, SnapshotStore } from './store.js';

export async function listSets(host: Host): Promise<Set<string>> {
  const result = await host.run({ file: 'ipset', args: ['list', '-n'] }, { reject: false });
  return new Set(result.exitCode === 0 ? result.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : []);
}

/** Number of entries in a set, from its header only (`ipset list -t`): cheap even for 100,000 networks. */
export async function setSize(host: Host, name: string): Promise<number | null> {
  const result = await host.run({ file: 'ipset', args: ['list', '-t', name] }, { reject: false });
  if (result.exitCode !== 0) return null;
  const match = /^Number of entries:\s*(\d+)/m.exec(result.stdout);
  return match ? Number(match[1]) : null;
}

export async function saveSet(host: Host, name: string): Promise<string> {
  return (await host.run({ file: 'ipset', args: ['save', name] })).stdout;
}

export async function loadSetScript(host: Host, script: string): Promise<void> {
  await host.run({ file: 'ipset', args: ['restore'] }, { input: script, timeoutMs: 600_000 });
}

/** Records each named set's content (or its absence) in the manifest (the caller saves it). */
export async function captureSets(host: Host, store: SnapshotStore, manifest: Manifest, names: readonly string[]): Promise<void> {
  const existing = await listSets(host);
  const saved = await Promise.all(names.map(async (name) => [name, existing.has(name) ? await store.putText(await saveSet(host, name)) : null] as const));
  manifest.ipsets = Object.fromEntries(saved);
}

/**
 * Puts the sets back: a set that did not exist is destroyed (its rules are gone by then), one that
 * did is refilled under a temporary name and swapped in.
 */
export async function restoreSets(host: Host, store: SnapshotStore, manifest: Manifest): Promise<string[]> {
  const plan = await setRestorePlan(await listSets(host), store, manifest);
  for (const name of plan.destroyFirst) await host.run({ file: 'ipset', args: ['destroy', name] });
  for (const script of plan.scripts) await loadSetScript(host, script);
  return plan.restored;
}

/**
 * What putting the sets back takes, given the sets that exist now: sets to destroy (they did not
 * exist before), and `ipset restore` scripts that refill the others under a temporary name and swap
 * them in. Shared by the rollback and the dead-man switch's sh script.
 */
export async function setRestorePlan(existing: ReadonlySet<string>, store: SnapshotStore, manifest: Manifest): Promise<{ destroyFirst: string[]; scripts: string[]; restored: string[] }> {
  const plan = { destroyFirst: [] as string[], scripts: [] as string[], restored: [] as string[] };
  for (const [name, hash] of Object.entries(manifest.ipsets ?? {})) {
    if (hash === null) {
      if (existing.has(name)) plan.destroyFirst.push(name);
      if (existing.has(`${name}-new`)) plan.destroyFirst.push(`${name}-new`);
      plan.restored.push(`set ${name} (removed)`);
      continue;
    }
    const saved = await store.getText(hash);
    const temporary = `${name}-restore`;
    const body = saved
      .split('\n')
      .filter((line) => line.startsWith('create ') || line.startsWith('add '))
      .map((line) => line.replace(/^(create|add) (\S+)/, (_m, verb: string) => `${verb} ${existing.has(name) ? temporary : name}`));
    plan.scripts.push([...(existing.has(temporary) ? [`destroy ${temporary}`] : []), ...body, ...(existing.has(name) ? [`swap ${temporary} ${name}`, `destroy ${temporary}`] : [])].join('\n') + '\n');
    plan.restored.push(`set ${name}`);
  }
  return plan;
}

/**
 * The sets' part of the dead-man switch, fit for whatever the box has when it runs (it is written
 * before the change is loaded): the temporary sets a load may have left are destroyed first
 * (`ipset destroy` of a set that is not there just fails, quietly), the sets that existed are
 * refilled under a temporary name and swapped in, the others destroyed once the rules are gone.
 */
export async function switchSetPlan(store: SnapshotStore, manifest: Manifest): Promise<{ clear: string[]; restore: string; destroy: string[] }> {
  const saved = Object.entries(manifest.ipsets ?? {});
  const existed = new Set(saved.filter(([, hash]) => hash !== null).map(([name]) => name));
  const plan = await setRestorePlan(existed, store, manifest);
  return {
    clear: saved.flatMap(([name]) => (existed.has(name) ? [`${name}-restore`, `${name}-new`] : [`${name}-new`])),
    restore: plan.scripts.join(''),
    destroy: saved.filter(([name]) => !existed.has(name)).map(([name]) => name),
  };
}

// Step `geoblock`: let SIP (and, if chosen, SSH) in only from the countries the customers are in —
// or keep chosen countries out. Kernel sets hold the networks; one rule per protected port looks the
// source up. Guarded by the dead-man switch like the firewall.
import type { Change, FileChange, IpFamily } from '../../src/change.js';
import { FAMILIES, saveRules } from '../../snapshots/netfilter.js';
import { createHash } from 'node:crypto';
import { listSets, saveSet, setSize } from '../../snapshots/ipset.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { aggregate, formatCidr, type Range } from './cidr.js';
import type { CountryRanges } from './csv.js';
import { currentFilter, detectFirewall, type FirewallFacts } from '../firewall/detect.js';
import { persistable } from '../firewall/index.js';
import { parseSave, renderTable } from '../../src/iptables-save.js';
import { ageInDays, ATTRIBUTION, dataSource, loadIndex, STALE_AFTER_DAYS, type DataSource } from './source.js';
import { GEO_OWNERSHIP, geoApplied, geoApplyScript, geoChainRules, geoFingerprint, loadingName, predictGeoTable, SET_NAMES, setScript, setSizing, type GeoDesign } from './rules.js';
import { thousands } from '../../src/output.js';
import { compileIndexText, countryAddresses } from './compile.js';

export interface GeoblockAnswers {
  mode: 'allow' | 'deny';
  countries: string[];
  ports: { port: number | string; proto: 'tcp' | 'udp' }[];
}

export interface GeoFacts {
  readonly firewall: FirewallFacts;
  readonly source: DataSource;
  readonly ageDays: number | null;
  readonly ipsetAvailable: boolean;
  readonly sets: ReadonlySet<string>;
  /** Entries in bulwark's sets now (their content is vouched for by the rules' fingerprint). */
  readonly setSizes: Partial<Record<IpFamily, number>>;
  /** The chosen countries compiled into set entries, once the answers are known (see `prepare`). */
  compiled: Compiled | null;
  readonly stateDir: string;
  readonly trustedSources: readonly string[];
  /** Where kernel sets are saved for the boot, and whether something loads them. */
  readonly setsFile: { readonly path: string; readonly current: string | null; readonly loader: string; readonly installed: boolean };
}

const PORT_LABEL = (p: { port: number | string; proto: string }) => `${p.proto}/${p.port}`;

function design(facts: GeoFacts, answers: GeoblockAnswers): GeoDesign {
  const exempt = [...facts.trustedSources];
  if (facts.firewall.admin) exempt.push(facts.firewall.admin.address);
  return { mode: answers.mode, ports: answers.ports.map((p) => ({ proto: p.proto, port: String(p.port) })), exempt };
}

/** The networks of each family's set: the chosen countries, merged and cut into minimal CIDRs. */
export function setEntries(ranges: CountryRanges, countries: readonly string[], family: IpFamily): string[] {
  const byCountry = family === 'ipv4' ? ranges.ipv4 : ranges.ipv6;
  // concat of whole lists: far cheaper than flatMap over "all but one country" (~250 lists).
  const all = ([] as Range[]).concat(...countries.map((code) => byCountry.get(code) ?? []));
  return aggregate(all, family).map((cidr) => formatCidr(cidr, family));
}

export const geoblockStep: Step<GeoFacts, GeoblockAnswers> = {
  id: 'geoblock',
  title: 'Geo-blocking',
  guarded: true,
  why: [
    'If all your customers and trunks are in a few countries, nobody elsewhere has any business sending SIP to this server. Most scanning and toll-fraud attempts come from far away: allowing only your countries makes them disappear.',
    'bulwark keeps the countries\' networks in kernel sets, so the check costs the same for one network as for a hundred thousand, and loading them takes seconds, not minutes. Your own address, your trusted networks and the LAN are never blocked, and replies to the calls this server makes abroad (a SIP trunk) keep working.',
    'Like the firewall, it is applied under the dead-man switch: confirm from a new SSH connection, or it undoes itself.',
    ATTRIBUTION,
  ],

  async detect(ctx: StepContext): Promise<GeoFacts> {
    const ipsetAvailable = ctx.host.live ? (await ctx.host.findProgram('ipset')) !== null : true;
    const readSets = async () => {
      const sets = ctx.host.live && ipsetAvailable ? await listSets(ctx.host) : new Set<string>();
      const sizes = await Promise.all(FAMILIES.map(async (family) => [family, sets.has(SET_NAMES[family]) ? ((await setSize(ctx.host, SET_NAMES[family])) ?? undefined) : undefined] as const));
      return { sets, setSizes: Object.fromEntries(sizes.filter(([, size]) => size !== undefined)) as Partial<Record<IpFamily, number>> };
    };
    const [firewall, source, { sets, setSizes }] = await Promise.all([detectFirewall(ctx.host, ctx.system, ctx.sshConnection), dataSource(ctx.stateDir, ctx.boxState), readSets()]);
    const debian = ctx.system.distro.family !== 'rhel';
    const setsPath = debian ? '/etc/iptables/ipsets' : '/etc/sysconfig/ipset';
    const installed = debian ? await ctx.host.exists('/usr/share/netfilter-persistent/plugins.d/10-ipset') : (await ctx.host.exists('/etc/init.d/ipset')) || (await ctx.host.exists('/usr/lib/systemd/system/ipset.service'));
    return {
      firewall,
      source,
      ageDays: ageInDays(source),
      ipsetAvailable,
      sets,
      setSizes,
      compiled: null,
      stateDir: ctx.stateDir,
      trustedSources: ctx.trustedSources ?? [],
      setsFile: { path: setsPath, current: await ctx.host.readText(setsPath), loader: debian ? 'ipset-persistent (netfilter-persistent\'s ipset plugin)' : 'ipset-service', installed },
    };
  },

  async prefetch(answers: GeoblockAnswers, ctx: StepContext): Promise<Compiled> {
    return compile(await dataSource(ctx.stateDir, ctx.boxState), answers.countries, ctx.stateDir, { ranges: await kernelTakesRanges(ctx) });
  },

  async prepare(facts: GeoFacts, answers: GeoblockAnswers, ctx: StepContext, prefetched?: Promise<unknown>): Promise<void> {
    // The compile started alongside detect is used when it read the data detect found.
    const early = (await prefetched) as Compiled | undefined;
    facts.compiled = early && early.origin === facts.source.origin && early.date === facts.source.date ? early : await compile(facts.source, answers.countries, facts.stateDir, { ranges: await kernelTakesRanges(ctx) });
  },

  describe(facts: GeoFacts): FactRow[] {
    const rows: FactRow[] = [
      { label: 'Country data', value: `${facts.source.origin}, from ${facts.source.date}`, tone: facts.ageDays !== null && facts.ageDays > STALE_AFTER_DAYS ? 'bad' : 'good' },
    ];
    if (facts.ageDays !== null && facts.ageDays > STALE_AFTER_DAYS) rows.push({ label: 'Warning', value: `the data is ${facts.ageDays} days old (over ${STALE_AFTER_DAYS}): refresh it with \`bulwark geoblock update --from FILE|URL\``, tone: 'bad' });
    rows.push({ label: 'Kernel sets', value: facts.ipsetAvailable ? `ipset available${facts.sets.size ? `; bulwark's sets now: ${[...facts.sets].filter((s) => s.startsWith('bulwark-')).join(', ') || 'none'}` : ''}` : 'ipset is not installed (apt-get/yum install ipset)', tone: facts.ipsetAvailable ? 'neutral' : 'bad' });
    if (facts.firewall.admin) rows.push({ label: 'Always allowed', value: `your address ${facts.firewall.admin.address}, trusted sources, loopback and the LAN (10/8, 172.16/12, 192.168/16, link-local, fc00::/7)`, tone: 'good' });
    if (!facts.setsFile.installed) rows.push({ label: 'At boot', value: `${facts.setsFile.loader} is not installed: the sets would not come back after a reboot`, tone: 'bad' });
    for (const row of facts.compiled?.summary ?? []) {
      rows.push({ label: row.country, value: `IPv4 ${row.ipv4Ranges} ranges${row.ipv4Addresses ? ` (${thousands(BigInt(row.ipv4Addresses))} addresses)` : ''}, IPv6 ${row.ipv6Ranges} ranges`, tone: 'neutral' });
    }
    return rows;
  },

  defaults(facts: GeoFacts): GeoblockAnswers {
    const sip = facts.firewall.sipPorts.length > 0 ? facts.firewall.sipPorts : [{ proto: 'udp' as const, port: '5060' }];
    return { mode: 'allow', countries: [], ports: sip.map((p) => ({ proto: p.proto, port: /^\d+$/.test(p.port) ? Number(p.port) : p.port })) };
  },

  questions(facts: GeoFacts): Question[] {
    const ports = [...facts.firewall.sipPorts, ...facts.firewall.suggestions.map((s) => s.rule).filter((r) => !r.port.includes('-'))];
    const unique = [...new Map(ports.map((p) => [`${p.proto}/${p.port}`, p])).values()];
    return [
      { kind: 'choice', key: 'mode', prompt: 'How should countries be used?', choices: [{ value: 'allow', label: 'allow: only the countries I list may reach the ports (recommended)' }, { value: 'deny', label: 'deny: the countries I list may not reach the ports' }] },
      { kind: 'text', key: 'countries', prompt: 'Which countries? Two-letter codes separated by spaces (for example: GB IE).', help: 'Your current address is always allowed, whatever you choose.' },
      { kind: 'multiselect', key: 'ports', prompt: 'Which ports should the countries apply to?', help: 'SIP is where the scanners and fraud attempts come. SSH too if you only ever log in from these countries.', choices: unique.map((p) => ({ value: `${p.proto}/${p.port}`, label: `${p.proto}/${p.port}` })) },
    ];
  },

  choiceOf(answers: GeoblockAnswers, question: Question): string[] {
    return question.key === 'ports' ? answers.ports.map(PORT_LABEL) : [];
  },

  withChoice(answers: GeoblockAnswers, question: Question, values: string[]): GeoblockAnswers {
    if (question.key !== 'ports') return answers;
    return { ...answers, ports: values.map((v) => ({ proto: v.split('/')[0] as 'tcp' | 'udp', port: /^\d+$/.test(v.split('/')[1]!) ? Number(v.split('/')[1]) : v.split('/')[1]! })) };
  },

  withText(answers: GeoblockAnswers, question: Question, text: string): GeoblockAnswers | string {
    if (question.key !== 'countries') return answers;
    const codes = text.toUpperCase().split(/[\s,;]+/).filter(Boolean);
    if (codes.length === 0) return 'Give at least one country code, such as GB.';
    const bad = codes.filter((c) => !/^[A-Z]{2}$/.test(c));
    if (bad.length) return `Not a two-letter country code: ${bad.join(', ')}.`;
    return { ...answers, countries: [...new Set(codes)] };
  },

  plan(facts: GeoFacts, answers: GeoblockAnswers): Change[] {
    // Without countries there is nothing to block: the wizard asks for them; `apply` needs them in
    // the answers file.
    if (answers.countries.length === 0) return [];
    if (!facts.compiled) throw new Error('bug: geoblock planned before its countries were compiled (prepare)');
    const chosen = design(facts, answers);
    const changes: Change[] = [];
    const sets = facts.compiled.sets;
    // The jump's fingerprint covers the rules AND the sets' content (compile's digest): finding it
    // in INPUT, with sets of the right size, means this exact plan is in place (no need to read
    // 100,000 networks back).
    const setDigest = facts.compiled.digest;
    const fingerprints = Object.fromEntries(FAMILIES.map((family) => [family, geoFingerprint(geoChainRules(chosen, family), setDigest)])) as Record<IpFamily, string>;
    const inPlace = FAMILIES.every((family) => geoApplied(currentFilter(facts.firewall, family), fingerprints[family]) && facts.setSizes[family] === sets[family].count);
    for (const family of FAMILIES) {
      const { count, loadAdds } = sets[family];
      const { maxelem } = setSizing(count);
      if (facts.firewall.live && !inPlace) {
        changes.push({ kind: 'ipset', step: 'geoblock', family, name: SET_NAMES[family], entries: count, maxelem, script: setScript(SET_NAMES[family], family, count, loadAdds, facts.sets), reason: `${answers.countries.join(', ')} (${family === 'ipv4' ? 'IPv4' : 'IPv6'})` });
      }
    }
    const predicted: Partial<Record<IpFamily, ReturnType<typeof parseSave>>> = {};
    for (const family of FAMILIES) {
      const rules = geoChainRules(chosen, family);
      const fingerprint = fingerprints[family];
      const current = currentFilter(facts.firewall, family);
      const table = predictGeoTable(current, rules, fingerprint);
      const ruleset = parseSave(facts.firewall.current[family]);
      ruleset.set('filter', table);
      predicted[family] = ruleset;
      if (facts.firewall.live && !inPlace) {
        changes.push({ kind: 'firewall', step: 'geoblock', family, before: renderTable(current), after: renderTable(table), script: geoApplyScript(current, rules, fingerprint), owns: GEO_OWNERSHIP, reason: `${family === 'ipv4' ? 'IPv4' : 'IPv6'}: ${answers.mode === 'allow' ? 'only' : 'not'} ${answers.countries.join(', ')} on ${answers.ports.map(PORT_LABEL).join(', ')}` });
      }
    }
    if (facts.firewall.live && changes.length === 0) return changes;
    // The boot files: the rules (with bulwark's geo chain) and the sets they refer to.
    for (const target of facts.firewall.persist) {
      const content = persistable(predicted[target.family]!);
      if (target.current === content) continue;
      changes.push({ kind: 'file', step: 'geoblock', path: target.path, before: target.current, after: content, mode: 0o600, afterConfirm: facts.firewall.live, reason: `the rules loaded at boot (${target.family === 'ipv4' ? 'IPv4' : 'IPv6'})` } satisfies FileChange);
    }
    const setsFile = setsFileContent(facts.setsFile.current, FAMILIES.map((family) => ({ family, count: sets[family].count, adds: sets[family].bootAdds })));
    if (setsFile !== facts.setsFile.current) {
      const counts = FAMILIES.map((f) => `${thousands(sets[f].count)} ${f === 'ipv4' ? 'IPv4' : 'IPv6'}`).join(' and ');
      changes.push({ kind: 'file', step: 'geoblock', path: facts.setsFile.path, before: facts.setsFile.current, after: setsFile, mode: 0o600, afterConfirm: facts.firewall.live, summary: `sets ${Object.values(SET_NAMES).join(', ')}: ${counts} networks, in \`ipset save\` form`, reason: `the country sets loaded at boot by ${facts.setsFile.loader}` });
    }
    return changes;
  },

  planNotes(facts: GeoFacts, answers: GeoblockAnswers): string[] {
    if (!facts.compiled || answers.countries.length === 0) return [];
    const notes = facts.compiled.summary.map(
      (row) => `${row.country}: ${thousands(row.ipv4Ranges)} IPv4 ranges${row.ipv4Addresses ? ` (${thousands(BigInt(row.ipv4Addresses))} addresses)` : ''}, ${thousands(row.ipv6Ranges)} IPv6 ranges`,
    );
    for (const family of FAMILIES) {
      const entries = facts.compiled.sets[family].count;
      const { maxelem } = setSizing(entries);
      notes.push(`set ${SET_NAMES[family]}: ${thousands(entries)} networks after merging, limit ${thousands(maxelem)} (${Math.round((entries / maxelem) * 100)}% full)`);
    }
    notes.push(`${answers.mode === 'allow' ? 'Only these countries' : 'All but these countries'} may reach ${answers.ports.map(PORT_LABEL).join(', ')}. ${ATTRIBUTION}`);
    const sshProtected = answers.ports.some((p) => p.proto === 'tcp' && facts.firewall.sshPorts.includes(Number(p.port)));
    if (sshProtected) {
      notes.push(`SSH is geo-blocked too: only ${facts.firewall.admin ? `this connection's address (${facts.firewall.admin.address})` : 'the LAN and trusted sources'} is exempt. From any other address — your other IP family, home, a trip abroad — you reach SSH only from the countries allowed. Add the networks you log in from to the firewall's trustedSources.`);
    }
    return notes;
  },

  checkAnswers(facts: GeoFacts, answers: GeoblockAnswers): string[] {
    // Read after prepare: a code with no network in either family is one the data does not know.
    if (!facts.compiled) return [];
    const known = new Set(facts.compiled.summary.filter((row) => row.ipv4Ranges + row.ipv6Ranges > 0).map((row) => row.country));
    const unknown = answers.countries.filter((c) => !known.has(c));
    return unknown.map((code) => `geoblock.countries: unknown country code "${code}" (accepted: ISO 3166 two-letter codes the country data has networks for, such as GB, IE, US)`);
  },

  preflight(facts: GeoFacts, answers: GeoblockAnswers): string[] {
    const problems: string[] = [];
    if (answers.countries.length === 0) return problems;
    if (!facts.ipsetAvailable) problems.push('ipset is not installed: install it first (apt-get install ipset, or yum install ipset).');
    if (facts.firewall.live && !facts.setsFile.installed) problems.push(`${facts.setsFile.loader} is not installed: after a reboot the rules would refer to sets that do not exist. Install it first (Debian: apt-get install ipset-persistent; RHEL: yum install ipset-service).`);
    for (const manager of facts.firewall.managers.filter((m) => m.effect === 'refuse')) problems.push(`${manager.name} is active: ${manager.detail}.`);
    return problems;
  },

  async confirmedFiles(ctx: StepContext, announced: readonly FileChange[]): Promise<FileChange[]> {
    const facts = await geoblockStep.detect(ctx);
    return Promise.all(
      announced.map(async (change) => {
        if (change.path === facts.setsFile.path) {
          const live = await Promise.all(FAMILIES.filter((f) => facts.sets.has(SET_NAMES[f])).map((f) => saveSet(ctx.host, SET_NAMES[f])));
          return { ...change, before: facts.setsFile.current, after: mergeSetsFile(facts.setsFile.current, live.join('')) };
        }
        const target = facts.firewall.persist.find((p) => p.path === change.path);
        if (!target) throw new Error(`bug: ${change.path} is not a file bulwark persists rules to`);
        return { ...change, before: target.current, after: persistable(parseSave(await saveRules(ctx.host, target.family))) };
      }),
    );
  },

  findings(facts: GeoFacts): Finding[] {
    const findings: Finding[] = [];
    const applied = FAMILIES.some((f) => facts.sets.has(SET_NAMES[f]));
    if (!applied) findings.push({ severity: 'low', title: 'SIP is open to every country', why: 'Most SIP scanning and toll fraud comes from countries a VoIP operator has no customers in.', fix: 'Allow SIP only from the countries your customers and trunks are in.' });
    if (facts.ageDays !== null && facts.ageDays > STALE_AFTER_DAYS) findings.push({ severity: 'medium', title: `The country data is ${facts.ageDays} days old`, why: 'Networks change hands; old data blocks new customers and lets some attackers through.', fix: 'bulwark geoblock update --from FILE|URL' });
    return findings;
  },

  async verify(ctx: StepContext, answers: GeoblockAnswers, changes: readonly Change[] = []): Promise<VerifyCheck[]> {
    if (!ctx.host.live) {
      const facts = await geoblockStep.detect(ctx);
      await geoblockStep.prepare!(facts, answers, ctx);
      return [{ label: 'the boot files hold the geo rules', ok: geoblockStep.plan(facts, answers).length === 0 }];
    }
    // Checks what was just loaded, without re-reading and re-aggregating the country data. The
    // reads are independent: at once.
    const checks = await Promise.all(
      changes.map(async (change): Promise<VerifyCheck | null> => {
        if (change.kind === 'ipset') {
          const size = await setSize(ctx.host, change.name);
          return { label: `${change.name} holds ${thousands(change.entries)} networks`, ok: size === change.entries, detail: size === change.entries ? undefined : `it holds ${size ?? 'nothing'}` };
        }
        if (change.kind === 'firewall') {
          const fingerprint = /bulwark-geo:([0-9a-f]+)/.exec(change.script)?.[1] ?? '';
          const table = parseSave(await saveRules(ctx.host, change.family)).get('filter');
          const ok = table !== undefined && geoApplied(table, fingerprint);
          return { label: `${change.family === 'ipv4' ? 'IPv4' : 'IPv6'}: BULWARK-GEO is in place, jumped to from INPUT`, ok };
        }
        return null;
      }),
    );
    return checks.filter((check): check is VerifyCheck => check !== null);
  },
};

/** The chosen countries, ready for the kernel: per-country figures and each family's set entries. */
export interface Compiled {
  /** The data it was compiled from (DataSource's origin and date). */
  readonly origin: string;
  readonly date: string;
  readonly summary: { country: string; ipv4Ranges: number; ipv4Addresses: string; ipv6Ranges: number; ipv6Addresses: string }[];
  /**
   * Per family: how many networks the set holds, and its `add` lines (one per network, each ending
   * in a newline), for the name it is filled under (loadAdds) and for its own name (bootAdds, the
   * boot file's form).
   */
  readonly sets: Record<IpFamily, { readonly count: number; readonly loadAdds: string; readonly bootAdds: string }>;
  /** The sets' content, whatever the form of their lines: IPv4's merged ranges, IPv6's networks. */
  readonly digest: string;
}

/**
 * The chosen countries merged into minimal CIDRs, on the data's index (compile.ts), written straight
 * into the set's `add` lines: tens of milliseconds even for "all but one country". The address
 * counts, which merge each country's ranges on their own, are worked out for the few countries a
 * table shows (up to 20), not for "all but one" (a figure nobody reads).
 */
/**
 * Does the running kernel take IPv4 ranges into a hash:net set? Revision 1 of the type (Linux 3.1;
 * CentOS 7's 3.10, Debian's). CentOS 6's 2.6.32 may carry an older backport: it gets CIDRs, as
 * does a --root (nothing is loaded there).
 */
async function kernelTakesRanges(ctx: StepContext): Promise<boolean> {
  if (!ctx.host.live) return false;
  const release = /^(\d+)\.(\d+)/.exec((await ctx.host.readText('/proc/sys/kernel/osrelease')) ?? '');
  return release !== null && (Number(release[1]) > 3 || (Number(release[1]) === 3 && Number(release[2]) >= 1));
}

export async function compile(source: DataSource, countries: readonly string[], stateDir: string, options: { ranges: boolean; onProgress?: (message: string) => void }): Promise<Compiled> {
  const sorted = [...new Set(countries)].sort();
  const empty = { count: 0, loadAdds: '', bootAdds: '' };
  const names = { ipv4: [loadingName(SET_NAMES.ipv4), SET_NAMES.ipv4], ipv6: [loadingName(SET_NAMES.ipv6), SET_NAMES.ipv6] };
  // No country asked (the default): nothing to compile, and the 10 MiB index is not read.
  if (sorted.length === 0) return { origin: source.origin, date: source.date, summary: [], sets: { ipv4: empty, ipv6: empty }, digest: setsDigest(new Uint32Array(0), '') };
  const index = await loadIndex(source, stateDir, options.onProgress);
  // IPv4 is loaded as ranges where the kernel takes them: `ipset restore` parses a third of the
  // lines, about half its time. The boot file's lines are then not used either (on a running box it
  // is written, once the change is confirmed, from what `ipset save` prints): ranges there too, no
  // CIDR text made. Elsewhere (--root, an old kernel) CIDRs, as `ipset save` has them.
  const ipv4RangesFor = new Set(options.ranges ? names.ipv4 : []);
  const { sets, lines } = await compileIndexText(index, new Set(sorted), names, { ipv4RangesFor });
  const summary = sorted.map((country) => {
    const counted = lines.get(country) ?? { ipv4: 0, ipv6: 0 };
    const addresses = sorted.length <= 20 ? countryAddresses(index, country) : null;
    return { country, ipv4Ranges: counted.ipv4, ipv4Addresses: addresses?.ipv4.toString() ?? '', ipv6Ranges: counted.ipv6, ipv6Addresses: addresses?.ipv6.toString() ?? '' };
  });
  // One flat one-byte string each (latin1: the text is ASCII): a copy, no per-line work.
  const texts = (family: IpFamily) => ({ count: sets[family].count, loadAdds: sets[family].texts[0]!.toString('latin1'), bootAdds: sets[family].texts[1]!.toString('latin1') });
  return { origin: source.origin, date: source.date, summary, sets: { ipv4: texts('ipv4'), ipv6: texts('ipv6') }, digest: setsDigest(sets.ipv4.ranges, sets.ipv6.texts[1]!) };
}

/** The digest of the sets' content: the same for the same networks, whichever form their lines take. */
function setsDigest(ipv4Ranges: Uint32Array, ipv6Adds: Uint8Array | string): string {
  // Big-endian words: the same digest on any machine that compiles the plan.
  const words = Buffer.alloc(ipv4Ranges.length * 4);
  ipv4Ranges.forEach((word, i) => words.writeUInt32BE(word, i * 4));
  return createHash('sha256').update('ipv4\n').update(words).update('\nipv6\n').update(ipv6Adds).digest('hex');
}

/** The boot file of sets: other sets kept as they are, bulwark's replaced. */
function setsFileContent(current: string | null, sets: { family: IpFamily; count: number; adds: string }[]): string {
  let body = '';
  for (const { family, count, adds } of sets) {
    const { hashsize, maxelem } = setSizing(count);
    body += `create ${SET_NAMES[family]} hash:net family ${family === 'ipv4' ? 'inet' : 'inet6'} hashsize ${hashsize} maxelem ${maxelem}\n` + adds;
  }
  return mergeSetsFile(current, body);
}

function mergeSetsFile(current: string | null, ours: string): string {
  const others = (current ?? '').split('\n').filter((line) => line.trim() !== '' && !/^(create|add) bulwark-/.test(line));
  return (others.length ? others.join('\n') + '\n' : '') + ours;
}

// Step `geoblock`: let SIP (and, if chosen, SSH) in only from the countries the customers are in —
// or keep chosen countries out. Kernel sets hold the networks; one rule per protected port looks the
// source up. Guarded by the dead-man switch like the firewall.
import type { Change, FileChange, IpFamily } from '../../src/change.js';
import { FAMILIES, saveRules } from '../../snapshots/netfilter.js';
import { listSets, saveSet } from '../../snapshots/ipset.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { aggregate, formatCidr, type Range } from './cidr.js';
import { summarize, type CountryRanges } from './csv.js';
import { currentFilter, detectFirewall, type FirewallFacts } from '../firewall/detect.js';
import { persistable } from '../firewall/index.js';
import { parseSave, renderTable } from '../firewall/iptables-save.js';
import { ageInDays, ATTRIBUTION, dataSource, knownCountries, loadCountries, STALE_AFTER_DAYS, type DataSource } from './source.js';
import { geoApplied, geoApplyScript, geoChainRules, geoFingerprint, predictGeoTable, SET_NAMES, setScript, setSizing, type GeoDesign } from './rules.js';

export interface GeoblockAnswers {
  mode: 'allow' | 'deny';
  countries: string[];
  ports: { port: number | string; proto: 'tcp' | 'udp' }[];
}

export interface GeoFacts {
  readonly firewall: FirewallFacts;
  readonly source: DataSource;
  readonly ageDays: number | null;
  readonly known: ReadonlySet<string>;
  readonly ipsetAvailable: boolean;
  readonly sets: ReadonlySet<string>;
  /** `ipset save` of bulwark's sets now, to tell whether their content must change. */
  readonly setContent: Partial<Record<IpFamily, string>>;
  /** The ranges of the countries asked for, read when the answers are known (see `prepare`). */
  ranges: CountryRanges | null;
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
    const firewall = await detectFirewall(ctx.host, ctx.system, ctx.sshConnection);
    const source = await dataSource(ctx.stateDir);
    const ipsetAvailable = ctx.host.live ? (await ctx.host.findProgram('ipset')) !== null : true;
    const sets = ctx.host.live && ipsetAvailable ? await listSets(ctx.host) : new Set<string>();
    const setContent: Partial<Record<IpFamily, string>> = {};
    for (const family of FAMILIES) if (sets.has(SET_NAMES[family])) setContent[family] = await saveSet(ctx.host, SET_NAMES[family]);
    const debian = ctx.system.distro.family !== 'rhel';
    const setsPath = debian ? '/etc/iptables/ipsets' : '/etc/sysconfig/ipset';
    const installed = debian ? await ctx.host.exists('/usr/share/netfilter-persistent/plugins.d/10-ipset') : (await ctx.host.exists('/etc/init.d/ipset')) || (await ctx.host.exists('/usr/lib/systemd/system/ipset.service'));
    return {
      firewall,
      source,
      ageDays: ageInDays(source),
      known: await knownCountries(source),
      ipsetAvailable,
      sets,
      setContent,
      ranges: null,
      trustedSources: ctx.trustedSources ?? [],
      setsFile: { path: setsPath, current: await ctx.host.readText(setsPath), loader: debian ? 'ipset-persistent (netfilter-persistent\'s ipset plugin)' : 'ipset-service', installed },
    };
  },

  async prepare(facts: GeoFacts, answers: GeoblockAnswers): Promise<void> {
    facts.ranges = await loadCountries(facts.source, new Set(answers.countries));
  },

  describe(facts: GeoFacts): FactRow[] {
    const rows: FactRow[] = [
      { label: 'Country data', value: `${facts.source.origin}, from ${facts.source.date}`, tone: facts.ageDays !== null && facts.ageDays > STALE_AFTER_DAYS ? 'bad' : 'good' },
    ];
    if (facts.ageDays !== null && facts.ageDays > STALE_AFTER_DAYS) rows.push({ label: 'Warning', value: `the data is ${facts.ageDays} days old (over ${STALE_AFTER_DAYS}): refresh it with \`bulwark geoblock update --from FILE|URL\``, tone: 'bad' });
    rows.push({ label: 'Kernel sets', value: facts.ipsetAvailable ? `ipset available${facts.sets.size ? `; bulwark's sets now: ${[...facts.sets].filter((s) => s.startsWith('bulwark-')).join(', ') || 'none'}` : ''}` : 'ipset is not installed (apt-get/yum install ipset)', tone: facts.ipsetAvailable ? 'neutral' : 'bad' });
    if (facts.firewall.admin) rows.push({ label: 'Always allowed', value: `your address ${facts.firewall.admin.address}, trusted sources, loopback and the LAN (10/8, 172.16/12, 192.168/16, link-local, fc00::/7)`, tone: 'good' });
    if (!facts.setsFile.installed) rows.push({ label: 'At boot', value: `${facts.setsFile.loader} is not installed: the sets would not come back after a reboot`, tone: 'bad' });
    if (facts.ranges) {
      for (const row of summarize(facts.ranges, [...facts.ranges.ipv4.keys(), ...facts.ranges.ipv6.keys()].filter((v, i, a) => a.indexOf(v) === i))) {
        rows.push({ label: row.country, value: `IPv4 ${row.ipv4Ranges} ranges (${row.ipv4Addresses.toLocaleString('en')} addresses), IPv6 ${row.ipv6Ranges} ranges`, tone: 'neutral' });
      }
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
    if (!facts.ranges) throw new Error('bug: geoblock planned before its countries were read (prepare)');
    const chosen = design(facts, answers);
    const changes: Change[] = [];
    const digests: string[] = [];
    const entries: Partial<Record<IpFamily, string[]>> = {};
    for (const family of FAMILIES) {
      const list = setEntries(facts.ranges, answers.countries, family);
      entries[family] = list;
      digests.push(`${family}:${list.join(',')}`);
      const { maxelem } = setSizing(list.length);
      if (facts.firewall.live && !sameSet(facts.setContent[family], list)) {
        changes.push({ kind: 'ipset', step: 'geoblock', family, name: SET_NAMES[family], entries: list.length, maxelem, script: setScript(SET_NAMES[family], family, list, facts.sets), reason: `${answers.countries.join(', ')} (${family === 'ipv4' ? 'IPv4' : 'IPv6'})` });
      }
    }
    const predicted: Partial<Record<IpFamily, ReturnType<typeof parseSave>>> = {};
    for (const family of FAMILIES) {
      const rules = geoChainRules(chosen, family);
      const fingerprint = geoFingerprint(rules, digests.join('|'));
      const current = currentFilter(facts.firewall, family);
      const table = predictGeoTable(current, rules, fingerprint);
      const ruleset = parseSave(facts.firewall.current[family]);
      ruleset.set('filter', table);
      predicted[family] = ruleset;
      if (facts.firewall.live && (!geoApplied(current, fingerprint) || changes.some((c) => c.kind === 'ipset'))) {
        changes.push({ kind: 'firewall', step: 'geoblock', family, before: renderTable(current), after: renderTable(table), script: geoApplyScript(current, rules, fingerprint), reason: `${family === 'ipv4' ? 'IPv4' : 'IPv6'}: ${answers.mode === 'allow' ? 'only' : 'not'} ${answers.countries.join(', ')} on ${answers.ports.map(PORT_LABEL).join(', ')}` });
      }
    }
    if (facts.firewall.live && changes.length === 0) return changes;
    // The boot files: the rules (with bulwark's geo chain) and the sets they refer to.
    for (const target of facts.firewall.persist) {
      const content = persistable(predicted[target.family]!);
      if (target.current === content) continue;
      changes.push({ kind: 'file', step: 'geoblock', path: target.path, before: target.current, after: content, mode: 0o600, afterConfirm: facts.firewall.live, reason: `the rules loaded at boot (${target.family === 'ipv4' ? 'IPv4' : 'IPv6'})` } satisfies FileChange);
    }
    const sets = setsFileContent(facts.setsFile.current, FAMILIES.map((family) => ({ family, entries: entries[family]! })));
    if (sets !== facts.setsFile.current) {
      const counts = FAMILIES.map((f) => `${entries[f]!.length.toLocaleString('en')} ${f === 'ipv4' ? 'IPv4' : 'IPv6'}`).join(' and ');
      changes.push({ kind: 'file', step: 'geoblock', path: facts.setsFile.path, before: facts.setsFile.current, after: sets, mode: 0o600, afterConfirm: facts.firewall.live, summary: `sets ${Object.values(SET_NAMES).join(', ')}: ${counts} networks, in \`ipset save\` form`, reason: `the country sets loaded at boot by ${facts.setsFile.loader}` });
    }
    return changes;
  },

  planNotes(facts: GeoFacts, answers: GeoblockAnswers): string[] {
    if (!facts.ranges || answers.countries.length === 0) return [];
    const notes = summarize(facts.ranges, answers.countries).map(
      (row) => `${row.country}: ${row.ipv4Ranges.toLocaleString('en')} IPv4 ranges (${row.ipv4Addresses.toLocaleString('en')} addresses), ${row.ipv6Ranges.toLocaleString('en')} IPv6 ranges`,
    );
    for (const family of FAMILIES) {
      const entries = setEntries(facts.ranges, answers.countries, family).length;
      const { maxelem } = setSizing(entries);
      notes.push(`set ${SET_NAMES[family]}: ${entries.toLocaleString('en')} networks after merging, limit ${maxelem.toLocaleString('en')} (${Math.round((entries / maxelem) * 100)}% full)`);
    }
    notes.push(`${answers.mode === 'allow' ? 'Only these countries' : 'All but these countries'} may reach ${answers.ports.map(PORT_LABEL).join(', ')}. ${ATTRIBUTION}`);
    return notes;
  },

  checkAnswers(facts: GeoFacts, answers: GeoblockAnswers): string[] {
    const unknown = answers.countries.filter((c) => !facts.known.has(c));
    return unknown.map((code) => `geoblock.countries: unknown country code "${code}" (accepted: the ISO 3166 two-letter codes the country data knows, such as ${[...facts.known].filter((c) => ['GB', 'IE', 'US', 'DE', 'FR'].includes(c)).join(', ')})`);
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

  async verify(ctx: StepContext, answers: GeoblockAnswers): Promise<VerifyCheck[]> {
    const facts = await geoblockStep.detect(ctx);
    await geoblockStep.prepare!(facts, answers);
    const checks: VerifyCheck[] = [];
    if (!ctx.host.live) return [{ label: 'the boot files hold the geo rules', ok: geoblockStep.plan(facts, answers).length === 0 }];
    for (const family of FAMILIES) {
      const expected = setEntries(facts.ranges!, answers.countries, family);
      checks.push({ label: `${SET_NAMES[family]} holds ${expected.length.toLocaleString('en')} networks`, ok: sameSet(facts.setContent[family], expected) });
    }
    checks.push({ label: 'BULWARK-GEO is in place for IPv4 and IPv6', ok: geoblockStep.plan(facts, answers).filter((c) => c.kind === 'firewall').length === 0 });
    return checks;
  },
};

/** Does `ipset save` output hold exactly these networks? */
function sameSet(saved: string | undefined, entries: readonly string[]): boolean {
  if (saved === undefined) return false;
  // ipset prints a single address without its /32 (or /128).
  const members = saved
    .split('\n')
    .filter((l) => l.startsWith('add '))
    .map((l) => l.split(' ')[2]!)
    .map((m) => (m.includes('/') ? m : `${m}/${m.includes(':') ? 128 : 32}`));
  if (members.length !== entries.length) return false;
  const want = new Set(entries);
  return members.every((m) => want.has(m));
}

/** The boot file of sets: other sets kept as they are, bulwark's replaced. */
function setsFileContent(current: string | null, sets: { family: IpFamily; entries: string[] }[]): string {
  const body = sets
    .map(({ family, entries }) => {
      const { hashsize, maxelem } = setSizing(entries.length);
      return [`create ${SET_NAMES[family]} hash:net family ${family === 'ipv4' ? 'inet' : 'inet6'} hashsize ${hashsize} maxelem ${maxelem}`, ...entries.map((e) => `add ${SET_NAMES[family]} ${e}`)].join('\n') + '\n';
    })
    .join('');
  return mergeSetsFile(current, body);
}

function mergeSetsFile(current: string | null, ours: string): string {
  const others = (current ?? '').split('\n').filter((line) => line.trim() !== '' && !/^(create|add) bulwark-/.test(line));
  return (others.length ? others.join('\n') + '\n' : '') + ours;
}

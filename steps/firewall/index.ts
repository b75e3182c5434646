// Step `firewall`: block everything, then open only what the box must offer — for IPv4 and IPv6
// alike. Guarded: applied under the dead-man switch, persisted only once the admin proves from a new
// SSH connection that they can still get in.
import type { Change, FileChange, FirewallChange, IpFamily } from '../../src/change.js';
import { FAMILIES } from '../../snapshots/netfilter.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { currentFilter, detectFirewall, type FirewallFacts } from './detect.js';
import { fileContent, planKernel, reversePathFor, settingsToChange } from './kernel.js';
import { BUILTIN_CHAINS, filterTable, parseSave, renderRuleset, renderTable, type Ruleset } from '../../src/iptables-save.js';
import { admits, applyScript, DEFAULT_SIP_LIMIT, FIREWALL_OWNERSHIP, desiredChains, familyOf, isApplied, openSipPorts, portRange, predictTable, SIP_LIMITED_METHODS, type FirewallDesign, type PortRule } from './rules.js';

export interface FirewallAnswers {
  allow: { port: number | string; proto: 'tcp' | 'udp'; from?: string[] }[];
  trustedSources?: string[];
  rateLimit?: boolean;
  /** The per-source SIP request limit: numbers to tune it, `exempt` for trunks bulwark cannot see, false for none. */
  sipLimit?: false | { perSecond?: number; burst?: number; exempt?: string[] };
  /** The network stack's kernel settings (kernel.ts). Default: true; false leaves them as they are. */
  networkSettings?: boolean;
}

export function designOf(facts: FirewallFacts, answers: FirewallAnswers): FirewallDesign {
  const tuned = answers.sipLimit === false ? null : answers.sipLimit ?? {};
  return {
    allow: answers.allow.map((a) => ({ proto: a.proto, port: String(a.port), from: a.from })),
    trustedSources: answers.trustedSources ?? [],
    rateLimit: answers.rateLimit ?? true,
    sshPorts: facts.sshPorts,
    sipPorts: facts.sipPorts,
    sipLimit: tuned === null ? null : { perSecond: tuned.perSecond ?? DEFAULT_SIP_LIMIT.perSecond, burst: tuned.burst ?? DEFAULT_SIP_LIMIT.burst },
    sipExempt: [...facts.trunks.flatMap((t) => t.addresses), ...(tuned?.exempt ?? [])],
    dialect: facts.dialect,
  };
}

const key = (rule: PortRule) => `${rule.proto}/${rule.port}`;

export const firewallStep: Step<FirewallFacts, FirewallAnswers> = {
  id: 'firewall',
  title: 'Default-deny firewall',
  guarded: true,
  why: [
    'Even with only the needed programs listening, a firewall is a second wall: it blocks everything from everywhere, and then opens only the ports this server must offer — SSH for you, the web interfaces, SIP, IAX and the audio (RTP) of calls.',
    'It also slows down attackers: new SSH and SIP connections from one address are rate-limited, and the well-known SIP scanners are dropped by the name they announce. Fewer attempts also means smaller logs, so intrusion detection (the ids step, fail2ban) reads them as fast as they grow instead of falling behind and banning late.',
    'It also sets the network stack\'s kernel settings for a server that routes nothing of its own: no ICMP redirects sent or obeyed, no source-routed packets, SYN cookies against SYN floods, no answers to broadcast pings, impossible ("martian") addresses logged, and a reverse-path filter that drops packets whose source address could not be answered through the interface they came in on. That filter is strict when the server has one way out; with gateways on more than one interface (two uplinks, a VPN with its own routes) replies may leave by another interface than the requests came in on, and a strict filter would drop that traffic, so bulwark chooses the loose mode there and says so. Forwarding is left as it is: a server running Docker or a VPN routes on purpose.',
    'A firewall mistake can lock you out, so bulwark applies it under a dead-man switch: unless you log in again from a NEW SSH connection and confirm within the time shown, the old rules come back by themselves. Rules are saved for the next boot only after you confirm.',
  ],

  detect(ctx: StepContext): Promise<FirewallFacts> {
    return detectFirewall(ctx.host, ctx.system, ctx.sshConnection);
  },

  describe(facts: FirewallFacts): FactRow[] {
    const rows: FactRow[] = [];
    if (facts.live) rows.push({ label: 'Backend', value: `iptables (${facts.backend}), IPv4 and IPv6`, tone: 'neutral' });
    else rows.push({ label: 'Rules read from', value: facts.persist.map((p) => `${p.path}${p.current === null ? ' (absent)' : ''}`).join(', '), tone: 'neutral' });
    for (const tool of facts.missingTools) rows.push({ label: 'Missing', value: `${tool} (apt-get/yum install iptables)`, tone: 'bad' });
    for (const family of FAMILIES) {
      const table = currentFilter(facts, family);
      const policy = table.chains.find((c) => c.name === 'INPUT')?.policy ?? 'ACCEPT';
      const rules = [...table.rules.values()].reduce((n, list) => n + list.length, 0);
      rows.push({ label: `${family === 'ipv4' ? 'IPv4' : 'IPv6'} now`, value: `INPUT policy ${policy}, ${rules} rule(s)`, tone: policy === 'ACCEPT' ? 'bad' : 'good' });
    }
    rows.push({ label: 'SSH port(s)', value: facts.sshPorts.join(', '), tone: 'neutral' });
    if (facts.sipPorts.length > 0) rows.push({ label: 'SIP port(s)', value: facts.sipPorts.map((p) => `${p.proto}/${p.port}`).join(', '), tone: 'neutral' });
    for (const trunk of facts.trunks) {
      rows.push(trunk.addresses.length > 0
        ? { label: `SIP trunk ${trunk.name}`, value: `${trunk.host}${trunk.addresses.join(',') === trunk.host ? '' : ` (${trunk.addresses.join(', ')})`}: never counted by the SIP limit`, tone: 'good' }
        : { label: `SIP trunk ${trunk.name}`, value: `${trunk.host}: ${trunk.problem}; add its addresses to firewall.sipLimit.exempt`, tone: 'bad' });
    }
    const rp = reversePathFor(facts.kernel);
    rows.push({ label: 'Reverse-path filter', value: rp === '1' ? 'strict (one way out)' : `loose: gateways on ${facts.kernel.gatewayInterfaces.join(', ')} (a strict filter could drop replies)`, tone: 'neutral' });
    if (facts.kernel.forwarding) rows.push({ label: 'IP forwarding', value: 'on (this box routes: left as it is)', tone: 'neutral' });
    if (facts.admin) rows.push({ label: 'You are connected from', value: `${facts.admin.address} to port ${facts.admin.port}`, tone: 'neutral' });
    for (const manager of facts.managers) rows.push({ label: manager.name, value: manager.detail, tone: manager.effect === 'refuse' ? 'bad' : 'neutral' });
    if (facts.bootLoader && !facts.bootLoader.installed) rows.push({ label: 'At boot', value: `${facts.bootLoader.name} is not installed. ${facts.bootLoader.hint}`, tone: 'bad' });
    return rows;
  },

  defaults(facts: FirewallFacts): FirewallAnswers {
    return {
      allow: facts.suggestions.filter((s) => s.recommended).map((s) => ({ port: /^\d+$/.test(s.rule.port) ? Number(s.rule.port) : s.rule.port, proto: s.rule.proto })),
      rateLimit: true,
      networkSettings: true,
    };
  },

  questions(facts: FirewallFacts): Question[] {
    return [
      {
        kind: 'multiselect',
        key: 'allow',
        prompt: 'Which ports should be open to the Internet? Everything else is closed.',
        help: 'Prefilled from what is listening. Untick what nobody outside needs.',
        choices: facts.suggestions.map((s) => ({ value: key(s.rule), label: `${key(s.rule).padEnd(16)} ${s.label}` })),
      },
      {
        kind: 'boolean',
        key: 'rateLimit',
        prompt: 'Rate-limit new SSH connections and SIP requests from any one address?',
        help: `Stops password guessing and SIP floods from filling the logs; normal use never reaches the limits. Your SIP trunks${facts.trunks.length > 0 ? ` (${[...new Set(facts.trunks.map((t) => t.host))].join(', ')})` : ''} and trusted sources are never counted.`,
      },
      {
        kind: 'boolean',
        key: 'networkSettings',
        prompt: 'Also harden the network stack (no redirects or source routing, reverse-path filter, SYN cookies)? (Yes, recommended)',
        help: `Kernel settings for a server that routes nothing of its own; the reverse-path filter will be ${reversePathFor(facts.kernel) === '1' ? 'strict (this server has one way out)' : `loose (gateways on ${facts.kernel.gatewayInterfaces.join(', ')})`}. Say no only if this server routes traffic with policies bulwark cannot see.`,
      },
    ];
  },

  choiceOf(answers: FirewallAnswers, question: Question): string[] {
    if (question.key !== 'allow') return [];
    return answers.allow.filter((a) => a.from === undefined).map((a) => `${a.proto}/${a.port}`);
  },

  withChoice(answers: FirewallAnswers, question: Question, values: string[]): FirewallAnswers {
    if (question.key !== 'allow') return answers;
    // Rules limited to some sources come from the answers file; the checklist leaves them alone.
    const limited = answers.allow.filter((a) => a.from !== undefined);
    const chosen = values.map((value) => {
      const [proto, port] = value.split('/') as ['tcp' | 'udp', string];
      return { proto, port: /^\d+$/.test(port) ? Number(port) : port };
    });
    return { ...answers, allow: [...chosen, ...limited] };
  },

  planNotes(facts: FirewallFacts, answers: FirewallAnswers): string[] {
    const design = designOf(facts, answers);
    const notes: string[] = [];
    const sip = openSipPorts(design);
    if (sip.length === 0) return notes;
    if (!design.rateLimit || design.sipLimit === null) {
      notes.push(`SIP requests are not limited per source (${!design.rateLimit ? 'rateLimit is off' : 'sipLimit is false'}): a password-guessing tool on one socket can try as fast as the line allows.`);
    } else {
      const { perSecond, burst } = design.sipLimit;
      notes.push(
        `SIP limit: each address (each /64 for IPv6) may send ${burst} requests at once, then ${perSecond} a second (${SIP_LIMITED_METHODS.join(', ')}), on ${sip.map((p) => `${p.proto}/${p.port}`).join(', ')}, whatever connection they belong to, so a flood from one socket is cut too. ` +
          `That fits an office of about ${Math.floor(perSecond * 10)} phones behind one address, re-registering every 60 s and sending a keep-alive every 30 s; replies to the calls and registrations this server makes are never counted. Tune it with firewall.sipLimit.`,
      );
      const exempt = facts.trunks.filter((t) => t.addresses.length > 0);
      if (exempt.length > 0) notes.push(`Never counted, as SIP trunks: ${exempt.map((t) => `${t.name} (${t.addresses.join(', ')})`).join('; ')}.${exempt.some((t) => t.addresses.join() !== t.host) ? ' Names were looked up now: plan again if your provider changes its addresses.' : ''}`);
      for (const trunk of facts.trunks.filter((t) => t.addresses.length === 0)) notes.push(`Trunk ${trunk.name} (${trunk.host}) is not exempted: ${trunk.problem}. Put its addresses in firewall.sipLimit.exempt, or its calls may be cut at ${perSecond} requests a second.`);
      if (design.trustedSources.length > 0) notes.push(`Never counted, as trusted sources: ${design.trustedSources.join(', ')}.`);
      if (sip.some((p) => p.proto === 'tcp')) notes.push('Over TLS the requests are encrypted: there the firewall counts new connections instead (60 at once, then 20 a second per address).');
    }
    if (facts.dialect.legacy) {
      notes.push(`This box's iptables (${facts.dialect.version ?? 'old'}) predates --hashlimit-above and --icase: the limits are written as "under the limit, pass; the rest, drop", and scanners are matched in lower case, as they announce themselves. Its ip6tables has neither the string nor the hashlimit match: for IPv6, the scanner check and the rate limits are left out.`);
    }
    return notes;
  },

  plan(facts: FirewallFacts, answers: FirewallAnswers): Change[] {
    const design = designOf(facts, answers);
    const changes: Change[] = [];
    const predicted: Partial<Record<IpFamily, Ruleset>> = {};
    for (const family of FAMILIES) {
      const current = currentFilter(facts, family);
      const desired = desiredChains(design, family);
      const table = predictTable(current, desired);
      const ruleset = parseSave(facts.current[family]);
      ruleset.set('filter', table);
      predicted[family] = ruleset;
      if (facts.live && !isApplied(current, desired)) {
        const change: FirewallChange = {
          kind: 'firewall',
          step: 'firewall',
          family,
          before: renderTable(current),
          after: renderTable(table),
          script: applyScript(current, desired),
          owns: FIREWALL_OWNERSHIP,
          reason: `${family === 'ipv4' ? 'IPv4' : 'IPv6'}: drop everything but the ports you keep`,
        };
        changes.push(change);
      }
    }
    const kernel = answers.networkSettings === false ? { settings: null, file: null } : planKernel(facts.kernel, facts.live);
    const kernelChanges = [kernel.settings, kernel.file].filter((c): c is NonNullable<typeof c> => c !== null);
    // Live, the files that load the rules at boot follow the running rules, written only after
    // confirmation; with nothing to load there is nothing to persist. Under --root they are the firewall.
    if (facts.live && changes.length === 0) return kernelChanges;
    changes.push(...kernelChanges);
    for (const target of facts.persist) {
      const content = persistable(predicted[target.family]!);
      if (target.current !== null && sameDesign(target.current, content)) continue;
      changes.push({
        kind: 'file',
        step: 'firewall',
        path: target.path,
        before: target.current,
        after: content,
        mode: 0o600,
        afterConfirm: facts.live,
        reason: `the rules loaded at boot (${target.family === 'ipv4' ? 'IPv4' : 'IPv6'})`,
      } satisfies FileChange);
    }
    return changes;
  },

  preflight(facts: FirewallFacts, answers: FirewallAnswers): string[] {
    const problems: string[] = [];
    const design = designOf(facts, answers);
    for (const manager of facts.managers.filter((m) => m.effect === 'refuse')) problems.push(`${manager.name} is active: ${manager.detail}.`);
    if (facts.live && facts.missingTools.length > 0) problems.push(`${facts.missingTools.join(', ')} not found: install iptables first.`);
    for (const port of facts.sshPorts) {
      const open = design.allow.some((a) => a.proto === 'tcp' && portsInclude(a.port, port)) || design.trustedSources.length > 0;
      if (!open) problems.push(`SSH listens on port ${port}, but tcp/${port} is not in the allow list: you could not log in again.`);
    }
    if (facts.admin) {
      const family = familyOf(facts.admin.address);
      const verdict = admits(design, { family, source: facts.admin.address, proto: 'tcp', port: facts.admin.port });
      if (!verdict.admitted) {
        problems.push(`You are connected from ${facts.admin.address} to port ${facts.admin.port}; with these rules a new connection from there would be dropped (${verdict.rule.why}). Allow tcp/${facts.admin.port} from your address, or add it to trustedSources.`);
      }
    }
    return problems;
  },

  async confirmedFiles(ctx: StepContext, announced: readonly FileChange[]): Promise<FileChange[]> {
    const facts = await detectFirewall(ctx.host, ctx.system, ctx.sshConnection);
    return announced.map((change) => {
      if (change.path === facts.kernel.file.path) return { ...change, before: facts.kernel.file.current, after: fileContent(facts.kernel, facts.live) };
      const target = facts.persist.find((p) => p.path === change.path);
      if (!target) throw new Error(`bug: ${change.path} is not a file bulwark persists rules to`);
      return { ...change, before: target.current, after: persistable(parseSave(facts.current[target.family])) };
    });
  },

  findings(facts: FirewallFacts): Finding[] {
    const findings: Finding[] = [];
    for (const family of FAMILIES) {
      const table = currentFilter(facts, family);
      if ((table.chains.find((c) => c.name === 'INPUT')?.policy ?? 'ACCEPT') === 'ACCEPT' && !table.chains.some((c) => c.name === 'BULWARK-INPUT')) {
        findings.push({
          severity: 'high',
          title: `No default-deny firewall for ${family === 'ipv4' ? 'IPv4' : 'IPv6'}: every listening port is reachable`,
          why: 'Anything that listens, now or after the next install, can be reached from the whole Internet.',
          fix: 'Drop everything but the ports this server must offer, with rate limits on SSH and SIP.',
        });
      }
    }
    for (const manager of facts.managers.filter((m) => m.effect === 'refuse')) findings.push({ severity: 'medium', title: `${manager.name} manages the firewall`, why: 'Two programs writing the same rules undo each other.', fix: manager.detail });
    if (facts.bootLoader && !facts.bootLoader.installed) findings.push({ severity: 'low', title: `Rules are not loaded at boot (${facts.bootLoader.name} missing)`, why: 'After a reboot the server would come up without a firewall.', fix: facts.bootLoader.hint });
    return findings;
  },

  async verify(ctx: StepContext, answers: FirewallAnswers): Promise<VerifyCheck[]> {
    const facts = await detectFirewall(ctx.host, ctx.system, ctx.sshConnection);
    const design = designOf(facts, answers);
    if (!facts.live) {
      return [
        ...facts.persist.map((target) => ({ label: `${target.path} holds the new rules`, ok: target.current !== null && sameDesign(target.current, persistable(predictedRuleset(facts, design, target.family))) })),
        ...(answers.networkSettings === false ? [] : [{ label: `${facts.kernel.file.path} holds the network kernel settings`, ok: facts.kernel.file.current === fileContent(facts.kernel, false) }]),
      ];
    }
    const rules = FAMILIES.map((family) => {
      const ok = isApplied(currentFilter(facts, family), desiredChains(design, family));
      return { label: `${family === 'ipv4' ? 'IPv4' : 'IPv6'}: INPUT drops by default, bulwark's chain is loaded`, ok };
    });
    if (answers.networkSettings === false) return rules;
    // facts were read just now, after the apply: the live values are the kernel's.
    const wrong = settingsToChange(facts.kernel).map(([key, value]) => `${key} is ${facts.kernel.live[key]}, not ${value}`);
    return [...rules, { label: 'the network kernel settings are in force (/proc/sys)', ok: wrong.length === 0, ...(wrong.length > 0 ? { detail: wrong.join('; ') } : {}) }];
  },
};

function predictedRuleset(facts: FirewallFacts, design: FirewallDesign, family: IpFamily): Ruleset {
  const ruleset = parseSave(facts.current[family]);
  ruleset.set('filter', predictTable(currentFilter(facts, family), desiredChains(design, family)));
  return ruleset;
}

function portsInclude(port: string, value: number): boolean {
  const [low, high] = portRange(port);
  return low <= value && value <= high;
}

/** The ruleset as it should be loaded at boot: without the chains fail2ban and Docker create for
 *  themselves when they start (restoring them too would make those programs fail or ban twice). */
export function persistable(ruleset: Ruleset): string {
  const transient = (chain: string) => /^(f2b-|fail2ban-|DOCKER)/.test(chain);
  const copy: Ruleset = new Map();
  for (const [name, table] of ruleset) {
    const builtins = BUILTIN_CHAINS[name] ?? [];
    const chains = table.chains.filter((c) => builtins.includes(c.name) || !transient(c.name));
    const rules = new Map<string, string[]>();
    for (const chain of chains) rules.set(chain.name, (table.rules.get(chain.name) ?? []).filter((rule) => !/\s-[jg]\s+(f2b-|fail2ban-|DOCKER)/.test(` ${rule}`)));
    copy.set(name, { name, chains, rules });
  }
  if (!copy.has('filter')) copy.set('filter', filterTable(copy));
  return `# Written by bulwark. Loaded at boot; bulwark's own chains are BULWARK-*.\n${renderRuleset(copy)}`;
}

/** Same rules, ignoring comments and formatting (a file saved by hand with iptables-save). */
function sameDesign(a: string, b: string): boolean {
  try {
    return renderRuleset(parseSave(a)) === renderRuleset(parseSave(b));
  } catch {
    return false;
  }
}

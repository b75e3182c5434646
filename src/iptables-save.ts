// The iptables-save format, read and written. bulwark reads the kernel's rules with iptables-save,
// shows diffs in the same form (without packet counters, which change every second), and applies
// with iptables-restore --noflush so that chains it does not own are never touched.

export interface Chain {
  readonly name: string;
  /** ACCEPT / DROP for built-in chains, '-' for user chains. */
  policy: string;
}

export interface Table {
  readonly name: string;
  /** In the order iptables-save lists them. */
  chains: Chain[];
  /** Rules as iptables-save prints them, without the "-A CHAIN " prefix, per chain, in order. */
  rules: Map<string, string[]>;
}

export type Ruleset = Map<string, Table>;

export const BUILTIN_CHAINS: Record<string, readonly string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
  mangle: ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'],
  raw: ['PREROUTING', 'OUTPUT'],
  security: ['INPUT', 'FORWARD', 'OUTPUT'],
};

/**
 * Parses iptables-save output. Empty output (a fresh nf_tables host prints nothing) is an empty
 * ruleset, which reads as every built-in chain with an ACCEPT policy.
 */
export function parseSave(text: string): Ruleset {
  const tables: Ruleset = new Map();
  let current: Table | null = null;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      current = { name: line.slice(1), chains: [], rules: new Map() };
      tables.set(current.name, current);
    } else if (line === 'COMMIT') {
      current = null;
    } else if (!current) {
      throw new Error(`iptables-save line ${index + 1}: "${line}" outside a table`);
    } else if (line.startsWith(':')) {
      const match = /^:(\S+)\s+(\S+)/.exec(line);
      if (!match) throw new Error(`iptables-save line ${index + 1}: bad chain line "${line}"`);
      current.chains.push({ name: match[1]!, policy: match[2]! });
      current.rules.set(match[1]!, current.rules.get(match[1]!) ?? []);
    } else if (line.startsWith('-A ')) {
      const match = /^-A\s+(\S+)\s*(.*)$/.exec(line);
      if (!match) throw new Error(`iptables-save line ${index + 1}: bad rule "${line}"`);
      const list = current.rules.get(match[1]!) ?? [];
      list.push(stripCounters(match[2]!));
      current.rules.set(match[1]!, list);
    } else if (/^\[\d+:\d+\]\s+-A /.test(line)) {
      // iptables-save -c puts counters before the rule.
      const rest = line.replace(/^\[\d+:\d+\]\s+/, '');
      const match = /^-A\s+(\S+)\s*(.*)$/.exec(rest)!;
      const list = current.rules.get(match[1]!) ?? [];
      list.push(match[2]!);
      current.rules.set(match[1]!, list);
    } else {
      throw new Error(`iptables-save line ${index + 1}: unexpected "${line}"`);
    }
  }
  return tables;
}

function stripCounters(rule: string): string {
  return rule.replace(/\s+-c\s+\d+\s+\d+/, '');
}

/** The filter table, with the built-in chains present (ACCEPT when the ruleset did not list them). */
export function filterTable(ruleset: Ruleset): Table {
  const table = ruleset.get('filter') ?? { name: 'filter', chains: [], rules: new Map() };
  const copy: Table = { name: 'filter', chains: table.chains.map((c) => ({ ...c })), rules: new Map([...table.rules].map(([k, v]) => [k, [...v]])) };
  for (const name of [...BUILTIN_CHAINS.filter!].reverse()) {
    if (!copy.chains.some((c) => c.name === name)) copy.chains.unshift({ name, policy: 'ACCEPT' });
    if (!copy.rules.has(name)) copy.rules.set(name, []);
  }
  return copy;
}

/** One table in iptables-save form, without counters or timestamps: stable, so diffs are readable. */
export function renderTable(table: Table): string {
  const builtins = BUILTIN_CHAINS[table.name] ?? [];
  const chains = [...table.chains].sort((a, b) => {
    const ai = builtins.indexOf(a.name);
    const bi = builtins.indexOf(b.name);
    if (ai !== -1 || bi !== -1) return (ai === -1 ? 99 : ai) - (bi === -1 ? 99 : bi);
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
  const lines = [`*${table.name}`, ...chains.map((c) => `:${c.name} ${c.policy} [0:0]`)];
  for (const chain of chains) for (const rule of table.rules.get(chain.name) ?? []) lines.push(`-A ${chain.name} ${rule}`.trimEnd());
  lines.push('COMMIT');
  return lines.join('\n') + '\n';
}

/** Every table, in iptables-save form without counters (what bulwark persists to rules.v4 / sysconfig). */
export function renderRuleset(ruleset: Ruleset): string {
  return [...ruleset.values()].map(renderTable).join('');
}

/** Chains a rule jumps or goes to (-j / -g), for the check that every target exists. */
export function jumpTargets(rule: string): string[] {
  return [...rule.matchAll(/(?:^|\s)-[jg]\s+(\S+)/g)].map((m) => m[1]!);
}

export const STANDARD_TARGETS = new Set(['ACCEPT', 'DROP', 'RETURN', 'REJECT', 'LOG', 'QUEUE', 'NFQUEUE', 'MARK', 'CONNMARK', 'MASQUERADE', 'SNAT', 'DNAT', 'REDIRECT', 'CT', 'NOTRACK', 'TCPMSS', 'NFLOG', 'AUDIT', 'CHECKSUM', 'SET', 'TRACE', 'TEE', 'CLASSIFY', 'DSCP', 'TOS', 'TTL', 'HL', 'LED', 'SECMARK', 'CONNSECMARK', 'IDLETIMER', 'RATEEST', 'SYNPROXY', 'TPROXY', 'NETMAP', 'HMARK', 'CLUSTERIP']);

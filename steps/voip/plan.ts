// The voip step's safe default plan for chan_sip's [general]: guests off, authentication failures
// answered alike, a neutral user agent. Each setting goes into the one file the PBX leaves alone —
// FreePBX / IssabelPBX / Elastix: sip_general_custom.conf, which sip.conf includes inside [general];
// a hand-made box: sip.conf itself — never into a file a generator rewrites. Pure.
import ipaddr from 'ipaddr.js';
import { parseAsteriskConf, setInSection } from '../exposure/asterisk-conf.js';
import { stripComments, type AsteriskConfig } from './asterisk-config.js';
import { generalSettings, type PbxConfig } from './pbx.js';

export interface GeneralTarget {
  readonly file: string;
  /** Included inside [general] and holding no category of its own: settings are plain lines. */
  readonly fragment: boolean;
  /** Why this file, for the plan. */
  readonly why: string;
}

/** Where chan_sip's [general] settings go; null when every candidate is generated (say so instead). */
export function generalTarget(pbx: PbxConfig): GeneralTarget | null {
  const sip = pbx.sip;
  if (!sip) return null;
  const custom = sip.files.find((file) => /general_custom\.conf$/.test(file) && sip.includedWithin.get(file)?.toLowerCase() === 'general' && pbx.owners.get(file) === null && !sip.categories.some((c) => c.file === file));
  if (custom) return { file: custom, fragment: true, why: 'it is included inside [general], and it is the file your PBX leaves for your own settings (its generated files are rewritten at every Apply Config)' };
  if (pbx.owners.get(sip.file) === null) return { file: sip.file, fragment: false, why: 'no tool on this box generates it' };
  return null;
}

export interface GeneralEdit {
  readonly key: string;
  readonly value: string;
  /** A setting later in the files that would win over this one (a generated file): said, not edited. */
  readonly overriddenBy: { readonly file: string; readonly line: number } | null;
}

/** The settings to make, given the answers; those already in effect are left out. */
export function generalEdits(pbx: PbxConfig, target: GeneralTarget, wanted: readonly (readonly [string, string])[]): GeneralEdit[] {
  const settings = generalSettings(pbx.sip);
  const order = (file: string) => pbx.sip!.files.indexOf(file);
  const edits: GeneralEdit[] = [];
  for (const [key, value] of wanted) {
    const all = settings.filter((s) => s.key.toLowerCase() === key);
    const effective = all.at(-1);
    if (effective && effective.value.toLowerCase() === value.toLowerCase()) continue;
    const later = all.find((s) => s.file !== target.file && order(s.file) > order(target.file));
    edits.push({ key, value, overriddenBy: later ? { file: later.file, line: later.line } : null });
  }
  return edits;
}

/** The target file with the edits made: in place where the key is set, else added at its end. */
export function applyGeneralEdits(text: string | null, target: GeneralTarget, edits: readonly GeneralEdit[]): string {
  let out = text ?? '';
  for (const edit of edits.filter((e) => e.overriddenBy === null)) {
    out = target.fragment ? setInFragment(out, edit.key, edit.value) : setInSection(out, 'general', edit.key, edit.value);
  }
  return out;
}

/**
 * `key=value` in a file of plain settings (no category of its own): the last line setting the key
 * gets the new value (its comment kept); else the line goes at the end. Every other byte stays.
 */
export function setInFragment(text: string, key: string, value: string): string {
  const lines = text.split('\n');
  const code = stripComments(lines);
  for (let i = code.length - 1; i >= 0; i--) {
    const match = /^(\s*)([^=\s]+)(\s*)=(?!>)(\s*)(.*?)(\s*)$/.exec(code[i]!);
    if (!match || match[2]!.toLowerCase() !== key.toLowerCase()) continue;
    const rest = lines[i]!.slice(code[i]!.length); // the comment, as written
    lines[i] = `${match[1]}${match[2]}${match[3]}=${match[4]}${value}${match[6]}${rest}`;
    return lines.join('\n');
  }
  const body = text === '' || text.endsWith('\n') ? text : `${text}\n`;
  return `${body}${key}=${value}\n`;
}

/** The default: what a PBX needs whatever its phones (no phone stops working). */
export function defaultGeneral(answers: { allowGuests: boolean }): [string, string][] {
  return [
    ['allowguest', answers.allowGuests ? 'yes' : 'no'],
    ['alwaysauthreject', 'yes'],
    ['useragent', 'PBX'],
  ];
}

/**
 * Lines added at the end of the last `[section]` of that name in the file (after its last entry),
 * every other byte kept: for options that repeat (deny, permit), where order matters.
 */
export function appendToSection(text: string, section: string, lines: readonly string[]): string {
  const target = parseAsteriskConf(text).sections.filter((s) => s.name.toLowerCase() === section.toLowerCase()).pop();
  if (!target) return text;
  const all = text.split('\n');
  all.splice(target.lastContentLine + 1, 0, ...lines);
  return all.join('\n');
}

/**
 * An extension's ACL, as chan_sip reads it (the last matching rule decides): everyone denied, then
 * the networks permitted. IPv4 networks in address/netmask form, which every chan_sip reads
 * (Asterisk 1.4 included); IPv6 ones as written (Asterisk 1.8 and later).
 */
export function aclLines(networks: readonly string[]): string[] {
  const permits = networks.map((network) => {
    const [address, prefix] = ipaddr.parseCIDR(network.includes('/') ? network : `${network}/${network.includes(':') ? 128 : 32}`);
    if (address.kind() === 'ipv6') return `permit=${address.toString()}/${prefix}`;
    return `permit=${ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${prefix}`).toString()}/${ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString()}`;
  });
  return ['deny=0.0.0.0/0.0.0.0', ...permits];
}

/**
 * Every line of the last `[name]` section (its header up to the next section) commented out with
 * "; off by bulwark: " before it: Asterisk no longer reads it, and the admin still sees what it was.
 */
export function commentOutSection(text: string, name: string): string {
  const target = parseAsteriskConf(text).sections.filter((s) => s.name.toLowerCase() === name.toLowerCase()).pop();
  if (!target) return text;
  const lines = text.split('\n');
  for (let i = target.headerLine; i <= target.lastContentLine; i++) if (lines[i]!.trim() !== '') lines[i] = `; off by bulwark: ${lines[i]}`;
  return lines.join('\n');
}

// Step `voip`: toll-fraud hardening inside Asterisk. The firewall, geo-blocking and fail2ban slow
// attackers down in front of the PBX; this step closes the holes they look for behind it — calls
// accepted without an account, answers that tell which extensions exist, peers that skip the
// password, weak and default secrets, manager users that can run commands. It reads Asterisk's files
// as Asterisk does, and changes only files no generator rewrites.
import { randomBytes } from 'node:crypto';
import type { Change } from '../../src/change.js';
import { setInSection } from '../exposure/asterisk-conf.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { valueOf } from './asterisk-config.js';
import { voipFindings } from './findings.js';
import { channelPeers, pjsipObjects, readPbx, type PbxConfig } from './pbx.js';
import { newSecret, weakness } from './secrets.js';
import { isValidCidr } from '../firewall/rules.js';
import { aclLines, appendToSection, applyGeneralEdits, defaultGeneral, generalEdits, generalInEffect, generalTarget, type GeneralEdit, type GeneralTarget } from './plan.js';

export interface VoipAnswers {
  /** Must anyone call this PBX by SIP address without an account? Almost never: default no. */
  readonly allowGuests: boolean;
  /** chan_sip peers in hand-made files to give a new random secret (offered, never by default). */
  readonly newSecrets?: readonly string[];
  /** The networks phones register from: extensions open to the whole Internet are limited to them. */
  readonly permit?: readonly string[];
}

/** A chan_sip peer with a weak secret that bulwark may give a new one (its file is hand-made). */
export interface Rotatable {
  readonly name: string;
  /** The file of the peer's own category, where its new secret goes. */
  readonly file: string;
  readonly reasons: readonly string[];
}

export interface VoipFacts {
  readonly live: boolean;
  readonly pbx: PbxConfig;
  readonly target: GeneralTarget | null;
  /** The target file's content now (null: it does not exist yet). */
  readonly targetText: string | null;
  /** The target holds secrets (a hand-made sip.conf with its peers): its diff is never shown. */
  readonly targetHasSecrets: boolean;
  readonly findings: Finding[];
  readonly asteriskInstalled: boolean;
  /** Weak chan_sip secrets bulwark may replace; those in generated files are only reported. */
  readonly rotatable: readonly Rotatable[];
  /** Extensions (host=dynamic) in hand-made files that accept registrations from any address. */
  readonly openExtensions: readonly { readonly name: string; readonly file: string }[];
  /** The files of the peers bulwark may edit, as they are now. */
  readonly peerFiles: Map<string, string | null>;
  /** New secrets made by prepare (a CSPRNG), in memory only: shown once after the apply. */
  generated: Map<string, string>;
}

const SIP_RELOAD = { file: 'asterisk', args: ['-rx', 'sip reload'] } as const;

export const voipStep: Step<VoipFacts, VoipAnswers> = {
  id: 'voip',
  title: 'Toll-fraud hardening',
  why: [
    'Toll fraud is what costs a VoIP operator money: someone who gets a call out of your PBX dials premium and international numbers all night, and the bill arrives next month. Scanners try every PBX on the Internet for the ways in: calls accepted without an account, extensions they can list, and secrets they can guess.',
    'This step reads Asterisk\'s own files the way Asterisk does and closes what needs no decision: guests off (your phones and trunks never need them), the same answer for a wrong extension as for a wrong password (so extensions cannot be listed), and no version in the user agent. It reports the rest — weak or default secrets, peers that skip the password, manager users that can run programs — with the file, the line and where to change it. It never edits a file your PBX software rewrites.',
    'It works behind the other layers: the firewall\'s SIP limits and the Asterisk fail2ban jail slow scanners down before they get here.',
  ],

  async detect(ctx: StepContext): Promise<VoipFacts> {
    const host = ctx.host;
    const pbx = await readPbx(host);
    const target = generalTarget(pbx);
    const targetText = target ? await host.readText(target.file) : null;
    const asteriskInstalled = (await host.findProgram('asterisk')) !== null;
    const rotatable = rotatablePeers(pbx);
    const openExtensions = openPeers(pbx);
    const peerFiles = new Map<string, string | null>();
    for (const file of new Set([...rotatable, ...openExtensions].map((r) => r.file))) peerFiles.set(file, await host.readText(file));
    return {
      live: host.live,
      pbx,
      target,
      targetText,
      targetHasSecrets: targetText !== null && /^\s*(secret|md5secret|password)\s*=/im.test(targetText),
      findings: voipFindings(pbx),
      asteriskInstalled,
      rotatable,
      openExtensions,
      peerFiles,
      generated: new Map(),
    };
  },

  describe(facts: VoipFacts): FactRow[] {
    const { pbx } = facts;
    const rows: FactRow[] = [
      { label: 'chan_sip', value: pbx.sip ? `${channelPeers(pbx.sip, 'sip').length} peer(s), from ${pbx.sip.files.length} file(s)` : 'no sip.conf', tone: 'neutral' },
      { label: 'PJSIP', value: pbx.pjsip ? `${pjsipObjects(pbx.pjsip, 'endpoint').length} endpoint(s)` : 'no pjsip.conf', tone: 'neutral' },
      { label: 'IAX2', value: pbx.iax ? `${channelPeers(pbx.iax, 'iax').length} peer(s)` : 'no iax.conf', tone: 'neutral' },
      { label: 'Manager (AMI)', value: pbx.manager ? `${pbx.manager.categories.filter((c) => !c.template && c.name.toLowerCase() !== 'general').length} user(s)` : 'no manager.conf', tone: 'neutral' },
    ];
    const high = facts.findings.filter((f) => f.severity === 'high').length;
    rows.push({ label: 'Findings', value: facts.findings.length === 0 ? 'none' : `${high} high, ${facts.findings.length - high} other`, tone: high > 0 ? 'bad' : facts.findings.length > 0 ? 'neutral' : 'good' });
    if (facts.target) rows.push({ label: 'Settings go to', value: facts.target.file, tone: 'neutral' });
    return rows;
  },

  defaults(): VoipAnswers {
    return { allowGuests: false };
  },

  questions(facts: VoipFacts): Question[] {
    const questions: Question[] = [
      {
        kind: 'boolean',
        key: 'allowGuests',
        prompt: 'Must anyone call this PBX by its SIP address without an account (a public "call us" SIP URI)?',
        help: 'Almost always no: calls from your trunks and your phones are authenticated and do not need guests. Guests are how most toll fraud gets in.',
      },
    ];
    if (facts.openExtensions.length > 0) {
      questions.push({
        kind: 'text',
        key: 'permit',
        prompt: `Networks your phones register from (${facts.openExtensions.length} extension(s) accept any address): addresses or CIDRs, comma-separated; empty leaves them open`,
        help: 'Each extension then refuses registrations from anywhere else, so a stolen secret is useless outside those networks. Leave it empty if phones roam (softphones on mobile networks).',
      });
    }
    if (facts.rotatable.length > 0) {
      questions.push({
        kind: 'multiselect',
        key: 'newSecrets',
        prompt: 'Give these peers a new random secret? (Their phones must then be set up again with it.)',
        help: 'bulwark makes a 24-character secret for each peer ticked, writes it, and shows it to you once, after the change: note it and re-provision the phone. It is kept nowhere else. Peers in files your PBX generates are changed in its web interface instead (see the findings).',
        choices: facts.rotatable.map((r) => ({ value: r.name, label: `${r.name} (${r.reasons.join('; ')})`, detail: r.file })),
      });
    }
    return questions;
  },

  withText(answers: VoipAnswers, question: Question, text: string): VoipAnswers | string {
    if (question.key !== 'permit') return answers;
    const networks = text.split(/[\s,]+/).filter(Boolean);
    const wrong = networks.find((network) => !isValidCidr(network));
    if (wrong) return `"${wrong}" is not an address or a CIDR such as 192.0.2.0/24.`;
    return { ...answers, permit: networks };
  },

  checkAnswers(facts: VoipFacts, answers: VoipAnswers): string[] {
    return (answers.newSecrets ?? [])
      .filter((name) => !facts.rotatable.some((r) => r.name === name))
      .map((name) => `voip.newSecrets: "${name}" is not a chan_sip peer with a weak secret in a file bulwark may edit (accepted: ${facts.rotatable.map((r) => r.name).join(', ') || 'none on this box'})`);
  },

  async prepare(facts: VoipFacts, answers: VoipAnswers): Promise<void> {
    // Made here, not in plan (which stays pure): from the kernel's CSPRNG, kept in memory only.
    facts.generated = new Map((answers.newSecrets ?? []).map((name) => [name, newSecret(randomBytes)]));
  },

  afterApply(facts: VoipFacts, answers: VoipAnswers): string[] {
    const made = (answers.newSecrets ?? []).filter((name) => facts.generated.has(name));
    if (made.length === 0) return [];
    return [
      'New secrets — shown this once, kept nowhere by bulwark: set each phone up with its secret now (until then it cannot register).',
      ...made.map((name) => `  ${name}: ${facts.generated.get(name)}`),
    ];
  },

  planNotes(facts: VoipFacts, answers: VoipAnswers): string[] {
    const notes: string[] = [];
    if (!facts.pbx.sip) notes.push('No sip.conf: chan_sip is not configured, so there is nothing to change in it.');
    else if (!facts.target) notes.push(`Every file chan_sip's [general] could take these settings from is generated by your PBX software: set allowguest=no and alwaysauthreject=yes in its SIP settings page instead.`);
    else notes.push(`chan_sip's settings go to ${facts.target.file}: ${facts.target.why}.`);
    for (const edit of editsOf(facts, answers).filter((e) => e.overriddenBy)) notes.push(`${edit.key} is set again later, in ${edit.overriddenBy!.file}:${edit.overriddenBy!.line} (a generated file): change it in your PBX's SIP settings page; bulwark leaves that file alone.`);
    if (facts.findings.length > 0) notes.push(`${facts.findings.length} finding(s) remain for you to act on: see \`bulwark audit --step voip\`.`);
    if (!facts.live) notes.push('Under --root the files change; Asterisk is reloaded only on the live system.');
    return notes;
  },

  plan(facts: VoipFacts, answers: VoipAnswers): Change[] {
    // File by file: the [general] settings, and the new secrets of the peers chosen (a file may take both).
    const contents = new Map<string, { before: string | null; after: string; what: string[] }>();
    const edits = editsOf(facts, answers).filter((e) => e.overriddenBy === null);
    if (facts.target && edits.length > 0) {
      contents.set(facts.target.file, { before: facts.targetText, after: applyGeneralEdits(facts.targetText, facts.target, edits), what: [`[general]: ${edits.map((e) => `${e.key} = ${e.value}`).join(', ')}`] });
    }
    const permit = answers.permit ?? [];
    for (const extension of permit.length > 0 ? facts.openExtensions : []) {
      const entry = contents.get(extension.file) ?? { before: facts.peerFiles.get(extension.file) ?? null, after: facts.peerFiles.get(extension.file) ?? '', what: [] };
      entry.after = appendToSection(entry.after, extension.name, aclLines(permit));
      entry.what.push(`extension ${extension.name} limited to ${permit.join(', ')}`);
      contents.set(extension.file, entry);
    }
    for (const name of answers.newSecrets ?? []) {
      const peer = facts.rotatable.find((r) => r.name === name);
      const secret = facts.generated.get(name);
      if (!peer || secret === undefined) continue;
      const entry = contents.get(peer.file) ?? { before: facts.peerFiles.get(peer.file) ?? null, after: facts.peerFiles.get(peer.file) ?? '', what: [] };
      entry.after = setInSection(entry.after, peer.name, 'secret', secret);
      entry.what.push(`a new secret for ${peer.name}`);
      contents.set(peer.file, entry);
    }
    const changes: Change[] = [];
    for (const [path, { before, after, what }] of contents) {
      if (after === before) continue;
      const holdsSecrets = (path === facts.target?.file && facts.targetHasSecrets) || what.some((w) => w.startsWith('a new secret'));
      changes.push({
        kind: 'file',
        step: 'voip',
        path,
        before,
        after,
        mode: 0o640,
        // A file with the peers' secrets (a hand-made sip.conf, new secrets): its diff is never shown.
        ...(holdsSecrets ? { secret: true, summary: `${what.join('; ')} (the file holds secrets: its diff is not shown)` } : {}),
        reason: `chan_sip: ${what.join('; ')}`,
      });
    }
    if (changes.length === 0) return [];
    changes.push({ kind: 'service', step: 'voip', names: ['asterisk'], action: 'reload', command: SIP_RELOAD, undo: 'reload', reason: 'chan_sip reads its settings and peers again (calls in progress are not dropped)' });
    return changes;
  },

  findings(facts: VoipFacts): Finding[] {
    return facts.findings;
  },

  async verify(ctx: StepContext, answers: VoipAnswers): Promise<VerifyCheck[]> {
    const pbx = await readPbx(ctx.host);
    const checks: VerifyCheck[] = [];
    for (const [key, value] of defaultGeneral(answers)) {
      const now = generalInEffect(pbx.sip, key);
      checks.push({ label: `chan_sip ${key} = ${value} in the files`, ok: now?.toLowerCase() === value.toLowerCase(), detail: now === undefined ? 'not set' : `it is ${now}` });
    }
    // On the live box, Asterisk itself is asked (when it runs): what it uses, not what the files say.
    if (ctx.host.live && (await ctx.host.findProgram('asterisk'))) {
      const shown = await ctx.host.run({ file: 'asterisk', args: ['-rx', 'sip show settings'] }, { reject: false });
      const settings = parseSipSettings(shown.stdout);
      if (shown.exitCode === 0 && settings) {
        checks.push({ label: answers.allowGuests ? 'Asterisk: guests allowed, as chosen' : 'Asterisk: guests refused', ok: settings.allowGuest === answers.allowGuests, detail: `Allow unknown access: ${settings.allowGuest ? 'Yes' : 'No'}` });
        checks.push({ label: 'Asterisk: authentication failures answered alike', ok: settings.alwaysAuthReject === true, detail: `Always auth rejects: ${settings.alwaysAuthReject ? 'Yes' : 'No'}` });
      }
    }
    return checks;
  },
};

/** chan_sip peers whose secret is weak and whose own category is in a file no tool regenerates. */
function rotatablePeers(pbx: PbxConfig): Rotatable[] {
  const peers = channelPeers(pbx.sip, 'sip');
  const uses = new Map<string, number>();
  for (const peer of peers) {
    const secret = valueOf(peer.settings, 'secret')?.value;
    if (secret !== undefined) uses.set(secret, (uses.get(secret) ?? 0) + 1);
  }
  const rotatable: Rotatable[] = [];
  for (const peer of peers) {
    const secret = valueOf(peer.settings, 'secret')?.value;
    if (secret === undefined || pbx.owners.get(peer.file)) continue;
    const weak = weakness(secret, [peer.name, valueOf(peer.settings, 'username')?.value ?? '', valueOf(peer.settings, 'defaultuser')?.value ?? ''].filter(Boolean), (uses.get(secret) ?? 1) - 1);
    if (weak) rotatable.push({ name: peer.name, file: peer.file, reasons: weak.reasons });
  }
  return rotatable;
}

/** Extensions (host=dynamic) in hand-made files whose ACL lets any address register. */
function openPeers(pbx: PbxConfig): { name: string; file: string }[] {
  return channelPeers(pbx.sip, 'sip')
    .filter((peer) => !pbx.owners.get(peer.file) && valueOf(peer.settings, 'host')?.value.toLowerCase() === 'dynamic')
    .filter((peer) => {
      // The last rule that matches decides: open when nothing denies everyone after the last open permit.
      const everyone = (value: string) => /^0\.0\.0\.0\/(0\.0\.0\.0|0)$/.test(value.trim());
      const rules = peer.settings.filter((s) => /^(permit|deny)$/i.test(s.key));
      const lastDenyAll = rules.map((r) => r.key.toLowerCase() === 'deny' && everyone(r.value)).lastIndexOf(true);
      const lastPermitAll = rules.map((r) => r.key.toLowerCase() === 'permit' && everyone(r.value)).lastIndexOf(true);
      return lastDenyAll < 0 || lastPermitAll > lastDenyAll;
    })
    .map((peer) => ({ name: peer.name, file: peer.file }));
}

function editsOf(facts: VoipFacts, answers: VoipAnswers): GeneralEdit[] {
  return facts.target ? generalEdits(facts.pbx, facts.target, defaultGeneral(answers)) : [];
}

/** `asterisk -rx 'sip show settings'` (chan_sip's CLI): the lines this step changes. Null: not that output. */
export function parseSipSettings(output: string): { allowGuest: boolean; alwaysAuthReject: boolean; userAgent: string } | null {
  const field = (label: string) => new RegExp(`^\\s*${label}:\\s*(.*?)\\s*$`, 'mi').exec(output)?.[1];
  const guest = field('Allow unknown access');
  const reject = field('Always auth rejects');
  if (guest === undefined || reject === undefined) return null;
  return { allowGuest: /^yes/i.test(guest), alwaysAuthReject: /^yes/i.test(reject), userAgent: field('User Agent') ?? '' };
}

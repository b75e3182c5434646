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
import { judgeSecrets, voipFindings, type JudgedSecret } from './findings.js';
import { allSecrets, channelPeers, generalSettings, pjsipObjects, readPbx, type PbxConfig } from './pbx.js';
import { loadEstimator, needsEstimate, newSecret } from './secrets.js';
import { isValidCidr } from '../firewall/rules.js';
import { aclLines, appendToSection, applyGeneralEdits, commentOutSection, defaultGeneral, generalEdits, generalTarget, type GeneralEdit, type GeneralTarget } from './plan.js';

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
  readonly findings: Finding[];
  readonly asteriskInstalled: boolean;
  /** Weak chan_sip secrets bulwark may replace; those in generated files are only reported. */
  readonly rotatable: readonly Rotatable[];
  /** IAX2's [guest] and PJSIP's anonymous endpoint, in files bulwark may edit. */
  readonly guestSections: readonly { readonly module: 'iax' | 'pjsip'; readonly name: string; readonly file: string }[];
  /** Extensions (host=dynamic) in hand-made files that accept registrations from any address. */
  readonly openExtensions: readonly { readonly name: string; readonly file: string }[];
  /** The files of the peers bulwark may edit, as they are now. */
  readonly peerFiles: Map<string, string | null>;
  /** New secrets made by prepare (a CSPRNG), in memory only: shown once after the apply. */
  generated: Map<string, string>;
}

type Module = 'sip' | 'iax' | 'pjsip';

/** The Asterisk module that reads each kind of file, and how it is told to read it again. */
const MODULES: Record<Module, { label: string; reload: string }> = {
  sip: { label: 'chan_sip', reload: 'sip reload' },
  iax: { label: 'IAX2', reload: 'iax2 reload' },
  pjsip: { label: 'PJSIP', reload: 'module reload res_pjsip.so' },
};

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
    // The strength estimator loads only if a secret gets past the PBX's own rules.
    if (allSecrets(pbx).some((secret) => needsEstimate(secret, []))) await loadEstimator();
    const target = generalTarget(pbx);
    const targetText = target ? await host.readText(target.file) : null;
    const asteriskInstalled = (await host.findProgram('asterisk')) !== null;
    const judged = judgeSecrets(pbx);
    const rotatable = rotatablePeers(pbx, judged);
    const openExtensions = openPeers(pbx);
    const guestSections = guestsToClose(pbx);
    const peerFiles = new Map<string, string | null>();
    for (const file of new Set([...rotatable, ...openExtensions, ...guestSections].map((r) => r.file))) peerFiles.set(file, await host.readText(file));
    return {
      live: host.live,
      pbx,
      target,
      targetText,
      findings: voipFindings(pbx, judged),
      asteriskInstalled,
      rotatable,
      openExtensions,
      guestSections,
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
    // File by file (a file may take several edits), each file with the Asterisk module that reads it.
    const contents = new Map<string, { before: string | null; after: string; what: string[]; module: Module }>();
    const entryFor = (file: string, module: Module) => {
      const entry = contents.get(file) ?? { before: facts.peerFiles.get(file) ?? null, after: facts.peerFiles.get(file) ?? '', what: [], module };
      contents.set(file, entry);
      return entry;
    };
    const edits = editsOf(facts, answers).filter((e) => e.overriddenBy === null);
    if (facts.target && edits.length > 0) {
      contents.set(facts.target.file, { before: facts.targetText, after: applyGeneralEdits(facts.targetText, facts.target, edits), what: [`[general]: ${edits.map((e) => `${e.key} = ${e.value}`).join(', ')}`], module: 'sip' });
    }
    // Guests off in IAX2 and PJSIP too, where their sections are in files no tool regenerates.
    for (const guest of answers.allowGuests ? [] : facts.guestSections) {
      const entry = entryFor(guest.file, guest.module);
      entry.after = commentOutSection(entry.after, guest.name);
      entry.what.push(`${guest.module === 'iax' ? 'the IAX2 [guest] user' : 'the PJSIP anonymous endpoint'} commented out`);
    }
    const permit = answers.permit ?? [];
    for (const extension of permit.length > 0 ? facts.openExtensions : []) {
      const entry = entryFor(extension.file, 'sip');
      entry.after = appendToSection(entry.after, extension.name, aclLines(permit));
      entry.what.push(`extension ${extension.name} limited to ${permit.join(', ')}`);
    }
    for (const name of answers.newSecrets ?? []) {
      const peer = facts.rotatable.find((r) => r.name === name);
      const secret = facts.generated.get(name);
      if (!peer || secret === undefined) continue;
      const entry = entryFor(peer.file, 'sip');
      entry.after = setInSection(entry.after, peer.name, 'secret', secret);
      entry.what.push(`a new secret for ${peer.name}`);
    }
    const changes: Change[] = [];
    const reloads = new Set<Module>();
    for (const [path, { before, after, what, module }] of contents) {
      if (after === before) continue;
      reloads.add(module);
      const holdsSecrets = /^\s*(secret|md5secret|password)\s*[=:]/im.test(`${before ?? ''}\n${after}`);
      changes.push({
        kind: 'file',
        step: 'voip',
        path,
        before,
        after,
        mode: 0o640,
        // A file with secrets (peers, new secrets): its diff is never shown, a summary instead.
        ...(holdsSecrets ? { secret: true, summary: `${what.join('; ')} (the file holds secrets: its diff is not shown)` } : {}),
        reason: `${MODULES[module].label}: ${what.join('; ')}`,
      });
    }
    for (const module of (['sip', 'iax', 'pjsip'] as const).filter((m) => reloads.has(m))) {
      changes.push({ kind: 'service', step: 'voip', names: ['asterisk'], action: 'reload', command: { file: 'asterisk', args: ['-rx', MODULES[module].reload] }, undo: 'reload', reason: `${MODULES[module].label} reads its settings again (calls in progress are not dropped)` });
    }
    return changes;
  },

  findings(facts: VoipFacts): Finding[] {
    return facts.findings;
  },

  async verify(ctx: StepContext, answers: VoipAnswers): Promise<VerifyCheck[]> {
    const pbx = await readPbx(ctx.host);
    const checks: VerifyCheck[] = [];
    // chan_sip: each setting in effect — unless a file the PBX generates sets it later (said, not edited).
    for (const [key, value] of pbx.sip && generalTarget(pbx) ? defaultGeneral(answers) : []) {
      const now = generalSettings(pbx.sip).filter((setting) => setting.key.toLowerCase() === key).at(-1);
      const generated = now ? pbx.owners.get(now.file) : null;
      checks.push({ label: `chan_sip ${key} = ${value} in the files`, ok: now?.value.toLowerCase() === value.toLowerCase() || Boolean(generated), detail: now === undefined ? 'not set' : generated ? `set to ${now.value} in ${now.file}, which ${generated.by} generates` : `it is ${now.value}` });
    }
    if (!answers.allowGuests) {
      const left = guestsToClose(pbx);
      if (pbx.iax || pbx.pjsip) checks.push({ label: 'no IAX2 guest user or PJSIP anonymous endpoint in the files bulwark may edit', ok: left.length === 0, detail: left.map((g) => `${g.name} in ${g.file}`).join(', ') || undefined });
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
function rotatablePeers(pbx: PbxConfig, judged: readonly JudgedSecret[]): Rotatable[] {
  return judged
    .filter((secret) => secret.channel === 'SIP' && secret.weak !== null && !pbx.owners.get(secret.setting.file))
    .map((secret) => ({ name: secret.name, file: channelPeers(pbx.sip, 'sip').find((peer) => peer.name === secret.name)!.file, reasons: secret.weak!.reasons }));
}

/** IAX2's [guest] user and PJSIP's anonymous endpoint, where bulwark may edit their files. */
function guestsToClose(pbx: PbxConfig): { module: 'iax' | 'pjsip'; name: string; file: string }[] {
  const iax = (pbx.iax?.categories ?? []).filter((c) => !c.template && c.name.toLowerCase() === 'guest').map((c) => ({ module: 'iax' as const, name: c.name, file: c.file }));
  const pjsip = pjsipObjects(pbx.pjsip, 'endpoint').filter((e) => e.name.toLowerCase() === 'anonymous').map((e) => ({ module: 'pjsip' as const, name: e.name, file: e.file }));
  return [...iax, ...pjsip].filter((guest) => !pbx.owners.get(guest.file));
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
  // "  Label:   value" lines, by label.
  const fields = new Map<string, string>();
  for (const line of output.split('\n')) {
    const match = /^\s*([^:]+?):\s*(.*?)\s*$/.exec(line);
    if (match) fields.set(match[1]!.toLowerCase(), match[2]!);
  }
  const guest = fields.get('allow unknown access');
  const reject = fields.get('always auth rejects');
  if (guest === undefined || reject === undefined) return null;
  return { allowGuest: /^yes/i.test(guest), alwaysAuthReject: /^yes/i.test(reject), userAgent: fields.get('user agent') ?? '' };
}

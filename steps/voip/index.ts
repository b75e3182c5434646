// Step `voip`: toll-fraud hardening inside Asterisk. The firewall, geo-blocking and fail2ban slow
// attackers down in front of the PBX; this step closes the holes they look for behind it — calls
// accepted without an account, answers that tell which extensions exist, peers that skip the
// password, weak and default secrets, manager users that can run commands. It reads Asterisk's files
// as Asterisk does, and changes only files no generator rewrites.
import type { Change, FileChange } from '../../src/change.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { voipFindings } from './findings.js';
import { channelPeers, pjsipObjects, readPbx, type PbxConfig } from './pbx.js';
import { applyGeneralEdits, defaultGeneral, generalEdits, generalInEffect, generalTarget, type GeneralEdit, type GeneralTarget } from './plan.js';

export interface VoipAnswers {
  /** Must anyone call this PBX by SIP address without an account? Almost never: default no. */
  readonly allowGuests: boolean;
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
    return {
      live: host.live,
      pbx,
      target,
      targetText,
      targetHasSecrets: targetText !== null && /^\s*(secret|md5secret|password)\s*=/im.test(targetText),
      findings: voipFindings(pbx),
      asteriskInstalled,
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

  questions(): Question[] {
    return [
      {
        kind: 'boolean',
        key: 'allowGuests',
        prompt: 'Must anyone call this PBX by its SIP address without an account (a public "call us" SIP URI)?',
        help: 'Almost always no: calls from your trunks and your phones are authenticated and do not need guests. Guests are how most toll fraud gets in.',
      },
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
    if (!facts.target) return [];
    const edits = editsOf(facts, answers).filter((e) => e.overriddenBy === null);
    if (edits.length === 0) return [];
    const after = applyGeneralEdits(facts.targetText, facts.target, edits);
    if (after === facts.targetText) return [];
    const summary = edits.map((e) => `${e.key} = ${e.value}`).join(', ');
    const file: FileChange = {
      kind: 'file',
      step: 'voip',
      path: facts.target.file,
      before: facts.targetText,
      after,
      mode: 0o640,
      // A hand-made sip.conf holds the peers' secrets: its diff (context lines included) is never shown.
      ...(facts.targetHasSecrets ? { secret: true, summary: `[general]: ${summary} (the file holds secrets: its diff is not shown)` } : {}),
      reason: `chan_sip [general]: ${summary}`,
    };
    return [
      file,
      { kind: 'service', step: 'voip', names: ['asterisk'], action: 'reload', command: SIP_RELOAD, undo: 'reload', reason: 'chan_sip reads its [general] settings again (calls in progress are not dropped)' },
    ];
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

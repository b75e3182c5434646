// What the voip step finds in a PBX's configuration, for `audit` and the wizard: the holes toll-fraud
// scanners look for. Every finding names the peer, the file and the line, and never a secret.
import type { Finding } from '../types.js';
import { isFalse, isTrue, valueOf, valuesOf, type Setting } from './asterisk-config.js';
import { channelPeers, generalSettings, pjsipObjects, reachesDial, type PbxConfig, type Peer } from './pbx.js';
import { weakness, type Weakness } from './secrets.js';

const where = (setting: { file: string; line: number }) => `${setting.file}:${setting.line}`;

/** Every finding, most severe first. */
export function voipFindings(pbx: PbxConfig, judged: readonly JudgedSecret[] = judgeSecrets(pbx)): Finding[] {
  const findings = [...guestFindings(pbx), ...authRejectFindings(pbx), ...insecureFindings(pbx), ...pjsipAuthFindings(pbx), ...secretFindings(pbx, judged), ...aclFindings(pbx), ...amiFindings(pbx), ...fingerprintFindings(pbx), ...realtimeFindings(pbx), ...unreadFindings(pbx)];
  const order = { high: 0, medium: 1, low: 2, info: 3 } as const;
  return findings.sort((a, b) => order[a.severity] - order[b.severity]);
}

function guestFindings(pbx: PbxConfig): Finding[] {
  const findings: Finding[] = [];
  if (pbx.sip) {
    const general = generalSettings(pbx.sip);
    const allowguest = valueOf(general, 'allowguest');
    // chan_sip allows guests unless told otherwise.
    if (!isFalse(allowguest?.value)) {
      const context = valueOf(general, 'context')?.value ?? 'default';
      const dials = reachesDial(pbx.extensions, context);
      findings.push({
        severity: dials ? 'high' : 'medium',
        title: `chan_sip accepts calls from anyone without an account (allowguest${allowguest ? ` = ${allowguest.value} at ${where(allowguest)}` : ' is not set: yes by default'})`,
        why: `A guest call lands in the "${context}" context${dials ? ', and that context reaches a Dial(): anyone on the Internet can place calls through this PBX at your expense' : ': today it dials nothing, but one careless include there opens toll fraud'}. Calls from your trunks and phones do not need guests.`,
        fix: 'Set allowguest = no (the step does it, in the file your PBX leaves alone).',
      });
    }
  }
  if (pbx.iax) {
    const guest = pbx.iax.categories.find((c) => !c.template && c.name.toLowerCase() === 'guest');
    if (guest) {
      const context = valueOf(guest.settings, 'context')?.value ?? 'default';
      findings.push({
        severity: reachesDial(pbx.extensions, context) ? 'high' : 'medium',
        title: `IAX2 has a [guest] user at ${guest.file}:${guest.line}`,
        why: `Anyone may call in over IAX2 without a secret, into the "${context}" context.`,
        fix: 'Remove the [guest] user (or give it a context that can only reach your own extensions).',
      });
    }
  }
  for (const endpoint of pjsipObjects(pbx.pjsip, 'endpoint').filter((e) => e.name.toLowerCase() === 'anonymous')) {
    const context = valueOf(endpoint.settings, 'context')?.value ?? 'default';
    findings.push({
      severity: reachesDial(pbx.extensions, context) ? 'high' : 'medium',
      title: `PJSIP has an "anonymous" endpoint at ${endpoint.file}:${endpoint.line}: calls without an account are accepted`,
      why: `Unidentified callers land in the "${context}" context.`,
      fix: 'Remove the anonymous endpoint (FreePBX: Settings → Asterisk SIP Settings → Allow Anonymous Inbound SIP Calls = No).',
    });
  }
  return findings;
}

function authRejectFindings(pbx: PbxConfig): Finding[] {
  if (!pbx.sip) return [];
  const setting = valueOf(generalSettings(pbx.sip), 'alwaysauthreject');
  if (isTrue(setting?.value)) return [];
  return [{
    severity: setting ? 'medium' : 'low',
    title: setting ? `alwaysauthreject = ${setting.value} at ${where(setting)}: scanners can tell which extensions exist` : 'alwaysauthreject is not set (its default depends on the Asterisk version)',
    why: 'With it off, Asterisk answers "no such user" for an extension that does not exist and "wrong password" for one that does: svwar lists your extensions in seconds, and then guesses their secrets.',
    fix: 'Set alwaysauthreject = yes (the step does it).',
  }];
}

function insecureFindings(pbx: PbxConfig): Finding[] {
  const findings: Finding[] = [];
  for (const peer of [...channelPeers(pbx.sip, 'sip')]) {
    const insecure = valueOf(peer.settings, 'insecure');
    const host = valueOf(peer.settings, 'host')?.value.toLowerCase();
    if (!insecure || !/\b(invite|very)\b/i.test(insecure.value) || host !== 'dynamic') continue;
    findings.push({
      severity: 'high',
      title: `Peer ${peer.name} takes calls without authentication from anywhere (insecure = ${insecure.value}, host = dynamic, ${where(insecure)})`,
      why: 'insecure=invite skips the password check on calls; with host=dynamic the peer is not tied to an address, so anyone who names it can call through it.',
      fix: 'Remove insecure=invite from dynamic peers; a trunk that needs it should have a fixed host (and a permit for its address).',
    });
  }
  return findings;
}

function pjsipAuthFindings(pbx: PbxConfig): Finding[] {
  const identified = new Set(pjsipObjects(pbx.pjsip, 'identify').map((i) => (valueOf(i.settings, 'endpoint')?.value ?? '').toLowerCase()));
  return pjsipObjects(pbx.pjsip, 'endpoint')
    .filter((e) => e.name.toLowerCase() !== 'anonymous' && !valueOf(e.settings, 'auth') && !identified.has(e.name.toLowerCase()))
    .map((e) => ({
      severity: 'high' as const,
      title: `PJSIP endpoint ${e.name} has no inbound authentication and no identify (${e.file}:${e.line})`,
      why: 'An endpoint matched by user name alone, with no auth, lets anyone who sends that user name make calls as it.',
      fix: 'Give it an auth= (phones) or an identify section matching its provider\'s addresses (trunks).',
    }));
}

/** A secret of the PBX (a SIP or IAX2 peer's, a PJSIP auth's) and how weak it is; never shown. */
export interface JudgedSecret {
  readonly channel: 'SIP' | 'IAX2' | 'PJSIP';
  readonly name: string;
  readonly label: string;
  readonly setting: Setting;
  readonly weak: Weakness | null;
}

/** Every peer secret judged once: the findings and the step's offer of new secrets read the same. */
export function judgeSecrets(pbx: PbxConfig): JudgedSecret[] {
  const owners: { channel: JudgedSecret['channel']; name: string; names: string[]; setting: Setting }[] = [];
  for (const [channel, peers] of [['SIP', channelPeers(pbx.sip, 'sip')], ['IAX2', channelPeers(pbx.iax, 'iax')]] as const) {
    for (const peer of peers) {
      const secret = valueOf(peer.settings, 'secret');
      if (secret) owners.push({ channel, name: peer.name, names: namesOf(peer), setting: secret });
    }
  }
  for (const auth of pjsipObjects(pbx.pjsip, 'auth')) {
    const password = valueOf(auth.settings, 'password');
    if (password) owners.push({ channel: 'PJSIP', name: auth.name, names: [...namesOf(auth), valueOf(auth.settings, 'username')?.value ?? ''], setting: password });
  }
  // Shared secrets, counted without keeping them: by value within this function only.
  const uses = new Map<string, number>();
  for (const owner of owners) uses.set(owner.setting.value, (uses.get(owner.setting.value) ?? 0) + 1);
  return owners.map((owner) => ({
    channel: owner.channel,
    name: owner.name,
    label: `${owner.channel === 'PJSIP' ? 'PJSIP auth' : `${owner.channel} peer`} ${owner.name}`,
    setting: owner.setting,
    weak: weakness(owner.setting.value, owner.names, (uses.get(owner.setting.value) ?? 1) - 1),
  }));
}

function secretFindings(pbx: PbxConfig, judged: readonly JudgedSecret[]): Finding[] {
  const findings: Finding[] = [];
  for (const owner of judged) {
    const weak = owner.weak;
    if (!weak) continue;
    findings.push({
      severity: weak.severity,
      title: `${owner.label}: weak secret (${weak.reasons.join('; ')}) at ${where(owner.setting)}`,
      why: 'SIP scanners try a dictionary of secrets against every extension they find, around the clock. A guessed secret lets them register as that phone and call premium numbers.',
      fix: pbx.owners.get(owner.setting.file) ? `Change it in ${pbx.owners.get(owner.setting.file)!.changeIn}, and re-provision the phone.` : 'Give it a new random secret of 20+ characters (the step can make one), and re-provision the phone.',
    });
  }
  return findings;
}

function namesOf(peer: Peer): string[] {
  return [peer.name, valueOf(peer.settings, 'username')?.value ?? '', valueOf(peer.settings, 'defaultuser')?.value ?? '', valueOf(peer.settings, 'fromuser')?.value ?? '', /^\d+$/.test(peer.name) ? peer.name : ''].filter((n) => n !== '');
}

function aclFindings(pbx: PbxConfig): Finding[] {
  const findings: Finding[] = [];
  for (const peer of channelPeers(pbx.sip, 'sip')) {
    if (valueOf(peer.settings, 'host')?.value.toLowerCase() !== 'dynamic') continue;
    const permits = valuesOf(peer.settings, 'permit');
    const open = permits.length === 0 || permits.some((p) => /^0\.0\.0\.0\/(0\.0\.0\.0|0)$/.test(p.value.trim()));
    if (!open) continue;
    findings.push({
      severity: 'low',
      title: `Extension ${peer.name} may register from any address${permits.length ? ` (permit = ${permits.at(-1)!.value} at ${where(permits.at(-1)!)})` : ''}`,
      why: 'A phone that only ever sits in your office or your customers\' networks need not accept registrations from the whole Internet: a stolen secret is then useless elsewhere.',
      fix: 'Limit it with deny=0.0.0.0/0.0.0.0 and permit=<your networks> (the step can add them for the networks you name).',
    });
  }
  return findings;
}

const DANGEROUS_WRITE = /\b(originate|system|command|all)\b/i;

function amiFindings(pbx: PbxConfig): Finding[] {
  if (!pbx.manager) return [];
  const findings: Finding[] = [];
  for (const user of pbx.manager.categories.filter((c) => !c.template && c.name.toLowerCase() !== 'general')) {
    const settings = user.settings;
    const write = valueOf(settings, 'write');
    if (!write || !DANGEROUS_WRITE.test(write.value)) continue;
    const secret = valueOf(settings, 'secret');
    const weak = secret ? weakness(secret.value, [user.name]) : { severity: 'high' as const, reasons: ['no secret'] };
    const permits = valuesOf(settings, 'permit');
    const fromAnywhere = permits.length === 0 || permits.some((p) => /^0\.0\.0\.0\/(0\.0\.0\.0|0)$/.test(p.value.trim()));
    if (!weak && !fromAnywhere) continue;
    const problems = [...(weak ? [`a weak secret (${weak.reasons.join('; ')})`] : []), ...(fromAnywhere ? ['no permit: it may log in from any address'] : [])];
    const rights = [...new Set(write.value.split(',').map((w) => w.trim().toLowerCase()).filter((w) => DANGEROUS_WRITE.test(w)))];
    findings.push({
      severity: 'high',
      title: `AMI user ${user.name} may run commands on the box (write = ${rights.join(',')}) and has ${problems.join(', and ')} (${where(secret ?? write)})`,
      why: 'With originate, system or command rights, whoever logs in to the Asterisk manager places calls or runs programs as Asterisk: a default or guessable secret is a way into the whole box.',
      fix: pbx.owners.get(user.file) ? `Change it in ${pbx.owners.get(user.file)!.changeIn}; keep AMI on 127.0.0.1 (the exposure step).` : 'Give the user a new random secret, permit only 127.0.0.1, and keep AMI bound to loopback (the exposure step).',
    });
  }
  return findings;
}

function fingerprintFindings(pbx: PbxConfig): Finding[] {
  const found: Setting[] = [];
  for (const key of ['useragent', 'sdpowner', 'sdpsession']) {
    const setting = valueOf(generalSettings(pbx.sip), key);
    if (setting && /asterisk|freepbx|elastix|issabel|\d+\.\d+/i.test(setting.value)) found.push(setting);
  }
  // PJSIP's [global] (type=global) user_agent, when it names the software or a version.
  for (const global of pjsipObjects(pbx.pjsip, 'global')) {
    const agent = valueOf(global.settings, 'user_agent');
    if (agent && /asterisk|freepbx|elastix|issabel|\d+\.\d+/i.test(agent.value)) found.push(agent);
  }
  const useragentSet = valueOf(generalSettings(pbx.sip), 'useragent');
  const findings: Finding[] = found.map((setting) => ({
    severity: 'low' as const,
    title: `${setting.key} = ${setting.value} tells scanners what this PBX runs (${where(setting)})`,
    why: 'svmap and friends read the user agent of every answer to pick the exploits and default secrets to try.',
    fix: `Set ${setting.key} to a neutral word (the step sets useragent = PBX).`,
  }));
  if (pbx.sip && !useragentSet) {
    findings.push({ severity: 'low', title: 'chan_sip answers with its default user agent ("Asterisk PBX" and its version)', why: 'svmap and friends read the user agent of every answer to pick the exploits and default secrets to try.', fix: 'Set useragent to a neutral word (the step sets useragent = PBX).' });
  }
  return findings;
}

/** What bulwark could not read: #exec (never run), #include of a file that is not there. */
function unreadFindings(pbx: PbxConfig): Finding[] {
  const configs = [pbx.sip, pbx.iax, pbx.pjsip, pbx.manager].filter((c) => c !== null);
  const seen = new Set<string>();
  const findings: Finding[] = [];
  for (const exec of configs.flatMap((c) => c.execs)) {
    if (seen.has(`${exec.file}:${exec.line}`)) continue;
    seen.add(`${exec.file}:${exec.line}`);
    findings.push({ severity: 'info', title: `#exec ${exec.command} at ${exec.file}:${exec.line} was not run: what it adds was not checked`, why: 'Asterisk runs the program and reads its output as configuration; bulwark never runs programs from configuration files.', fix: 'Check what it produces by hand, or replace it with a file.' });
  }
  // One finding per including file: a PBX often includes optional files it never created.
  const missingBy = new Map<string, string[]>();
  for (const missing of configs.flatMap((c) => c.missing)) {
    const list = missingBy.get(missing.file) ?? [];
    if (!list.includes(missing.target)) list.push(missing.target);
    missingBy.set(missing.file, list);
  }
  for (const [file, targets] of missingBy) {
    findings.push({ severity: 'info', title: `${file} includes ${targets.length === 1 ? 'a file that does not exist' : `${targets.length} files that do not exist`}: ${targets.join(', ')}`, why: 'Asterisk skips them too (with a warning in its log): settings you expect from them are not in effect.', fix: 'Create the files you meant to use, or remove the lines.' });
  }
  return findings;
}

function realtimeFindings(pbx: PbxConfig): Finding[] {
  return pbx.realtime.map((r) => ({
    severity: 'info' as const,
    title: `${r.family} come from a database (${r.driver}, ${r.file}:${r.line}): those peers were not checked`,
    why: 'Realtime peers (A2Billing keeps its customers\' SIP friends this way) live in database rows bulwark does not read: their secrets and ACLs are not in any file.',
    fix: 'Check them in the tool that writes them (A2Billing: the customers\' SIP friends).',
  }));
}

// Step `ssh`: key-only login, no root password login, modern algorithms for the installed OpenSSH
// (steps/ssh/algorithms.ts), session limits, and an optional port change. Guarded: the
// change is kept only when the admin proves, from a NEW connection (on the new port, if it moves),
// that SSH still works; otherwise sshd_config comes back byte for byte and sshd is reloaded.
// A port move has two phases: during the confirmation window sshd listens on the old and the new
// port and the firewall admits both; once confirmed, `finish` closes the old port (sshd, firewall,
// fail2ban's jail).
import type { Change, FileChange, ServiceChange } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { detectFirewall, type FirewallFacts } from '../firewall/detect.js';
import { firewallStep, type FirewallAnswers } from '../firewall/index.js';
import { findDaemon } from '../elastix-extras/boot.js';
import { chooseAlgorithms, hostKeyAlgorithms, keptHostKeys, knowsKeyword, parseOpenSshVersion, parsePublicKey, RHEL_OPENSSH, strongHostKey, weakAlgorithm, type HostKeyInfo, type OpenSshVersion } from './algorithms.js';

export interface SshAnswers {
  port?: number;
  passwordAuthentication?: boolean;
  /** SSH tunnels (ssh -L), e.g. for a MySQL GUI. Default: false. */
  allowTcpForwarding?: boolean;
}

/** Sessions: few guesses per connection, a short window to log in, dead clients dropped after 300 s x 2 unanswered checks. */
export const SESSION_SETTINGS = { maxAuthTries: 3, loginGraceTime: 30, clientAliveInterval: 300, clientAliveCountMax: 2 } as const;

export interface SshFacts {
  readonly live: boolean;
  readonly config: string | null;
  readonly configPath: string;
  /** Effective settings: `sshd -T` on the live box, sshd_config otherwise. */
  readonly effective: { readonly ports: readonly number[]; readonly passwordAuthentication: boolean; readonly permitRootLogin: string; readonly authorizedKeysFiles: readonly string[]; readonly algorithms: Readonly<Record<'kex' | 'ciphers' | 'macs' | 'hostkeys', readonly string[]>> | null; readonly settings: Readonly<Record<string, string>> };
  readonly serviceName: string;
  /** The admin's session: user, address, and whether the log shows it logged in with a key. */
  readonly admin: { readonly user: string; readonly address: string; readonly port: number; readonly keyProven: boolean; readonly keysInstalled: number } | null;
  readonly rtp: readonly [number, number];
  readonly listening: readonly number[];
  readonly firewall: FirewallFacts;
  /** The firewall step's answers, when bulwark's firewall is in place (to open the new port). */
  readonly firewallAnswers: FirewallAnswers | null;
  readonly modernRootKeyword: boolean;
  readonly selinux: boolean;
  /** The installed OpenSSH ([major, minor]); null when it cannot be told (then no algorithm lines are written). */
  readonly version: OpenSshVersion | null;
  /** The host keys sshd loads (HostKey lines, or the default files), with their type and size. */
  readonly hostKeys: readonly HostKeyInfo[];
}

const BLOCK_START = '# bulwark (step ssh): first in the file, because sshd keeps the first value it reads for each keyword.';
const BLOCK_END = '# end of bulwark\'s block';

export const sshStep: Step<SshFacts, SshAnswers> = {
  id: 'ssh',
  title: 'SSH hardening',
  guarded: true,
  why: [
    'Passwords can be guessed, and SSH is attacked all day long. A key cannot be guessed: with key-only login, the endless password attempts simply fail. bulwark turns passwords off only once it has seen you log in with a key, so you cannot lock yourself out that way.',
    'root may still log in, but only with a key (prohibit-password): no password for root is ever accepted.',
    'Only modern encryption that this OpenSSH knows (no NIST curves, SHA-1 or short MACs), weak host keys no longer loaded when a strong one exists, three guesses per connection, 30 seconds to log in, dead sessions dropped, and no X11, agent or (unless you say so) TCP forwarding.',
    'Moving SSH to another port cuts the noise of automated scans in the logs. But office and public Wi-Fi firewalls often block unusual ports, which can lock out your colleagues, and you in an emergency from a hotel. Keep 22 if in doubt: the key-only login is what protects you.',
    'This is applied under the dead-man switch: log in again from a NEW connection (on the new port, if you move it) and confirm, or everything comes back by itself.',
  ],

  async detect(ctx: StepContext): Promise<SshFacts> {
    const { host, system } = ctx;
    const configPath = '/etc/ssh/sshd_config';
    const config = await host.readText(configPath);
    const firewall = await detectFirewall(host, system, ctx.sshConnection);
    const effective = await effectiveSettings(host, config);
    const daemon = await findDaemon(host, system, ['ssh', 'sshd']);
    const parts = ctx.sshConnection?.trim().split(/\s+/) ?? [];
    const user = ctx.adminUser ?? 'root';
    let admin: SshFacts['admin'] = null;
    if (parts.length === 4) {
      const address = parts[0]!.replace(/^::ffff:/, '');
      admin = { user, address, port: Number(parts[3]), keyProven: await keyLoginProven(host, user, address, Number(parts[1])), keysInstalled: await keysInstalled(host, user, effective.authorizedKeysFiles) };
    }
    const rtpText = (await host.readText('/etc/asterisk/rtp.conf')) ?? '';
    const rtp: [number, number] = [Number(/^\s*rtpstart\s*=\s*(\d+)/m.exec(rtpText)?.[1] ?? 10000), Number(/^\s*rtpend\s*=\s*(\d+)/m.exec(rtpText)?.[1] ?? 20000)];
    const listening = host.live ? await listeningPorts(host) : [];
    const bulwarkFirewall = firewall.current.ipv4.includes(':BULWARK-INPUT');
    const saved = ctx.sessionAnswers?.firewall as FirewallAnswers | undefined;
    return {
      live: host.live,
      config,
      configPath,
      effective,
      serviceName: daemon?.name ?? 'ssh',
      admin,
      rtp,
      listening,
      firewall,
      firewallAnswers: bulwarkFirewall ? (saved ?? firewallStep.defaults(firewall)) : null,
      modernRootKeyword: !(system.distro.family === 'rhel' && /^[56]/.test(system.distro.version)),
      selinux: host.live && system.distro.family === 'rhel' && (await host.run({ file: 'selinuxenabled', args: [] }, { reject: false }).then((r) => r.exitCode === 0, () => false)),
      version: await openSshVersion(host, system.distro),
      hostKeys: await hostKeys(host, config),
    };
  },

  describe(facts: SshFacts): FactRow[] {
    const rows: FactRow[] = [
      { label: 'sshd', value: `ports ${facts.effective.ports.join(', ')}; passwords ${facts.effective.passwordAuthentication ? 'accepted' : 'refused'}; root login ${facts.effective.permitRootLogin}`, tone: facts.effective.passwordAuthentication ? 'bad' : 'good' },
    ];
    if (facts.admin) rows.push({ label: 'You', value: `${facts.admin.user} from ${facts.admin.address}, ${facts.admin.keyProven ? 'logged in with a key (seen in the log)' : facts.admin.keysInstalled > 0 ? `${facts.admin.keysInstalled} key(s) installed, but this session did not log in with one` : 'no key installed'}`, tone: facts.admin.keyProven ? 'good' : 'bad' });
    else rows.push({ label: 'You', value: 'at the console (not over SSH): bulwark cannot see a key login', tone: 'neutral' });
    rows.push({ label: 'Firewall', value: facts.firewallAnswers ? 'bulwark\'s firewall is in place: a new port is opened in it' : 'not bulwark\'s: open a new port yourself', tone: 'neutral' });
    return rows;
  },

  defaults(facts: SshFacts): SshAnswers {
    return { passwordAuthentication: !facts.admin?.keyProven, allowTcpForwarding: false };
  },

  questions(facts: SshFacts): Question[] {
    return [
      { kind: 'boolean', key: 'passwordAuthentication', prompt: facts.admin?.keyProven ? 'Keep accepting passwords? (No: key-only login, recommended)' : 'Keep accepting passwords? (Yes until you log in with a key)', help: 'bulwark refuses to turn passwords off until it has seen this session log in with a key.' },
      { kind: 'boolean', key: 'allowTcpForwarding', prompt: 'Allow SSH tunnels (port forwarding)? (No unless you tunnel, e.g. a MySQL GUI, through SSH)', help: 'A tunnel lets anyone who logs in reach services that only listen on this server (MySQL, the Asterisk manager) from their own computer.' },
      { kind: 'text', key: 'port', prompt: 'SSH port (leave empty to keep the current one)', help: 'Another port cuts log noise, but office and public Wi-Fi firewalls often block unusual ports.' },
    ];
  },

  withText(answers: SshAnswers, question: Question, text: string): SshAnswers | string {
    if (question.key !== 'port') return answers;
    const { port: _old, ...rest } = answers;
    if (text.trim() === '') return rest;
    if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || Number(text) > 65535) return 'A port from 1 to 65535, or nothing.';
    return { ...rest, port: Number(text.trim()) };
  },

  checkAnswers(facts: SshFacts, answers: SshAnswers): string[] {
    const port = answers.port;
    if (port === undefined || facts.effective.ports.includes(port)) return [];
    const problems: string[] = [];
    if (port >= facts.rtp[0] && port <= facts.rtp[1]) problems.push(`ssh.port: ${port} is inside Asterisk's RTP range ${facts.rtp[0]}-${facts.rtp[1]} (the calls' audio); expected a free port outside it, such as 2222`);
    if (facts.listening.includes(port)) problems.push(`ssh.port: something already listens on ${port}; expected a free port, such as 2222`);
    return problems;
  },

  preflight(facts: SshFacts, answers: SshAnswers): string[] {
    if (answers.passwordAuthentication !== false || !facts.effective.passwordAuthentication) return [];
    if (facts.admin?.keyProven) return [];
    const how = 'Add your public key first: on your computer run `ssh-copy-id USER@THIS-SERVER` (or append your ~/.ssh/id_ed25519.pub to ~/.ssh/authorized_keys here), log in again WITH the key, and run this step from that session.';
    if (!facts.admin) return [`Passwords stay on: bulwark runs at the console, so it cannot see that a key login works for you. ${how}`];
    return [`Passwords stay on: this session (${facts.admin.user} from ${facts.admin.address}) did not log in with a key${facts.admin.keysInstalled > 0 ? `, although ${facts.admin.keysInstalled} key(s) are installed` : ''}, so turning passwords off could lock you out. ${how}`];
  },

  confirmPort(facts: SshFacts, answers: SshAnswers): number | null {
    return answers.port !== undefined && !facts.effective.ports.includes(answers.port) ? answers.port : null;
  },

  plan(facts: SshFacts, answers: SshAnswers): Change[] {
    if (facts.config === null) return [];
    const moving = answers.port !== undefined && !facts.effective.ports.includes(answers.port) ? answers.port : null;
    // Under --root nothing is confirmed (nor guarded): the files get the final state at once. A
    // port bulwark already manages (its block holds Port lines) stays as it is.
    const managed = /^# \(bulwark\) Port\s+\d+$/m.test(facts.config) || /^Port \d+\n(?:Port \d+\n)*# end of bulwark's block$/m.test(facts.config);
    const ports = moving !== null ? (facts.live ? [...facts.effective.ports, moving] : [moving]) : answers.port !== undefined && managed ? [...facts.effective.ports] : null;
    const wanted = renderConfig(facts, answers, ports);
    const changes: Change[] = [];
    if (wanted !== facts.config) {
      changes.push({ kind: 'file', step: 'ssh', path: facts.configPath, before: facts.config, after: wanted, validators: [{ when: 'candidate', command: { file: 'sshd', args: ['-t', '-f', '{candidate}'] }, label: 'sshd -t on the new file' }], reason: moving === null ? 'key-only login settings' : `key-only login settings; sshd listens on ${ports!.join(' and ')} until you confirm` } satisfies FileChange);
    }
    if (moving !== null && facts.firewallAnswers) {
      const answersWithPort: FirewallAnswers = { ...facts.firewallAnswers, allow: [...facts.firewallAnswers.allow, { port: moving, proto: 'tcp' }] };
      changes.push(...firewallStep.plan(facts.firewall, answersWithPort).filter((c) => c.kind === 'firewall' || c.kind === 'file').map((c) => ({ ...c, step: 'ssh' as const })));
    }
    if (moving !== null && facts.selinux) changes.push({ kind: 'command', step: 'ssh', command: { file: 'semanage', args: ['port', '-a', '-t', 'ssh_port_t', '-p', 'tcp', String(moving)] }, creates: [], progress: `SELinux: sshd may listen on ${moving}`, reason: 'SELinux lets sshd use only labelled ports' });
    if (changes.length > 0 && facts.live) changes.push({ kind: 'service', step: 'ssh', names: [facts.serviceName, 'ssh', 'sshd'], action: 'reload', undo: 'reload', reason: 'sshd reads its configuration again (open sessions stay)' } satisfies ServiceChange);
    return changes;
  },

  planNotes(facts: SshFacts, answers: SshAnswers): string[] {
    const notes: string[] = [];
    const port = sshStep.confirmPort!(facts, answers);
    if (port !== null) notes.push(`Until you confirm, sshd listens on ${[...facts.effective.ports, port].join(' and ')}. Confirm from a NEW connection on port ${port} (ssh -p ${port} ...). Then bulwark closes ${facts.effective.ports.join(', ')} in sshd${facts.firewallAnswers ? ', in the firewall' : ''} and in fail2ban's sshd jail.`);
    if (port !== null && !facts.firewallAnswers) notes.push(`The firewall here is not bulwark's: open tcp/${port} in it before you confirm.`);
    if (port !== null) notes.push('Office and public Wi-Fi firewalls often block unusual ports: make sure you can reach this one from where you work.');
    return notes;
  },

  findings(facts: SshFacts): Finding[] {
    const findings: Finding[] = [];
    if (facts.effective.passwordAuthentication) findings.push({ severity: 'high', title: 'SSH accepts passwords', why: 'Passwords can be guessed; SSH is attacked all day long.', fix: 'Key-only login (once bulwark has seen you log in with a key).' });
    if (!/prohibit-password|without-password|no|forced-commands-only/.test(facts.effective.permitRootLogin)) findings.push({ severity: 'high', title: 'root may log in with a password over SSH', why: 'root is the first account every scanner tries.', fix: 'PermitRootLogin prohibit-password: root only with a key.' });
    findings.push(...cryptoFindings(facts));
    return findings;
  },

  async finish(ctx: StepContext, answers: SshAnswers) {
    // After confirmation: only the new port stays.
    const facts = await sshStep.detect(ctx);
    if (answers.port === undefined || facts.config === null) return { changes: [] };
    let firewallAnswers: FirewallAnswers | null = null;
    const changes: Change[] = [];
    const wanted = renderConfig(facts, answers, [answers.port]);
    if (wanted !== facts.config) changes.push({ kind: 'file', step: 'ssh', path: facts.configPath, before: facts.config, after: wanted, validators: [{ when: 'candidate', command: { file: 'sshd', args: ['-t', '-f', '{candidate}'] }, label: 'sshd -t on the new file' }], reason: `sshd listens on ${answers.port} only` } satisfies FileChange);
    if (facts.firewallAnswers) {
      const old = facts.effective.ports.filter((p) => p !== answers.port);
      const allow = facts.firewallAnswers.allow.filter((rule) => !(rule.proto === 'tcp' && old.includes(Number(rule.port)))).concat(facts.firewallAnswers.allow.some((r) => Number(r.port) === answers.port) ? [] : [{ port: answers.port, proto: 'tcp' as const }]);
      const next: FirewallAnswers = { ...facts.firewallAnswers, allow };
      firewallAnswers = next;
      changes.push(...firewallStep.plan({ ...facts.firewall, sshPorts: [answers.port] }, next).filter((c) => c.kind === 'firewall' || c.kind === 'file').map((c) => (c.kind === 'file' ? { ...c, afterConfirm: false, step: 'ssh' as const } : { ...c, step: 'ssh' as const })));
    }
    if (changes.length > 0 && facts.live) changes.push({ kind: 'service', step: 'ssh', names: [facts.serviceName, 'ssh', 'sshd'], action: 'reload', undo: 'reload', reason: 'sshd leaves the old port' } satisfies ServiceChange);
    return { changes, ...(firewallAnswers ? { answers: [{ step: 'firewall' as const, answers: firewallAnswers }] } : {}), follow: ['ids' as const] };
  },

  async verify(ctx: StepContext, answers: SshAnswers): Promise<VerifyCheck[]> {
    if (!ctx.host.live) return [];
    const [effective, version] = await Promise.all([effectiveSettings(ctx.host, await ctx.host.readText('/etc/ssh/sshd_config')), openSshVersion(ctx.host, ctx.system.distro)]);
    const checks: VerifyCheck[] = [];
    if (answers.passwordAuthentication === false) checks.push({ label: 'sshd refuses passwords', ok: !effective.passwordAuthentication });
    checks.push({ label: 'root logs in with a key only', ok: /prohibit-password|without-password/.test(effective.permitRootLogin) });
    if (answers.port !== undefined) checks.push({ label: `sshd listens on ${answers.port}`, ok: effective.ports.includes(answers.port) });
    // The effective values (sshd -T), not the file: an earlier Include or Match could win over the block.
    // sshd -T is 5.1's: older versions (CentOS 5) have only the file, which the plan wrote.
    if (effective.algorithms) for (const [keyword, value] of sessionLines(version, answers)) checks.push({ label: `sshd: ${keyword} ${value}`, ok: effective.settings[keyword.toLowerCase()]?.toLowerCase() === value.toLowerCase() });
    const chosen = version ? chooseAlgorithms(version) : null;
    if (chosen && effective.algorithms) {
      checks.push({ label: 'sshd offers only the chosen ciphers', ok: effective.algorithms.ciphers.join(',') === chosen.ciphers.join(',') });
      checks.push({ label: 'sshd offers only the chosen MACs', ok: effective.algorithms.macs.join(',') === chosen.macs.join(',') });
      if (chosen.kex) checks.push({ label: 'sshd offers only the chosen key exchanges', ok: effective.algorithms.kex.join(',') === chosen.kex.join(',') });
    }
    return checks;
  },
};

/** sshd_config with bulwark's block first (sshd keeps the first value of a keyword), other Port lines commented out when the ports are set. */
export function renderConfig(facts: SshFacts, answers: SshAnswers, ports: readonly number[] | null): string {
  let body = withoutBlock(facts.config ?? '');
  const settings: string[] = [];
  const version = facts.version;
  if (version) {
    const chosen = chooseAlgorithms(version);
    if (chosen.kex) settings.push(`KexAlgorithms ${chosen.kex.join(',')}`);
    settings.push(`Ciphers ${chosen.ciphers.join(',')}`, `MACs ${chosen.macs.join(',')}`);
    const kept = keptHostKeys(facts.hostKeys);
    // HostKey lines add up over the whole file: the others are commented out, as Port lines are.
    if (kept.length < facts.hostKeys.length) {
      settings.push(...kept.map((k) => `HostKey ${k.path}`));
      body = body.replace(/^(HostKey\s+\S+)$/gim, '# (bulwark) $1');
    }
    if (kept.length > 0 && knowsKeyword(version, 'HostKeyAlgorithms')) settings.push(`HostKeyAlgorithms ${hostKeyAlgorithms(kept).join(',')}`);
  }
  settings.push(...sessionLines(version, answers).map(([k, v]) => `${k} ${v}`));
  if (answers.passwordAuthentication === false) settings.push('PasswordAuthentication no', 'ChallengeResponseAuthentication no');
  settings.push(`PermitRootLogin ${facts.modernRootKeyword ? 'prohibit-password' : 'without-password'}`);
  if (ports !== null) {
    settings.push(...ports.map((p) => `Port ${p}`));
    body = body.replace(/^(Port\s+\d+)$/gm, '# (bulwark) $1');
  }
  return [BLOCK_START, '# Undo with: bulwark rollback --step ssh', ...settings, BLOCK_END, ''].join('\n') + body;
}

/** Session and forwarding settings, each only where the version knows its keyword (AllowAgentForwarding is 5.2's: left out when the version is unknown). */
function sessionLines(version: OpenSshVersion | null, answers: SshAnswers): [string, string][] {
  const lines: [string, string][] = [
    ['MaxAuthTries', String(SESSION_SETTINGS.maxAuthTries)],
    ['LoginGraceTime', String(SESSION_SETTINGS.loginGraceTime)],
    ['ClientAliveInterval', String(SESSION_SETTINGS.clientAliveInterval)],
    ['ClientAliveCountMax', String(SESSION_SETTINGS.clientAliveCountMax)],
    // ClientAlive checks (inside the encrypted channel) find dead clients; TCP keep-alives add nothing but a spoofable packet.
    ['TCPKeepAlive', 'no'],
    // Which key logged in (its fingerprint), in the log: who it was, after the fact.
    ['LogLevel', 'VERBOSE'],
    // Compressing before encrypting leaks the size of what was compressed (CRIME-like attacks); an admin's shell gains nothing from it.
    ['Compression', 'no'],
    ['X11Forwarding', 'no'],
    ['AllowTcpForwarding', answers.allowTcpForwarding === true ? 'yes' : 'no'],
  ];
  if (version !== null && knowsKeyword(version, 'AllowAgentForwarding')) lines.push(['AllowAgentForwarding', 'no']);
  return lines;
}

/** What ssh-audit would fail or warn about in the effective configuration, and weak host keys. */
function cryptoFindings(facts: SshFacts): Finding[] {
  const findings: Finding[] = [];
  const algorithms = facts.effective.algorithms;
  if (algorithms) {
    const labels = { kex: 'key exchanges', ciphers: 'ciphers', macs: 'MACs', hostkeys: 'host key algorithms' } as const;
    for (const kind of ['kex', 'ciphers', 'macs', 'hostkeys'] as const) {
      const weak = algorithms[kind].filter((name) => weakAlgorithm(kind, name));
      if (weak.length > 0) findings.push({ severity: 'medium', title: `SSH offers weak ${labels[kind]}: ${weak.join(', ')}`, why: 'Old or weak algorithms (SHA-1, NIST curves, 64-bit tags, encrypt-and-MAC) are what audits such as ssh-audit fail or warn about; a client can be talked into them.', fix: `Only modern ${labels[kind]} that this OpenSSH${facts.version ? ` ${facts.version.join('.')}` : ''} knows.` });
    }
  } else if (facts.version && !/^\s*Ciphers\s/im.test(facts.config ?? '')) {
    findings.push({ severity: 'medium', title: `SSH offers OpenSSH ${facts.version.join('.')}'s default algorithms, weak ones included`, why: 'The defaults keep old algorithms for old clients; audits such as ssh-audit fail or warn about them.', fix: 'Only modern key exchanges, ciphers and MACs that this version knows.' });
  }
  const ed25519 = facts.version !== null && facts.version[0] * 100 + facts.version[1] >= 605; // ed25519 keys: 6.5 on
  const newKey = ed25519 ? 'ssh-keygen -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key' : 'ssh-keygen -t rsa -b 3072 -N "" -f /etc/ssh/ssh_host_rsa_key (after moving the old one away)';
  const kept = keptHostKeys(facts.hostKeys);
  for (const key of facts.hostKeys.filter((k) => !strongHostKey(k))) {
    findings.push({ severity: 'medium', title: `Weak SSH host key: ${key.path} (${key.type}, ${key.bits} bits)`, why: 'DSA, RSA under 3072 bits and the NIST curves are what audits flag; the host key is how clients know they reach this server.', fix: kept.includes(key) ? `It is the best key this server has, so bulwark keeps it (sshd needs one). Make a strong one with \`${newKey}\`, add it as a HostKey, and tell your users its fingerprint: their ssh will warn that the server's key changed.` : 'bulwark stops loading it: a stronger key exists.' });
  }
  return findings;
}

/** `ssh -V` on a live box (it prints to stderr; `sshd -V` prints the version in its usage error where -V is unknown); dpkg's status, or the release's version on RHEL, under --root. */
async function openSshVersion(host: Host, distro: { readonly family: string; readonly version: string }): Promise<OpenSshVersion | null> {
  if (host.live) {
    for (const file of ['sshd', 'ssh']) {
      const result = await host.run({ file, args: ['-V'] }, { reject: false }).catch(() => null);
      const version = result ? parseOpenSshVersion(`${result.stderr}\n${result.stdout}`) : null;
      if (version) return version;
    }
  }
  const status = (await host.readText('/var/lib/dpkg/status')) ?? '';
  const stanza = status.split(/\n\n/).find((s) => /^Package: openssh-server$/m.test(s) && /^Status: install ok installed$/m.test(s));
  const dpkgVersion = stanza ? /^Version: (.+)$/m.exec(stanza)?.[1] : undefined;
  if (dpkgVersion) return parseOpenSshVersion(dpkgVersion);
  if (distro.family === 'rhel') return RHEL_OPENSSH[distro.version.split('.')[0]!] ?? null;
  return null;
}

/** The host keys sshd loaded before bulwark (so a second plan chooses from the same set): its HostKey lines, else the default files that exist; read from their .pub halves (never the private keys). */
async function hostKeys(host: Host, config: string | null): Promise<HostKeyInfo[]> {
  const listed = [...withoutBlock(config ?? '').matchAll(/^\s*HostKey\s+(\S+)/gim)].map((m) => m[1]!);
  const paths = listed.length > 0 ? listed : ['rsa', 'ecdsa', 'ed25519', 'dsa'].map((t) => `/etc/ssh/ssh_host_${t}_key`);
  const keys: HostKeyInfo[] = [];
  for (const path of paths) {
    const text = await host.readText(`${path}.pub`);
    const key = text ? parsePublicKey(path, text) : null;
    if (key) keys.push(key);
  }
  return keys;
}

/** sshd_config as it was before bulwark: without bulwark's block, with the Port and HostKey lines bulwark commented out given back. */
function withoutBlock(text: string): string {
  const start = text.indexOf(BLOCK_START);
  const end = text.indexOf(BLOCK_END);
  const body = start !== -1 && end > start ? text.slice(0, start) + text.slice(text.indexOf('\n', end) + 1) : text;
  return body.replace(/^# \(bulwark\) ((?:Port|HostKey)\s+\S+)$/gim, '$1');
}

async function effectiveSettings(host: Host, config: string | null): Promise<SshFacts['effective']> {
  if (host.live && (await host.findProgram('sshd'))) {
    const result = await host.run({ file: 'sshd', args: ['-T'] }, { reject: false });
    if (result.exitCode === 0) {
      const ports = [...result.stdout.matchAll(/^port (\d+)$/gm)].map((m) => Number(m[1]));
      const keys = /^authorizedkeysfile (.+)$/m.exec(result.stdout)?.[1]?.split(/\s+/) ?? ['.ssh/authorized_keys'];
      const settings: Record<string, string> = {};
      for (const m of result.stdout.matchAll(/^(\S+) (.*)$/gm)) settings[m[1]!] ??= m[2]!;
      const list = (keyword: string) => settings[keyword]?.split(',') ?? [];
      const algorithms = { kex: list('kexalgorithms'), ciphers: list('ciphers'), macs: list('macs'), hostkeys: list('hostkeyalgorithms') };
      return { ports, passwordAuthentication: /^passwordauthentication yes$/m.test(result.stdout), permitRootLogin: /^permitrootlogin (\S+)$/m.exec(result.stdout)?.[1] ?? 'yes', authorizedKeysFiles: keys, algorithms, settings };
    }
  }
  // The file, the first value of each keyword (what sshd keeps), defaults otherwise.
  const first = (keyword: string) => new RegExp(`^\\s*${keyword}\\s+(\\S+)`, 'im').exec(config ?? '')?.[1];
  const ports = [...(config ?? '').matchAll(/^\s*Port\s+(\d+)/gim)].map((m) => Number(m[1]));
  const keys = new RegExp('^\\s*AuthorizedKeysFile\\s+(.+)$', 'im').exec(config ?? '')?.[1]?.trim().split(/\s+/) ?? ['.ssh/authorized_keys', '.ssh/authorized_keys2'];
  return { ports: ports.length > 0 ? ports : [22], passwordAuthentication: (first('PasswordAuthentication') ?? 'yes').toLowerCase() === 'yes', permitRootLogin: first('PermitRootLogin') ?? 'prohibit-password', authorizedKeysFiles: keys, algorithms: null, settings: {} };
}

/** Did this session log in with a key? sshd logs "Accepted publickey for USER from ADDR port N". */
async function keyLoginProven(host: Host, user: string, address: string, clientPort: number): Promise<boolean> {
  for (const log of ['/var/log/auth.log', '/var/log/secure']) {
    const text = await host.readText(log);
    if (text && new RegExp(`Accepted publickey for ${user.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} from ${address.replace(/[.:]/g, '\\$&')} port ${clientPort}\\b`).test(text)) return true;
  }
  if (host.live) {
    const journal = await host.run({ file: 'journalctl', args: ['-q', '--no-pager', '-o', 'cat', '_COMM=sshd', '--since', '-1d'] }, { reject: false }).catch(() => null);
    if (journal && journal.stdout.includes(`Accepted publickey for ${user} from ${address} port ${clientPort} `)) return true;
  }
  return false;
}

/** Keys in the user's AuthorizedKeysFile(s): %h is the home, %u the user, relative paths start at the home. */
async function keysInstalled(host: Host, user: string, patterns: readonly string[]): Promise<number> {
  const passwd = (await host.readText('/etc/passwd')) ?? '';
  const home = new RegExp(`^${user}:[^:]*:\\d+:\\d+:[^:]*:([^:]+):`, 'm').exec(passwd)?.[1] ?? (user === 'root' ? '/root' : `/home/${user}`);
  let count = 0;
  for (const pattern of patterns) {
    if (pattern === 'none') continue;
    const expanded = pattern.replace(/%h/g, home).replace(/%u/g, user).replace(/%%/g, '%');
    const text = (await host.readText(expanded.startsWith('/') ? expanded : `${home}/${expanded}`)) ?? '';
    count += text.split('\n').filter((line) => /^(\S+\s+)?(ssh-|ecdsa-|sk-)/.test(line.trim())).length;
  }
  return count;
}

async function listeningPorts(host: Host): Promise<number[]> {
  const result = await host.run({ file: 'ss', args: ['-H', '-ltn'] }, { reject: false });
  return [...result.stdout.matchAll(/:(\d+)\s+\S+:\*?/g)].map((m) => Number(m[1]));
}

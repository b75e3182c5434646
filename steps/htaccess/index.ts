// Step `htaccess`: a second login in front of the admin web apps. A2Billing, FreePBX and the
// Elastix GUI have their own logins, and new holes in them keep being found; Apache's Basic auth is
// far more used, tested and inspected, so an attacker must get past both. The users live in an
// htpasswd file readable by Apache only; passwords are hashed (bcrypt on Apache 2.4, APR-MD5 on 2.2,
// which cannot read bcrypt) and never shown, logged or kept in bulwark's state.
import { readFile } from 'node:fs/promises';
import type { Change, FileChange, LinkChange, ServiceChange } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { ApacheFacts } from '../../src/system.js';
import { apacheTest, confSlot, type ConfSlot } from '../apache.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { findDaemon } from '../elastix-extras/boot.js';
import { hashPassword, passwordMatches } from './htpasswd.js';

export interface HtaccessAnswers {
  protect: string[];
  /** passwordFile, or nothing when the password was typed in the wizard (see typedPasswords). */
  users: { name: string; passwordFile?: string }[];
}

/**
 * Passwords typed in the wizard, by user name: in this process's memory only. They are never put in
 * the answers, the journal or a file of bulwark's; a resumed session asks for them again.
 */
const typedPasswords = new Map<string, string>();

export interface HtaccessFacts {
  readonly live: boolean;
  readonly apache: ApacheFacts | null;
  readonly apacheRunning: boolean | null;
  /** The group Apache runs as: the htpasswd file is root:<group> 0640. */
  readonly apacheGroup: string;
  readonly conf: ConfSlot | null;
  readonly htpasswd: { readonly path: string; readonly current: string | null };
  /** Admin web apps found, to prefill the paths. */
  readonly adminPaths: readonly string[];
  /** The htpasswd lines for the chosen users (filled by prepare: it reads the password files). */
  users: { name: string; line: string }[] | null;
  /** Problems with the password files, named by field (filled by prepare). */
  userProblems: string[];
}

const CONF_NAME = 'bulwark-htaccess.conf';
const REALM = 'Second login (bulwark)';

/** Admin apps and where their pages are, when present in the docroot. */
const ADMIN_APPS: readonly { path: string; marker: string }[] = [
  { path: '/a2billing/admin', marker: 'a2billing/admin' },
  { path: '/admin', marker: 'admin' },
  { path: '/recordings', marker: 'recordings' },
  { path: '/phpmyadmin', marker: 'phpmyadmin' },
];

export const htaccessStep: Step<HtaccessFacts, HtaccessAnswers> = {
  id: 'htaccess',
  title: 'Web second layer',
  why: [
    'A2Billing, FreePBX and the Elastix interface each have their own login page, and new holes keep being found in such pages: a flaw in the application can let an attacker straight past its login.',
    'Apache\'s own password check (Basic authentication) is used on millions of servers and has been tested and inspected for decades. Put in front of the admin pages, it is a second door: an attacker must get through both, and the application\'s login is no longer reachable by the whole Internet.',
    'Passwords are stored hashed, in a file only Apache can read. bulwark never shows them, logs them or keeps them. Use it with HTTPS (the certificate step): Basic authentication sends the password with every request.',
  ],

  async detect(ctx: StepContext): Promise<HtaccessFacts> {
    const { host, system } = ctx;
    const apache = system.apache;
    const docroot = '/var/www/html';
    const adminPaths: string[] = [];
    for (const app of ADMIN_APPS) if (await host.exists(`${docroot}/${app.marker}`)) adminPaths.push(app.path);
    const conf = await confSlot(host, apache, CONF_NAME);
    const htpasswdPath = apache?.flavour === 'apache2' ? '/etc/apache2/bulwark.htpasswd' : '/etc/httpd/bulwark.htpasswd';
    const daemon = apache ? await findDaemon(host, system, [apache.flavour]) : null;
    return {
      live: host.live,
      apache,
      apacheRunning: daemon?.running ?? null,
      apacheGroup: await apacheGroup(host, apache),
      conf,
      htpasswd: { path: htpasswdPath, current: await host.readText(htpasswdPath) },
      adminPaths,
      users: null,
      userProblems: [],
    };
  },

  async prepare(facts: HtaccessFacts, answers: HtaccessAnswers): Promise<void> {
    // The password files are the admin's, on this machine (not inside --root). A user whose
    // password still matches its line keeps that line (hashes are salted: rehashing would change
    // the file every time).
    const existing = new Map((facts.htpasswd.current ?? '').split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf(':')), line] as const));
    const users: { name: string; line: string }[] = [];
    const problems: string[] = [];
    for (const [i, user] of answers.users.entries()) {
      let password: string;
      if (user.passwordFile === undefined) {
        const typed = typedPasswords.get(user.name);
        if (typed === undefined) {
          problems.push(`htaccess.users[${i}].passwordFile: expected the absolute path of a file holding ${user.name}'s password (a password typed in the wizard is not kept between runs: type it again)`);
          continue;
        }
        password = typed;
      } else {
        try {
          password = (await readFile(user.passwordFile, 'utf8')).replace(/\r?\n$/, '');
        } catch (error) {
          problems.push(`htaccess.users[${i}].passwordFile: cannot read ${user.passwordFile} (${(error as NodeJS.ErrnoException).code ?? 'error'}); expected a file holding the password on its first line`);
          continue;
        }
      }
      if (password.includes('\n') || password.length < 10) {
        problems.push(`htaccess.users[${i}].passwordFile: expected one line holding a password of at least 10 characters`);
        continue;
      }
      const old = existing.get(user.name);
      const hash = old && passwordMatches(password, old.slice(old.indexOf(':') + 1)) ? old.slice(old.indexOf(':') + 1) : hashPassword(password, facts.apache?.version ?? '2.4');
      users.push({ name: user.name, line: `${user.name}:${hash}` });
    }
    facts.users = users;
    facts.userProblems = problems;
  },

  checkAnswers(facts: HtaccessFacts, answers: HtaccessAnswers): string[] {
    const problems = [...facts.userProblems];
    if (answers.protect.length > 0 && answers.users.length === 0) problems.push('htaccess.users: expected at least one user (name and passwordFile) for the protected paths');
    const names = answers.users.map((u) => u.name);
    const twice = names.filter((name, i) => names.indexOf(name) !== i);
    if (twice.length > 0) problems.push(`htaccess.users: the name "${twice[0]}" is given twice`);
    return problems;
  },

  describe(facts: HtaccessFacts): FactRow[] {
    const rows: FactRow[] = [{ label: 'Apache', value: facts.apache ? `${facts.apache.flavour} ${facts.apache.version}${facts.apacheRunning === null ? '' : facts.apacheRunning ? ', running' : ', not running'}` : 'not installed: nothing to protect', tone: facts.apache ? 'neutral' : 'bad' }];
    rows.push({ label: 'Admin pages found', value: facts.adminPaths.join(', ') || 'none', tone: facts.adminPaths.length > 0 ? 'bad' : 'neutral' });
    rows.push({ label: 'Second login now', value: facts.conf?.current ? protectedPaths(facts.conf.current).join(', ') || 'none' : 'none', tone: facts.conf?.current ? 'good' : 'neutral' });
    return rows;
  },

  // Nothing is protected until a user is named (a plan of every step must not need one); the wizard
  // ticks the admin pages it found as a suggestion.
  defaults(): HtaccessAnswers {
    return { protect: [], users: [] };
  },

  choiceOf(answers: HtaccessAnswers, question: Question): string[] {
    if (question.key !== 'protect' || question.kind !== 'multiselect') return [];
    if (answers.protect.length === 0 && answers.users.length === 0) return question.choices.filter((c) => c.suggested).map((c) => c.value);
    return answers.protect;
  },

  questions(facts: HtaccessFacts): Question[] {
    const paths = [...new Set([...facts.adminPaths, ...ADMIN_APPS.map((a) => a.path)])];
    return [
      { kind: 'multiselect', key: 'protect', prompt: 'Which pages should ask for a second login?', help: 'The admin pages: never the pages your customers use.', choices: paths.map((p) => ({ value: p, label: p, detail: facts.adminPaths.includes(p) ? 'found on this box' : 'not found here', suggested: facts.adminPaths.includes(p) })) },
      { kind: 'text', key: 'user', prompt: 'User name for the second login', help: 'Letters, digits, ".", "_" or "-". More users: list them in an answers file (htaccess.users).' },
      { kind: 'text', key: 'password', secret: true, prompt: 'Its password (at least 10 characters; not shown, not stored by bulwark)', help: 'It is hashed into the password file; bulwark keeps no copy. Starting bulwark again asks for it again.' },
    ];
  },

  withText(answers: HtaccessAnswers, question: Question, text: string): HtaccessAnswers | string {
    if (question.key === 'user') {
      const name = text.trim();
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) return 'Letters, digits, ".", "_" or "-", at most 64.';
      return { ...answers, users: [{ name }] };
    }
    if (question.key === 'password') {
      const user = answers.users[0];
      if (!user) return 'Give the user name first.';
      if (text.length < 10) return 'At least 10 characters.';
      if (/[\r\n]/.test(text)) return 'One line only.';
      typedPasswords.set(user.name, text);
      return { ...answers, users: [{ name: user.name }] };
    }
    return answers;
  },

  plan(facts: HtaccessFacts, answers: HtaccessAnswers): Change[] {
    const apache = facts.apache;
    if (!apache || !facts.conf) return [];
    if (!facts.users) throw new Error('bug: htaccess planned before its users were read (prepare)');
    const changes: Change[] = [];
    const wanted = answers.protect.length === 0 ? null : renderAuthConf(apache, answers.protect, facts.htpasswd.path);
    const passwd = answers.protect.length === 0 ? null : facts.users.map((u) => u.line).join('\n') + '\n';
    if (passwd !== facts.htpasswd.current) {
      changes.push({ kind: 'file', step: 'htaccess', path: facts.htpasswd.path, before: facts.htpasswd.current, after: passwd, mode: 0o640, owner: { user: 'root', group: facts.apacheGroup }, secret: true, reason: `the users of the second login (${facts.users.map((u) => u.name).join(', ')}), hashed; readable by Apache only` } satisfies FileChange);
    }
    if (wanted !== facts.conf.current) {
      changes.push({ kind: 'file', step: 'htaccess', path: facts.conf.path, before: facts.conf.current, after: wanted, mode: 0o644, validators: wanted === null ? [] : [apacheTest(apache)], reason: wanted === null ? 'no second login any more' : `a second login in front of ${answers.protect.join(', ')}` } satisfies FileChange);
    }
    const link = facts.conf.link;
    if (link && link.current !== (wanted === null ? null : link.target)) changes.push({ kind: 'link', step: 'htaccess', path: link.path, before: link.current, after: wanted === null ? null : link.target, reason: 'enables bulwark\'s Apache file (as a2enconf does)' } satisfies LinkChange);
    if (changes.length > 0 && facts.live && facts.apacheRunning) changes.push({ kind: 'service', step: 'htaccess', names: [apache.flavour], action: 'reload', undo: 'reload', reason: 'Apache reads its configuration again (graceful: open connections finish)' } satisfies ServiceChange);
    return changes;
  },

  planNotes(facts: HtaccessFacts, answers: HtaccessAnswers): string[] {
    const notes: string[] = [];
    if (!facts.apache) return ['Apache is not installed: there is nothing to protect.'];
    notes.push(`Passwords are stored as ${facts.apache.version === '2.4' ? 'bcrypt hashes' : 'APR-MD5 hashes (Apache 2.2 cannot read bcrypt)'} in ${facts.htpasswd.path}, owned root:${facts.apacheGroup}, mode 0640; the diff never shows them.`);
    if (answers.protect.length > 0) notes.push('Use HTTPS for these pages (the certificate step): Basic authentication sends the password with every request.');
    return notes;
  },

  findings(facts: HtaccessFacts): Finding[] {
    if (!facts.apache || facts.adminPaths.length === 0) return [];
    const covered = facts.conf?.current ? protectedPaths(facts.conf.current) : [];
    const open = facts.adminPaths.filter((p) => !covered.includes(p));
    return open.length === 0 ? [] : [{ severity: 'medium', title: `Admin pages with only the application's own login: ${open.join(', ')}`, why: 'A hole in the application lets an attacker past its login; nothing else stands in the way.', fix: 'Put Apache\'s Basic authentication in front of them as a second login.' }];
  },

  async verify(ctx: StepContext, answers: HtaccessAnswers): Promise<VerifyCheck[]> {
    const facts = await htaccessStep.detect(ctx);
    const covered = facts.conf?.current ? protectedPaths(facts.conf.current) : [];
    const checks: VerifyCheck[] = answers.protect.map((p) => ({ label: `${p} asks for the second login`, ok: covered.includes(p) }));
    if (answers.protect.length > 0) {
      const meta = await ctx.host.stat(facts.htpasswd.path);
      checks.push({ label: `${facts.htpasswd.path} is readable by Apache only (0640)`, ok: meta !== null && (meta.mode & 0o777) === 0o640 });
    }
    return checks;
  },
};

/** A Location per path: Basic auth against bulwark's htpasswd file, in the installed Apache's syntax. */
export function renderAuthConf(apache: ApacheFacts, paths: readonly string[], htpasswd: string): string {
  const lines = ['# Managed by bulwark (step htaccess): a second login in front of the admin pages.', `# Apache ${apache.version} syntax. Undo with: bulwark rollback --step htaccess`, ''];
  for (const webPath of paths) {
    lines.push(`<Location "${webPath}">`, '    AuthType Basic', `    AuthName "${REALM}"`);
    if (apache.version === '2.4') lines.push('    AuthBasicProvider file', `    AuthUserFile "${htpasswd}"`, '    Require valid-user');
    // 2.2: Satisfy All, so that an app's own "Allow from all" does not let anyone in without the login.
    else lines.push(`    AuthUserFile "${htpasswd}"`, '    Require valid-user', '    Satisfy All');
    lines.push('</Location>', '');
  }
  return lines.join('\n');
}

function protectedPaths(conf: string): string[] {
  return [...conf.matchAll(/^<Location "([^"]+)">$/gm)].map((m) => m[1]!);
}

/** The group Apache runs as: APACHE_RUN_GROUP on Debian, the Group directive on RHEL (asterisk on Elastix). */
async function apacheGroup(host: Host, apache: ApacheFacts | null): Promise<string> {
  if (apache?.flavour === 'apache2') return /^export APACHE_RUN_GROUP=(\S+)/m.exec((await host.readText('/etc/apache2/envvars')) ?? '')?.[1] ?? 'www-data';
  if (apache) return /^\s*Group\s+(\S+)/m.exec((await host.readText(apache.mainConfig)) ?? '')?.[1] ?? 'apache';
  return 'root';
}

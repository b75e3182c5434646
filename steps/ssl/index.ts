// Step `ssl`: a certificate a CA signed, installed without breaking the site. Without a certificate
// the step makes a private key and a certificate signing request (CSR) for the CA; with one, the
// pre-flight gate (gate.ts) checks the certificate, its key and its chain before Apache is touched,
// then installs a 443 virtual host and sends HTTP to HTTPS. Self-signed only when asked.
import { childProcess } from '../../src/builtins.js';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Change, FileChange, LinkChange, PackageChange, ServiceChange } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { ApacheFacts } from '../../src/system.js';
import { apacheTest } from '../apache.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { findDaemon } from '../elastix-extras/boot.js';
import { checkCertificate, parseBundle, splitPem } from './gate.js';

export interface SslAnswers {
  domain: string;
  cert?: string;
  key?: string;
  chain?: string;
  names?: string[];
  keyType?: 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072';
  root?: string;
  selfSigned?: boolean;
  hsts?: boolean;
  keepHttp?: string[];
}

interface Paths {
  readonly key: string;
  readonly csr: string;
  readonly cert: string;
  readonly chain: string;
  readonly fullchain: string;
  readonly vhost: string;
  readonly vhostLink: { readonly path: string; readonly target: string } | null;
}

export interface SslFacts {
  readonly live: boolean;
  readonly family: 'debian' | 'rhel' | 'unknown';
  readonly apache: ApacheFacts | null;
  /** "2.4.57": SSLCertificateChainFile before 2.4.8, a full-chain file after. */
  readonly apacheRelease: string | null;
  readonly apacheRunning: boolean | null;
  readonly modSslInstalled: boolean;
  /** Module links Debian's a2enmod would make: name -> { path, target, current }. */
  readonly modules: readonly { readonly name: string; readonly path: string; readonly target: string; readonly current: string | null; readonly available: boolean }[];
  readonly bundle: string | null;
  readonly docroot: string;
  /** The current content of every path the step writes, by path (keys included: secret). */
  current: Record<string, string | null>;
  currentLinks: Record<string, string | null>;
  /** Filled by prepare: what to write, or why not. */
  prepared: Prepared | null;
  /** The box, for prepare: the paths to read depend on the domain, known only with the answers. */
  readonly host: Host;
}

interface Prepared {
  readonly paths: Paths;
  readonly files: { path: string; content: string; mode: number; secret?: boolean; reason: string }[];
  readonly problems: string[];
  readonly notes: string[];
  readonly install: boolean;
}

const CONF = 'bulwark-ssl.conf';

export const sslStep: Step<SslFacts, SslAnswers> = {
  id: 'ssl',
  title: 'Certificates',
  why: [
    'Without HTTPS, every password typed into the admin pages (and the second login\'s, on every request) crosses the network in clear text.',
    'A certificate signed by a certificate authority (CA) is what browsers trust. The usual way: make a private key and a signing request (CSR) on this server, send the CSR to the CA, and install the certificate it sends back. The private key never leaves the server.',
    'A self-signed certificate encrypts too, but browsers cannot tell it from an attacker\'s and warn about it; people learn to click through such warnings, which defeats the point. bulwark makes one only when you ask.',
    'Before Apache is touched, bulwark checks that the key matches the certificate, the chain is complete and in order, the names cover your domain, and the dates and key are acceptable. If anything is wrong, nothing changes and the old certificate keeps being served.',
  ],

  async detect(ctx: StepContext): Promise<SslFacts> {
    const { host, system } = ctx;
    const apache = system.apache;
    const daemon = apache ? await findDaemon(host, system, [apache.flavour]) : null;
    const modules = [];
    if (apache?.flavour === 'apache2') {
      for (const name of ['socache_shmcb.load', 'ssl.load', 'ssl.conf', 'headers.load']) {
        const linkPath = `/etc/apache2/mods-enabled/${name}`;
        const meta = await host.lstat(linkPath);
        modules.push({ name, path: linkPath, target: `../mods-available/${name}`, current: meta?.type === 'symlink' ? await host.readlink(linkPath) : meta ? '(a file)' : null, available: await host.exists(`/etc/apache2/mods-available/${name}`) });
      }
    }
    const modSslInstalled = apache?.flavour === 'apache2' ? await host.exists('/etc/apache2/mods-available/ssl.load') : (await host.exists('/etc/httpd/conf.d/ssl.conf')) || (await host.exists('/etc/httpd/conf.modules.d/00-ssl.conf')) || (await host.exists('/etc/httpd/modules/mod_ssl.so'));
    return {
      live: host.live,
      family: system.distro.family,
      apache,
      apacheRelease: await apacheRelease(host, apache, system.distro),
      apacheRunning: daemon?.running ?? null,
      modSslInstalled,
      modules,
      bundle: (await host.readText('/etc/ssl/certs/ca-certificates.crt')) ?? (await host.readText('/etc/pki/tls/certs/ca-bundle.crt')),
      docroot: '/var/www/html',
      current: {},
      currentLinks: {},
      prepared: null,
      host,
    };
  },

  async prepare(facts: SslFacts, answers: SslAnswers): Promise<void> {
    if (!answers.domain) return;
    const paths = pathsFor(facts, answers.domain);
    // What is there now, at every path the step may write (facts are the wizard's copy: fill it).
    const read: Record<string, string | null> = {};
    for (const file of [paths.key, paths.csr, paths.cert, paths.chain, paths.fullchain, paths.vhost]) read[file] = await facts.host.readText(file);
    facts.current = read;
    if (paths.vhostLink) {
      const meta = await facts.host.lstat(paths.vhostLink.path);
      facts.currentLinks = { [paths.vhostLink.path]: meta?.type === 'symlink' ? await facts.host.readlink(paths.vhostLink.path) : null };
    }
    const files: Prepared['files'] = [];
    const problems: string[] = [];
    const notes: string[] = [];
    const names = [answers.domain, ...(answers.names ?? [])];
    const current = facts.current;
    let install = false;

    if (!answers.cert && !answers.selfSigned) {
      // Request mode: a key (kept if there is one) and a CSR for the names.
      const key = current[paths.key] ?? generateKey(answers.keyType ?? 'ecdsa-p256');
      if (current[paths.key] === null || current[paths.key] === undefined) files.push({ path: paths.key, content: key, mode: 0o600, secret: true, reason: `the private key (${answers.keyType ?? 'ecdsa-p256'}); it never leaves this server` });
      const csrNow = current[paths.csr] ?? null;
      if (!(csrNow && csrCovers(csrNow, key, names))) files.push({ path: paths.csr, content: makeCsr(key, answers.domain, names), mode: 0o644, reason: `the certificate signing request for ${names.join(', ')}: send it to your CA` });
      notes.push(`Private key: ${paths.key} (mode 0600). Request: ${paths.csr}.`, `Next: send the request to your certificate authority. When it sends back the certificate and its intermediate chain, run this step again with ssl.cert, ssl.key = ${paths.key} and ssl.chain.`);
    } else {
      install = true;
      let certPem: string;
      let keyPem: string;
      let chainPem: string | null = null;
      if (answers.selfSigned && !answers.cert) {
        keyPem = current[paths.key] ?? generateKey(answers.keyType ?? 'ecdsa-p256');
        if (!current[paths.key]) files.push({ path: paths.key, content: keyPem, mode: 0o600, secret: true, reason: 'the private key of the self-signed certificate' });
        certPem = current[paths.cert] && certMatches(current[paths.cert]!, keyPem, names) ? current[paths.cert]! : selfSign(keyPem, answers.domain, names);
        notes.push('SELF-SIGNED, as you asked: the traffic is encrypted, but every browser will warn that the certificate is not trusted, and people learn to click such warnings away. Replace it with a CA-signed certificate as soon as you can.');
      } else {
        const read = (field: string, file: string | undefined): string | null => {
          if (!file) return null;
          try {
            return readFileSync(file, 'utf8');
          } catch (error) {
            problems.push(`ssl.${field}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
            return null;
          }
        };
        certPem = read('cert', answers.cert) ?? '';
        // bulwark's own key (from the request) is read on the box, like everything under --root;
        // a key the admin brings is read where bulwark runs, like the certificate.
        keyPem = answers.key && answers.key !== paths.key ? (read('key', answers.key) ?? '') : (current[paths.key] ?? '');
        if (!answers.key && !keyPem) problems.push(`ssl.key: expected the private key's path (bulwark's own is ${paths.key}, and there is none)`);
        chainPem = read('chain', answers.chain);
        const rootPem = read('root', answers.root);
        if (problems.length === 0) {
          const csrKey = current[paths.csr] ? csrPublicKey(current[paths.csr]!) : null;
          const usesOurKey = (answers.key ?? paths.key) === paths.key;
          const gate = checkCertificate({ domain: answers.domain, extraNames: answers.names, certPem, keyPem, chainPem, csrPublicKeyPem: usesOurKey ? csrKey : null, roots: [...parseBundle(facts.bundle), ...parseBundle(rootPem)], now: new Date() });
          problems.push(...gate.problems);
          notes.push(...gate.notes);
          chainPem = gate.chain.map((c) => c.toString()).join('') || null;
          certPem = gate.cert ? gate.cert.toString() : certPem;
        }
        if (keyPem && current[paths.key] !== keyPem) files.push({ path: paths.key, content: keyPem, mode: 0o600, secret: true, reason: 'the private key, where Apache reads it' });
      }
      // Planned even when the gate found problems: preflight then refuses the plan (exit 1) before
      // anything is touched, and says why.
      if (facts.apache && certPem) {
        const fullchainFile = usesFullchain(facts);
        files.push({ path: paths.cert, content: certPem, mode: 0o644, reason: 'the certificate' });
        if (chainPem) files.push({ path: fullchainFile ? paths.fullchain : paths.chain, content: fullchainFile ? certPem + chainPem : chainPem, mode: 0o644, reason: fullchainFile ? 'the certificate and its chain, in the order servers send them (Apache 2.4.8 and later)' : 'the intermediate chain (SSLCertificateChainFile: Apache before 2.4.8)' });
        files.push({ path: paths.vhost, content: renderVhost(facts, answers, paths, Boolean(chainPem)), mode: 0o644, reason: `HTTPS for ${names.join(', ')}, and HTTP sent there${(answers.keepHttp ?? []).length > 0 ? ` except ${answers.keepHttp!.join(', ')}` : ''}` });
      }
    }
    facts.prepared = { paths, files: files.filter((f) => f.content !== current[f.path]), problems, notes, install };
  },

  describe(facts: SslFacts): FactRow[] {
    return [
      { label: 'Apache', value: facts.apache ? `${facts.apache.flavour} ${facts.apacheRelease ?? facts.apache.version}; mod_ssl ${facts.modSslInstalled ? 'installed' : 'not installed'}` : 'not installed', tone: facts.apache ? 'neutral' : 'bad' },
      { label: 'Trusted roots', value: facts.bundle ? `${splitPem(facts.bundle).length} in the system's CA bundle` : 'no CA bundle found', tone: 'neutral' },
    ];
  },

  defaults(): SslAnswers {
    return { domain: '' };
  },

  questions(): Question[] {
    return [
      { kind: 'text', key: 'domain', prompt: 'The domain name of this server (as in https://pbx.example.com)', help: 'The certificate will be for this name. More names, another key or a self-signed certificate: use an answers file (ssl.names, ssl.key, ssl.selfSigned).' },
      { kind: 'text', key: 'cert', prompt: 'The certificate your CA sent (a file path), or nothing yet', help: 'Leave it empty the first time: bulwark makes the key and the request (CSR) to send to your CA. Its key is the one bulwark made for the request.' },
      { kind: 'text', key: 'chain', prompt: 'The intermediate certificate(s) the CA sent with it (a file path), or nothing', help: 'Most CAs send one or two intermediates; without them many clients cannot check the certificate.' },
    ];
  },

  withText(answers: SslAnswers, question: Question, text: string): SslAnswers | string {
    const value = text.trim();
    if (question.key === 'domain') {
      const domain = value.toLowerCase();
      if (!/^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$/.test(domain)) return 'A fully qualified domain name, such as pbx.example.com.';
      return { ...answers, domain };
    }
    if (question.key === 'cert' || question.key === 'chain') {
      const { [question.key]: _dropped, ...rest } = answers;
      if (value === '') return rest;
      if (!value.startsWith('/')) return 'An absolute path, such as /root/pbx.example.com.crt, or nothing.';
      return { ...rest, [question.key]: value };
    }
    return answers;
  },

  checkAnswers(facts: SslFacts, answers: SslAnswers): string[] {
    if (!answers.domain) return [];
    // Unreadable files are bad input (exit 2); a certificate that fails the gate is a refusal (exit 1, preflight).
    return (facts.prepared?.problems ?? []).filter((p) => / cannot read /.test(p));
  },

  preflight(facts: SslFacts, answers: SslAnswers): string[] {
    if (!answers.domain) return [];
    return (facts.prepared?.problems ?? []).filter((p) => !/ cannot read /.test(p)).map((p) => `${p}. Nothing was changed; the certificate Apache serves now stays.`);
  },

  plan(facts: SslFacts, answers: SslAnswers): Change[] {
    // Without a domain the wizard asks for one; a plan of every step does nothing.
    if (!answers.domain || !facts.prepared) return [];
    const changes: Change[] = [];
    const { files, install, paths } = facts.prepared;
    if (install && facts.apache?.flavour === 'httpd' && !facts.modSslInstalled && facts.live && facts.family === 'rhel') {
      changes.push({ kind: 'package', step: 'ssl', action: 'install', manager: 'yum', names: ['mod_ssl'], reason: 'Apache\'s TLS module' } satisfies PackageChange);
    }
    for (const file of files) {
      changes.push({ kind: 'file', step: 'ssl', path: file.path, before: facts.current[file.path] ?? null, after: file.content, mode: file.mode, ...(file.secret ? { secret: true } : {}), ...(file.path === paths.vhost && facts.apache ? { validators: [apacheTest(facts.apache)] } : {}), reason: file.reason } satisfies FileChange);
    }
    if (install && facts.apache?.flavour === 'apache2') {
      const wanted = facts.modules.filter((m) => m.available && (m.name !== 'headers.load' || answers.hsts));
      for (const module of wanted) if (module.current === null) changes.push({ kind: 'link', step: 'ssl', path: module.path, before: null, after: module.target, reason: `enables ${module.name.replace(/\.(load|conf)$/, '')} (as a2enmod does)` } satisfies LinkChange);
      if (paths.vhostLink && facts.currentLinks[paths.vhostLink.path] !== paths.vhostLink.target) changes.push({ kind: 'link', step: 'ssl', path: paths.vhostLink.path, before: facts.currentLinks[paths.vhostLink.path] ?? null, after: paths.vhostLink.target, reason: 'enables bulwark\'s HTTPS site (as a2ensite does)' } satisfies LinkChange);
    }
    if (install && changes.some((c) => c.kind === 'file' || c.kind === 'link') && facts.live && facts.apacheRunning && facts.apache) {
      changes.push({ kind: 'service', step: 'ssl', names: [facts.apache.flavour], action: 'reload', undo: 'reload', reason: 'Apache serves the new certificate (graceful: open connections finish)' } satisfies ServiceChange);
    }
    return changes;
  },

  planNotes(facts: SslFacts, answers: SslAnswers): string[] {
    if (!answers.domain) return ['No domain given: nothing to do.'];
    return facts.prepared?.notes ?? [];
  },

  afterApply(facts: SslFacts): string[] {
    return facts.prepared && !facts.prepared.install ? facts.prepared.notes : [];
  },

  findings(facts: SslFacts): Finding[] {
    if (!facts.apache) return [];
    return [];
  },

  async verify(ctx: StepContext, answers: SslAnswers, changes: readonly Change[] = []): Promise<VerifyCheck[]> {
    const checks: VerifyCheck[] = [];
    for (const change of changes) {
      if (change.kind !== 'file') continue;
      const now = await ctx.host.readText(change.path);
      checks.push({ label: `${change.path} is in place${change.secret ? ' (mode 0600)' : ''}`, ok: now === change.after && (!change.secret || ((await ctx.host.stat(change.path))?.mode ?? 0) % 0o1000 === 0o600) });
    }
    void answers;
    return checks;
  },
};

function pathsFor(facts: SslFacts, domain: string): Paths {
  const debian = facts.family !== 'rhel';
  const base = debian ? '/etc/ssl' : '/etc/pki/tls';
  return {
    key: `${base}/private/${domain}.key`,
    csr: `${base}/${domain}.csr`,
    cert: `${base}/certs/${domain}.crt`,
    chain: `${base}/certs/${domain}.chain.pem`,
    fullchain: `${base}/certs/${domain}.fullchain.pem`,
    vhost: facts.apache?.flavour === 'apache2' ? `/etc/apache2/sites-available/${CONF}` : `/etc/httpd/conf.d/${CONF}`,
    vhostLink: facts.apache?.flavour === 'apache2' ? { path: `/etc/apache2/sites-enabled/${CONF}`, target: `../sites-available/${CONF}` } : null,
  };
}

/** Apache 2.4.8 and later read the chain from the certificate file; before, SSLCertificateChainFile. */
function usesFullchain(facts: SslFacts): boolean {
  if (!facts.apache || facts.apache.version === '2.2') return false;
  const release = /^2\.4\.(\d+)/.exec(facts.apacheRelease ?? '');
  return release ? Number(release[1]) >= 8 : true;
}

export function renderVhost(facts: SslFacts, answers: SslAnswers, paths: Paths, hasChain: boolean): string {
  const modern = facts.apache?.version === '2.4';
  const fullchain = usesFullchain(facts);
  const names = answers.names ?? [];
  const keep = answers.keepHttp ?? [];
  const lines = [
    '# Managed by bulwark (step ssl). Undo with: bulwark rollback --step ssl',
    '<VirtualHost *:443>',
    `    ServerName ${answers.domain}`,
    ...names.map((n) => `    ServerAlias ${n}`),
    `    DocumentRoot ${facts.docroot}`,
    '    SSLEngine on',
    `    SSLCertificateFile ${fullchain && hasChain ? paths.fullchain : paths.cert}`,
    `    SSLCertificateKeyFile ${paths.key}`,
    ...(hasChain && !fullchain ? [`    SSLCertificateChainFile ${paths.chain}`] : []),
    // Current settings (Mozilla "intermediate"); Apache 2.2 on CentOS 5/6 has an OpenSSL without TLS 1.2.
    ...(modern
      ? ['    SSLProtocol -all +TLSv1.2 +TLSv1.3', '    SSLCipherSuite ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384', '    SSLHonorCipherOrder off']
      : ['    SSLProtocol all -SSLv2 -SSLv3', '    SSLCipherSuite HIGH:!aNULL:!MD5:!RC4:!3DES', '    SSLHonorCipherOrder on']),
    ...(answers.hsts ? ['    Header always set Strict-Transport-Security "max-age=31536000"'] : []),
    '</VirtualHost>',
    '',
    '# Plain HTTP for this name goes to HTTPS' + (keep.length > 0 ? `, except ${keep.join(', ')} (they must stay on HTTP)` : ''),
    '<VirtualHost *:80>',
    `    ServerName ${answers.domain}`,
    ...names.map((n) => `    ServerAlias ${n}`),
    `    DocumentRoot ${facts.docroot}`,
    keep.length > 0
      ? `    RedirectMatch permanent "^/(?!(?:${keep.map((p) => p.replace(/^\//, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?:/|$))(.*)$" "https://${answers.domain}/$1"`
      : `    Redirect permanent / https://${answers.domain}/`,
    '</VirtualHost>',
    '',
  ];
  return lines.join('\n');
}

async function apacheRelease(host: Host, apache: ApacheFacts | null, distro: { family: string; version: string }): Promise<string | null> {
  if (!apache) return null;
  if (host.live) {
    const result = await host.run({ file: apache.flavour === 'apache2' ? 'apache2ctl' : 'httpd', args: ['-v'] }, { reject: false });
    const match = /Apache\/(\d+\.\d+\.\d+)/.exec(result.stdout);
    if (match) return match[1]!;
  }
  // Known releases of the distributions bulwark meets.
  if (distro.family === 'rhel') return distro.version.startsWith('7') ? '2.4.6' : apache.version === '2.2' ? '2.2.3' : null;
  return null;
}

function generateKey(type: 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072'): string {
  const { privateKey } = type === 'ecdsa-p256' ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : generateKeyPairSync('rsa', { modulusLength: type === 'rsa-2048' ? 2048 : 3072 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/**
 * openssl on this machine, given the private key on its standard input: never in a file, so a run
 * killed in the middle leaves no copy of the key behind (in /tmp or anywhere).
 */
function opensslWithKey(keyPem: string, args: readonly string[]): string {
  // openssl opens its key by name: /dev/stdin, which cannot be opened when stdin is a socket (Node's
  // stdio pipes are socket pairs); through `cat |` it is a real pipe. The script is fixed text, the
  // arguments go as arguments.
  return childProcess().execFileSync('sh', ['-c', 'cat | exec openssl "$@"', 'sh', ...args.map((arg) => (arg === KEY_ON_STDIN ? '/dev/stdin' : arg))], { input: keyPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}
const KEY_ON_STDIN = '<key>';

function makeCsr(keyPem: string, domain: string, names: readonly string[]): string {
  return opensslWithKey(keyPem, ['req', '-new', '-key', KEY_ON_STDIN, '-subj', `/CN=${domain}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`]);
}

function selfSign(keyPem: string, domain: string, names: readonly string[]): string {
  return opensslWithKey(keyPem, ['req', '-new', '-x509', '-days', '365', '-key', KEY_ON_STDIN, '-subj', `/CN=${domain}`, '-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`]);
}

function csrPublicKey(csrPem: string): string | null {
  try {
    return childProcess().execFileSync('openssl', ['req', '-noout', '-pubkey'], { input: csrPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch {
    return null;
  }
}

/** Is this CSR for this key and exactly these names? */
function csrCovers(csrPem: string, keyPem: string, names: readonly string[]): boolean {
  try {
    const text = childProcess().execFileSync('openssl', ['req', '-noout', '-text'], { input: csrPem, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    const sans = /DNS:[^\n]+/.exec(text)?.[0].split(/,\s*/).map((s) => s.replace(/^DNS:/, '')).sort() ?? [];
    const pub = csrPublicKey(csrPem);
    const keyPub = opensslWithKey(keyPem, ['pkey', '-in', KEY_ON_STDIN, '-pubout']);
    return pub === keyPub && JSON.stringify(sans) === JSON.stringify([...names].sort());
  } catch {
    return false;
  }
}

function certMatches(certPem: string, keyPem: string, names: readonly string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return cert.checkPrivateKey(createPrivateKey(keyPem)) && names.every((n) => cert.checkHost(n, { subject: 'never' }) !== undefined);
  } catch {
    return false;
  }
}

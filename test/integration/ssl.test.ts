// The ssl step through the real CLI on fixture roots: the key and CSR where each distribution keeps
// them, then a certificate from a test CA installed in the syntax of each Apache: 2.2 (Elastix:
// SSLCertificateChainFile, TLS settings its old OpenSSL has), 2.4.6 (Issabel / CentOS 7: before
// 2.4.8, still the chain file), 2.4 on Debian (a full-chain file, the modules and site enabled as
// a2enmod and a2ensite do). Rollback gives back the tree byte for byte.
import * as fs from 'node:fs/promises';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bulwark } from '../helpers/cli.js';
import { snapshotTree, type FixtureName } from '../helpers/fixture.js';
import { cliOutput, fixtureRoots, rootArgs } from '../helpers/fixture-roots.js';
import { makeCa, signCsr, type TestCa } from '../helpers/test-ca.js';

const DOMAIN = 'pbx.example.com';
let root: string;
let state: string;
let work: string;
let ca: TestCa;
const roots = fixtureRoots();

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'bulwark-ssl-ca-'));
  ca = makeCa(work);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function box(name: FixtureName): Promise<void> {
  ({ root, state } = await roots.box(name));
}

const g = () => rootArgs(root, state);
const output = cliOutput;
async function answers(ssl: unknown): Promise<string> {
  const file = path.join(state, `answers-${Math.random().toString(36).slice(2)}.json`);
  await fs.writeFile(file, JSON.stringify({ ssl }));
  return file;
}

/** Request, sign with the test CA, install: returns the install's output. */
async function requestAndInstall(base: string, extra: Record<string, unknown> = {}) {
  const request = await bulwark(['apply', '--step', 'ssl', '--yes', '--answers', await answers({ domain: DOMAIN }), ...g()]);
  expect(request.code, output(request)).toBe(0);
  const csr = path.join(root, base, `${DOMAIN}.csr`);
  const cert = signCsr(ca, csr, path.join(state, 'pbx.crt'), { names: [DOMAIN] });
  const install = await bulwark(['apply', '--step', 'ssl', '--yes', '--answers', await answers({ domain: DOMAIN, cert, key: `/${base}/private/${DOMAIN}.key`.replace('//', '/'), chain: ca.intermediatePem, root: ca.rootPem, ...extra }), ...g()]);
  return { request, install };
}

describe('ssl on Elastix 2.x (Apache 2.2, /etc/pki/tls)', () => {
  beforeEach(() => box('elastix-centos5'));

  it('puts the key and CSR under /etc/pki/tls, installs with SSLCertificateChainFile and 2.2-era TLS settings; rollback gives back the tree', async () => {
    const pristine = await snapshotTree(root);
    const { request, install } = await requestAndInstall('etc/pki/tls');
    expect(request.stdout).toContain(`Private key: /etc/pki/tls/private/${DOMAIN}.key (mode 0600). Request: /etc/pki/tls/${DOMAIN}.csr.`);
    expect(install.code, output(install)).toBe(0);
    const vhost = await fs.readFile(path.join(root, 'etc/httpd/conf.d/bulwark-ssl.conf'), 'utf8');
    expect(vhost).toContain(`    SSLCertificateFile /etc/pki/tls/certs/${DOMAIN}.crt\n    SSLCertificateKeyFile /etc/pki/tls/private/${DOMAIN}.key\n    SSLCertificateChainFile /etc/pki/tls/certs/${DOMAIN}.chain.pem`);
    expect(vhost).toContain('SSLProtocol all -SSLv2 -SSLv3');
    expect(vhost).toContain(`Redirect permanent / https://${DOMAIN}/`);
    expect(await fs.readFile(path.join(root, `etc/pki/tls/certs/${DOMAIN}.chain.pem`), 'utf8')).toBe(readFileSync(ca.intermediatePem, 'utf8'));
    // The install's own snapshot goes back; then the request's
    expect((await bulwark(['rollback', '--step', 'ssl', '--yes', ...g()])).code).toBe(0);
    expect((await bulwark(['rollback', '--step', 'ssl', '--yes', ...g()])).code).toBe(0);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

describe('ssl on Issabel / CentOS 7 (Apache 2.4.6)', () => {
  beforeEach(() => box('issabel-centos7'));

  it('uses the chain file (before 2.4.8) with current TLS settings, and keeps the paths asked on plain HTTP', async () => {
    const { install } = await requestAndInstall('etc/pki/tls', { keepHttp: ['/provisioning'], hsts: true });
    expect(install.code, output(install)).toBe(0);
    const vhost = await fs.readFile(path.join(root, 'etc/httpd/conf.d/bulwark-ssl.conf'), 'utf8');
    expect(vhost).toContain(`SSLCertificateChainFile /etc/pki/tls/certs/${DOMAIN}.chain.pem`);
    expect(vhost).toContain('SSLProtocol -all +TLSv1.2 +TLSv1.3');
    expect(vhost).toContain('Header always set Strict-Transport-Security "max-age=31536000"');
    expect(vhost).toContain(`RedirectMatch permanent "^/(?!(?:provisioning)(?:/|$))(.*)$" "https://${DOMAIN}/$1"`);
  });
});

describe('ssl on Debian 12 (Apache 2.4)', () => {
  beforeEach(() => box('debian12-a2billing'));

  it('installs a full-chain file, enables ssl and its socache as a2enmod does, and the site as a2ensite does', async () => {
    const { install } = await requestAndInstall('etc/ssl');
    expect(install.code, output(install)).toBe(0);
    const vhost = await fs.readFile(path.join(root, 'etc/apache2/sites-available/bulwark-ssl.conf'), 'utf8');
    expect(vhost).toContain(`SSLCertificateFile /etc/ssl/certs/${DOMAIN}.fullchain.pem`);
    expect(vhost).not.toContain('SSLCertificateChainFile');
    const fullchain = await fs.readFile(path.join(root, `etc/ssl/certs/${DOMAIN}.fullchain.pem`), 'utf8');
    expect(fullchain).toBe(readFileSync(path.join(state, 'pbx.crt'), 'utf8').trim() + '\n' + readFileSync(ca.intermediatePem, 'utf8'));
    expect(await fs.readlink(path.join(root, 'etc/apache2/sites-enabled/bulwark-ssl.conf'))).toBe('../sites-available/bulwark-ssl.conf');
    for (const module of ['ssl.load', 'ssl.conf', 'socache_shmcb.load']) {
      const available = await fs.stat(path.join(root, 'etc/apache2/mods-available', module)).then(() => true, () => false);
      if (available) expect(await fs.readlink(path.join(root, 'etc/apache2/mods-enabled', module))).toBe(`../mods-available/${module}`);
    }
  });

  it('self-signed only when asked, with the warning; an unreadable certificate file is bad input (exit 2)', async () => {
    const self = await bulwark(['plan', '--step', 'ssl', '--answers', await answers({ domain: DOMAIN, selfSigned: true }), ...g()]);
    expect(self.code, output(self)).toBe(2);
    expect(self.stdout).toContain('SELF-SIGNED, as you asked');
    const pristine = await snapshotTree(root);
    const missing = await bulwark(['apply', '--step', 'ssl', '--yes', '--answers', await answers({ domain: DOMAIN, cert: '/nonexistent/pbx.crt', key: '/nonexistent/pbx.key' }), ...g()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/ssl\.cert: cannot read \/nonexistent\/pbx\.crt/);
    const badDomain = await bulwark(['plan', '--step', 'ssl', '--answers', await answers({ domain: 'not a domain' }), ...g()]);
    expect(badDomain.code).toBe(2);
    expect(badDomain.stderr).toMatch(/ssl\.domain: expected a fully qualified domain name/);
    expect(await snapshotTree(root)).toEqual(pristine);
  });
});

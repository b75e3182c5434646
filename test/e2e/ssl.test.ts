// The ssl step against a real Debian apache2 in a sandbox box. bulwark makes the key and the CSR; a
// test CA made here with openssl (a root and an intermediate) signs the CSR; bulwark installs the
// certificate. A client that trusts only the test root verifies the chain Apache serves; HTTP is sent
// to HTTPS; a key that does not match is refused and the served certificate does not change.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBox, requirePrograms, requireSandboxTools, type Box } from '../helpers/sandbox.js';
import { atConsole, eventually, startApache, stopApache } from '../helpers/bulwark-in-box.js';
import { makeCa, signCsr, type TestCa } from '../helpers/test-ca.js';

const DOMAIN = 'pbx.example.com';

describe('ssl with a real apache2 in a box', () => {
  let box: Box;
  let work: string;
  let ca: TestCa;

  beforeEach(async () => {
    requireSandboxTools();
    requirePrograms({ '/usr/sbin/apache2': 'apache2', '/usr/bin/openssl': 'openssl', '/usr/bin/curl': 'curl' });
    work = mkdtempSync(path.join(tmpdir(), 'bulwark-ssl-e2e-'));
    ca = makeCa(work);
    box = await createBox({ ssh: false });
    await box.writeFile('/var/www/html/index.html', '<html>the PBX</html>\n');
    await startApache(box);
  }, 60_000);

  afterEach(async () => {
    await stopApache(box);
    await box?.destroy();
    rmSync(work, { recursive: true, force: true });
  });

  /** HTTPS from the admin's namespace, trusting only the test root. */
  function https(urlPath = '/') {
    return box.admin('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '--cacert', ca.rootPem, '--resolve', `${DOMAIN}:443:${box.boxV4}`, `https://${DOMAIN}${urlPath}`], { reject: false });
  }

  /** The SHA-256 fingerprint of the certificate Apache serves for the domain (null: none). */
  async function served(): Promise<string | null> {
    const result = await box.admin('sh', ['-c', `openssl s_client -connect ${box.boxV4}:443 -servername ${DOMAIN} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256`], { reject: false });
    return /Fingerprint=([0-9A-F:]+)/.exec(result.stdout)?.[1] ?? null;
  }

  async function answers(ssl: unknown): Promise<void> {
    await box.writeFile('/root/answers.json', JSON.stringify({ ssl }), 0o600);
  }

  it('makes the key and CSR; installs the CA-signed certificate with its chain; HTTP goes to HTTPS; a wrong key is refused and the served certificate stays', async () => {
    // Given no certificate: bulwark makes the key and the request
    await answers({ domain: DOMAIN });
    const request = await atConsole(box, ['apply', '--step', 'ssl', '--yes', '--answers', '/root/answers.json']);
    expect(request.code, request.stdout + request.stderr).toBe(0);
    expect(request.stdout).toContain(`Private key: /etc/ssl/private/${DOMAIN}.key (mode 0600). Request: /etc/ssl/${DOMAIN}.csr.`);
    expect(request.stdout).toContain('Next: send the request to your certificate authority.');
    expect((await box.exec('stat', ['-c', '%a', `/etc/ssl/private/${DOMAIN}.key`])).stdout.trim()).toBe('600');
    expect(request.stdout).not.toContain('PRIVATE KEY');

    // When the test CA signs that CSR
    writeFileSync(path.join(work, 'bulwark.csr'), await box.readFile(`/etc/ssl/${DOMAIN}.csr`));
    signCsr(ca, path.join(work, 'bulwark.csr'), path.join(work, 'pbx.crt'), { names: [DOMAIN] });
    await box.writeFile('/root/pbx.crt', readFileSync(path.join(work, 'pbx.crt'), 'utf8'));
    await box.writeFile('/root/chain.pem', readFileSync(ca.intermediatePem, 'utf8'));
    await box.writeFile('/root/root.pem', readFileSync(ca.rootPem, 'utf8'));
    expect(await served()).toBeNull(); // nothing on 443 yet

    // And the certificate is installed
    await box.writeFile('/var/www/html/provisioning/phone.cfg', 'phone config\n');
    await answers({ domain: DOMAIN, cert: '/root/pbx.crt', key: `/etc/ssl/private/${DOMAIN}.key`, chain: '/root/chain.pem', root: '/root/root.pem', hsts: true, keepHttp: ['/provisioning'] });
    const install = await atConsole(box, ['apply', '--step', 'ssl', '--yes', '--answers', '/root/answers.json']);
    expect(install.code, install.stdout + install.stderr).toBe(0);
    expect(install.stdout).toMatch(/check\s+Apache configuration test/);

    // Then a client trusting only the root verifies the served chain
    expect(await eventually(async () => (await https()).stdout === '200', 10_000)).toBe(true);
    const good = await served();
    expect(good).not.toBeNull();
    // and HTTP for the name is sent to HTTPS, path kept
    const http = await box.admin('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', '--max-time', '5', '--resolve', `${DOMAIN}:80:${box.boxV4}`, `http://${DOMAIN}/a2billing/admin/`], { reject: false });
    expect(http.stdout).toBe(`301 https://${DOMAIN}/a2billing/admin/`);
    // except the path that must stay on HTTP (phone provisioning)
    const provisioning = await box.admin('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', '--resolve', `${DOMAIN}:80:${box.boxV4}`, `http://${DOMAIN}/provisioning/phone.cfg`], { reject: false });
    expect(provisioning.stdout).toBe('200');
    // and HTTPS answers with HSTS, as asked
    const headers = await box.admin('curl', ['-sS', '-D', '-', '-o', '/dev/null', '--max-time', '5', '--cacert', ca.rootPem, '--resolve', `${DOMAIN}:443:${box.boxV4}`, `https://${DOMAIN}/`], { reject: false });
    expect(headers.stdout).toMatch(/^strict-transport-security: max-age=31536000\r?$/im);

    // When a key that does not match is given
    await box.exec('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', '/root/other.key']);
    await answers({ domain: DOMAIN, cert: '/root/pbx.crt', key: '/root/other.key', chain: '/root/chain.pem', root: '/root/root.pem' });
    const wrong = await atConsole(box, ['apply', '--step', 'ssl', '--yes', '--answers', '/root/answers.json']);
    // Then it is refused, precisely, and the certificate served does not change
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('ssl.key: the key does not match the certificate');
    expect(await served()).toBe(good);

    // A chain without the intermediate is refused too
    await answers({ domain: DOMAIN, cert: '/root/pbx.crt', key: `/etc/ssl/private/${DOMAIN}.key`, root: '/root/root.pem' });
    const incomplete = await atConsole(box, ['apply', '--step', 'ssl', '--yes', '--answers', '/root/answers.json']);
    expect(incomplete.code).toBe(1);
    expect(incomplete.stderr).toContain('ssl.chain: missing');
    expect(await served()).toBe(good);

    // When the install is rolled back, Apache no longer serves HTTPS, and the files are as before
    const rollback = await atConsole(box, ['rollback', '--step', 'ssl', '--yes']);
    expect(rollback.code, rollback.stdout + rollback.stderr).toBe(0);
    expect(await eventually(async () => (await served()) === null, 10_000)).toBe(true);
    expect((await box.exec('test', ['-e', '/etc/apache2/sites-enabled/bulwark-ssl.conf'], { reject: false })).code).not.toBe(0);
    expect((await box.exec('test', ['-e', `/etc/ssl/private/${DOMAIN}.key`], { reject: false })).code).toBe(0); // the request's key stays (its own snapshot)
  }, 180_000);
});

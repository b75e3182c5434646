// The pre-flight gate on broken inputs, with certificates from a test CA made here with openssl:
// each one refused with a message naming the field and what is wrong; a good one accepted.
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkCertificate, maxValidityDays, type GateInput } from '../../steps/ssl/gate.js';
import { makeCa, makeKeyAndCsr, signCsr, type TestCa } from '../helpers/test-ca.js';

let dir: string;
let ca: TestCa;
const read = (file: string) => readFileSync(file, 'utf8');
const DOMAIN = 'pbx.example.com';

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'bulwark-gate-'));
  ca = makeCa(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function input(overrides: Partial<GateInput> & { cert: string; key: string }): GateInput {
  return { domain: DOMAIN, certPem: read(overrides.cert), keyPem: read(overrides.key), chainPem: read(ca.intermediatePem), roots: [new X509Certificate(read(ca.rootPem))], now: new Date(), ...overrides };
}

function leaf(name: string, options: { days?: number; names?: string[]; rsaBits?: number } = {}) {
  const { key, csr } = makeKeyAndCsr(dir, name, { cn: DOMAIN, rsaBits: options.rsaBits });
  const cert = signCsr(ca, csr, path.join(dir, `${name}.pem`), { days: options.days, names: options.names ?? [DOMAIN] });
  return { key, csr, cert };
}

describe('checkCertificate', () => {
  it('accepts a good certificate, its key and a complete chain up to the root', () => {
    const good = leaf('good');
    const result = checkCertificate(input(good));
    expect(result.problems).toEqual([]);
    expect(result.chain.map((c) => c.subject)).toEqual(['CN=bulwark test intermediate']);
  });

  it('refuses a key that does not match', () => {
    const good = leaf('good2');
    const other = leaf('other');
    expect(checkCertificate(input({ ...good, key: other.key })).problems).toEqual(['ssl.key: the key does not match the certificate (the certificate is for another key)']);
  });

  it('refuses a missing intermediate, and an intermediate that did not issue it', () => {
    const good = leaf('good3');
    expect(checkCertificate(input({ ...good, chainPem: null })).problems).toEqual(['ssl.chain: missing: the certificate was issued by CN=bulwark test intermediate, which is not a trusted root here; give its intermediate certificate(s)']);
    const wrong = checkCertificate(input({ ...good, chainPem: read(ca.rootPem) })).problems;
    expect(wrong).toEqual(['ssl.chain: certificate 1 (CN=bulwark test root) did not issue the certificate (whose issuer is CN=bulwark test intermediate)']);
    // in the wrong order: root first, then the intermediate
    expect(checkCertificate(input({ ...good, chainPem: read(ca.rootPem) + read(ca.intermediatePem) })).problems).toEqual([expect.stringMatching(/^ssl\.chain: out of order: certificate 1 \(CN=bulwark test root\) did not issue the one before it/)]);
  });

  it('refuses an expired certificate, and one not valid yet', () => {
    const good = leaf('dated', { days: 30 });
    expect(checkCertificate(input({ ...good, now: new Date(Date.now() + 40 * 86_400_000) })).problems).toEqual([expect.stringMatching(/^ssl\.cert: expired on \d{4}-/)]);
    expect(checkCertificate(input({ ...good, now: new Date(Date.now() - 86_400_000) })).problems).toEqual([expect.stringMatching(/^ssl\.cert: not valid yet: from /)]);
  });

  it('refuses a certificate whose names do not cover the domain (the CN does not count)', () => {
    const wrong = leaf('wrongname', { names: ['www.example.com'] }); // CN is pbx.example.com, the SAN is not
    expect(checkCertificate(input(wrong)).problems).toEqual(['ssl.cert: its names (DNS:www.example.com) do not cover pbx.example.com; browsers ignore the CN']);
  });

  it('refuses a weak key (RSA 1024)', () => {
    const weak = leaf('weak', { rsaBits: 1024 });
    expect(checkCertificate(input(weak)).problems).toEqual(["ssl.cert: a weak key: RSA 1024 bits; OpenSSL's default security level refuses RSA under 2048 bits"]);
  });

  it('refuses a validity beyond the CA/Browser Forum limit of its issue date', () => {
    const long = leaf('long', { days: 398 });
    const today = new Date().toISOString().slice(0, 10);
    expect(checkCertificate(input(long)).problems).toEqual([`ssl.cert: valid for 398 days; the CA/Browser Forum limit for a certificate issued on ${today} is ${maxValidityDays(new Date())} days, so browsers refuse it`]);
    expect([maxValidityDays(new Date('2026-01-01')), maxValidityDays(new Date('2026-11-25')), maxValidityDays(new Date('2027-06-01')), maxValidityDays(new Date('2030-01-01'))]).toEqual([398, 200, 100, 47]);
  });

  it('refuses files that are not what they should be, naming the field', () => {
    const good = leaf('good4');
    expect(checkCertificate(input({ ...good, certPem: 'not a certificate' })).problems).toEqual(['ssl.cert: no PEM certificate in the file (expected "-----BEGIN CERTIFICATE-----")']);
    expect(checkCertificate(input({ ...good, keyPem: read(good.cert) })).problems[0]).toMatch(/^ssl\.key: not a private key bulwark can read/);
  });
});

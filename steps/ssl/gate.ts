// The pre-flight gate: everything that can be wrong with a certificate, its key and its chain is
// checked before Apache is touched, with a message that says exactly what and where. Node's own
// X509Certificate does the parsing and the signature checks (the OpenSSL Node is built with).
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';

export interface GateInput {
  readonly domain: string;
  readonly extraNames?: readonly string[];
  readonly certPem: string;
  readonly keyPem: string;
  readonly chainPem: string | null;
  /** The CSR's public key (PEM), when bulwark made the CSR: the certificate must be for that key. */
  readonly csrPublicKeyPem?: string | null;
  /** Trust anchors: the system's CA bundle, and the admin's own root for a private CA. */
  readonly roots: readonly X509Certificate[];
  readonly now: Date;
}

export interface GateResult {
  readonly problems: string[];
  /** The parsed certificate and chain (leaf first), for the install. */
  readonly cert: X509Certificate | null;
  readonly chain: X509Certificate[];
  readonly notes: string[];
}

const DAY = 86_400_000;

/**
 * The CA/Browser Forum's maximum validity (ballot SC-081), by the date the certificate was issued:
 * 398 days until 15 March 2026, then 200, then 100 from 15 March 2027, then 47 from 15 March 2029.
 */
export function maxValidityDays(issued: Date): number {
  const t = issued.getTime();
  if (t < Date.UTC(2026, 2, 15)) return 398;
  if (t < Date.UTC(2027, 2, 15)) return 200;
  if (t < Date.UTC(2029, 2, 15)) return 100;
  return 47;
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

export function checkCertificate(input: GateInput): GateResult {
  const problems: string[] = [];
  const notes: string[] = [];
  const certs = splitPem(input.certPem);
  if (certs.length === 0) return { problems: ['ssl.cert: no PEM certificate in the file (expected "-----BEGIN CERTIFICATE-----")'], cert: null, chain: [], notes };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certs[0]!);
  } catch (error) {
    return { problems: [`ssl.cert: the certificate does not parse (${(error as Error).message})`], cert: null, chain: [], notes };
  }
  if (certs.length > 1) notes.push('ssl.cert holds more than one certificate: the first is the server\'s, the others are taken as its chain');

  // The key
  let key: KeyObject | null = null;
  try {
    key = createPrivateKey(input.keyPem);
  } catch (error) {
    problems.push(`ssl.key: not a private key bulwark can read (${(error as Error).message}); expected an unencrypted PEM key`);
  }
  if (key && !cert.checkPrivateKey(key)) problems.push(`ssl.key: the key does not match the certificate (the certificate is for another key)`);
  if (input.csrPublicKeyPem) {
    const csrKey = createPublicKey(input.csrPublicKeyPem).export({ type: 'spki', format: 'der' });
    if (!csrKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))) problems.push('ssl.cert: the certificate is not for the key of the request bulwark made (the CSR): was it issued for another request?');
  }

  // Key strength: what OpenSSL's default security level (2) accepts.
  const details = cert.publicKey.asymmetricKeyDetails;
  const type = cert.publicKey.asymmetricKeyType;
  if (type === 'rsa' && (details?.modulusLength ?? 0) < 2048) problems.push(`ssl.cert: a weak key: RSA ${details?.modulusLength} bits; OpenSSL's default security level refuses RSA under 2048 bits`);
  if (type === 'ec' && !['prime256v1', 'secp384r1', 'secp521r1'].includes(details?.namedCurve ?? '')) problems.push(`ssl.cert: a weak or unusual key: EC curve ${details?.namedCurve}; use P-256, P-384 or P-521`);
  if (type === 'dsa') problems.push('ssl.cert: a DSA key: browsers do not accept it');

  // Names: browsers read only the subjectAltName, never the CN.
  for (const name of [input.domain, ...(input.extraNames ?? [])]) {
    if (cert.checkHost(name, { subject: 'never' }) === undefined) problems.push(`ssl.cert: its names (${cert.subjectAltName ?? 'no subjectAltName at all'}) do not cover ${name}; browsers ignore the CN`);
  }

  // Dates
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (input.now < from) problems.push(`ssl.cert: not valid yet: from ${from.toISOString()} (the clock here says ${input.now.toISOString()})`);
  if (input.now > to) problems.push(`ssl.cert: expired on ${to.toISOString()}`);
  const lifetime = Math.round((to.getTime() - from.getTime()) / DAY);
  const selfSigned = cert.checkIssued(cert) && cert.verify(cert.publicKey);
  if (!selfSigned && lifetime > maxValidityDays(from)) problems.push(`ssl.cert: valid for ${lifetime} days; the CA/Browser Forum limit for a certificate issued on ${from.toISOString().slice(0, 10)} is ${maxValidityDays(from)} days, so browsers refuse it`);

  // The chain: each certificate issued (and signed) by the next, up to a trusted root.
  const chain: X509Certificate[] = [];
  for (const [i, pem] of [...certs.slice(1), ...splitPem(input.chainPem ?? '')].entries()) {
    try {
      chain.push(new X509Certificate(pem));
    } catch (error) {
      problems.push(`ssl.chain: certificate ${i + 1} does not parse (${(error as Error).message})`);
    }
  }
  if (!selfSigned) {
    let current = cert;
    for (const [i, next] of chain.entries()) {
      if (!(current.checkIssued(next) && current.verify(next.publicKey))) {
        const issuer = chain.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
        problems.push(issuer ? `ssl.chain: out of order: certificate ${i + 1} (${next.subject.replace(/\n/g, ', ')}) did not issue the one before it; the issuer comes later` : `ssl.chain: certificate ${i + 1} (${next.subject.replace(/\n/g, ', ')}) did not issue ${i === 0 ? 'the certificate' : `certificate ${i}`} (whose issuer is ${current.issuer.replace(/\n/g, ', ')})`);
        current = next;
        break;
      }
      current = next;
    }
    const last = chain.length > 0 ? chain[chain.length - 1]! : cert;
    const lastSelfSigned = last.checkIssued(last) && last.verify(last.publicKey);
    const anchored = lastSelfSigned ? input.roots.some((root) => root.fingerprint256 === last.fingerprint256) : input.roots.some((root) => last.checkIssued(root) && last.verify(root.publicKey));
    if (!anchored && problems.every((p) => !p.startsWith('ssl.chain'))) {
      problems.push(chain.length === 0 ? `ssl.chain: missing: the certificate was issued by ${cert.issuer.replace(/\n/g, ', ')}, which is not a trusted root here; give its intermediate certificate(s)` : `ssl.chain: incomplete: the last certificate was issued by ${last.issuer.replace(/\n/g, ', ')}, which is neither in the chain nor a trusted root here`);
    }
    if (lastSelfSigned) notes.push('ssl.chain ends with the root itself: it is served too (harmless, but clients already have it)');
    for (const [i, c] of chain.entries()) if (input.now > new Date(c.validTo)) problems.push(`ssl.chain: certificate ${i + 1} (${c.subject.replace(/\n/g, ', ')}) expired on ${new Date(c.validTo).toISOString()}`);
  } else {
    notes.push('a self-signed certificate: traffic is encrypted, but browsers warn that it is not trusted');
  }
  return { problems, cert, chain, notes };
}

/** The system's CA bundle (Debian, RHEL), as trust anchors. */
export function parseBundle(text: string | null): X509Certificate[] {
  const roots: X509Certificate[] = [];
  for (const pem of splitPem(text ?? '')) {
    try {
      roots.push(new X509Certificate(pem));
    } catch {
      // A certificate Node cannot read cannot anchor anything: skipped.
    }
  }
  return roots;
}

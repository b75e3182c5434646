// A test certificate authority made with openssl in a temp dir: a root, an intermediate it signs,
// and server certificates the intermediate signs from a CSR (bulwark's, or one made here). Only for
// tests: nothing here is trusted by anything but the test that made it.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';

const openssl = (args: readonly string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

export interface TestCa {
  readonly dir: string;
  readonly rootPem: string;
  readonly intermediatePem: string;
}

export function makeCa(dir: string): TestCa {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key', '-out', 'root.pem', '-days', '3650', '-subj', '/CN=bulwark test root', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'int.key', '-out', 'int.csr', '-subj', '/CN=bulwark test intermediate'], dir);
  writeFileSync(path.join(dir, 'int.ext'), 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
  openssl(['x509', '-req', '-in', 'int.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-out', 'int.pem', '-days', '1825', '-extfile', 'int.ext'], dir);
  return { dir, rootPem: path.join(dir, 'root.pem'), intermediatePem: path.join(dir, 'int.pem') };
}

/** Signs a CSR with the intermediate: `days` of validity, the given DNS names as subjectAltName. */
export function signCsr(ca: TestCa, csr: string, out: string, options: { days?: number; names: readonly string[] }): string {
  const ext = path.join(ca.dir, `leaf-${path.basename(out)}.ext`);
  writeFileSync(ext, `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${options.names.map((n) => `DNS:${n}`).join(',')}\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', 'int.pem', '-CAkey', 'int.key', '-CAcreateserial', '-out', out, '-days', String(options.days ?? 90), '-extfile', ext], ca.dir);
  return out;
}

/** A key and CSR made here (not by bulwark): `ec` P-256, or RSA of the given size. */
export function makeKeyAndCsr(dir: string, name: string, options: { rsaBits?: number; cn: string }): { key: string; csr: string } {
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const keyArgs = options.rsaBits ? ['-newkey', `rsa:${options.rsaBits}`] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${options.cn}`], dir);
  return { key, csr };
}

// The algorithm choice per OpenSSH version: modern ones only, and never one the version does not
// know (sshd refuses a whole file over one unknown name or keyword). Lists checked by hand against
// OpenSSH's release notes: 4.3 (CentOS 5), 5.3 (CentOS 6), 7.4 (CentOS 7), 8.0 (RHEL 8), 8.7
// (RHEL 9), 9.2 (Debian 12), 9.9 (mlkem).
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chooseAlgorithms, hostKeyAlgorithms, keptHostKeys, knowsKeyword, parseOpenSshVersion, parsePublicKey, type HostKeyInfo } from '../../steps/ssh/algorithms.js';

const CTR = ['aes256-ctr', 'aes192-ctr', 'aes128-ctr'];
const AEAD_CTR = ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', ...CTR];
const ETM = ['hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256-etm@openssh.com', 'umac-128-etm@openssh.com'];

describe('chooseAlgorithms', () => {
  it('4.3 (CentOS 5): no KexAlgorithms keyword (5.7), AES-CTR only, HMAC-SHA1 the only MAC it has (no SHA-2 before 5.9, no ETM before 6.2)', () => {
    expect(chooseAlgorithms([4, 3])).toEqual({ kex: null, ciphers: CTR, macs: ['hmac-sha1'] });
    expect(knowsKeyword([4, 3], 'AllowAgentForwarding')).toBe(false);
    expect(knowsKeyword([4, 3], 'HostKeyAlgorithms')).toBe(false);
  });
  it('5.3 (CentOS 6): still no KexAlgorithms, no SHA-2 MACs; AllowAgentForwarding is known', () => {
    expect(chooseAlgorithms([5, 3])).toEqual({ kex: null, ciphers: CTR, macs: ['hmac-sha1'] });
    expect(knowsKeyword([5, 3], 'AllowAgentForwarding')).toBe(true);
  });
  it('5.9: SHA-2 MACs; 6.2: GCM and ETM; 6.5: curve25519 and chacha20', () => {
    expect(chooseAlgorithms([5, 9]).macs).toEqual(['hmac-sha2-512', 'hmac-sha2-256']);
    expect(chooseAlgorithms([5, 9]).kex).toEqual(['diffie-hellman-group-exchange-sha256']);
    expect(chooseAlgorithms([6, 2])).toEqual({ kex: ['diffie-hellman-group-exchange-sha256'], ciphers: ['aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', ...CTR], macs: ETM });
    expect(chooseAlgorithms([6, 5]).kex).toEqual(['curve25519-sha256@libssh.org', 'diffie-hellman-group-exchange-sha256']);
  });
  it('7.4 (CentOS 7): curve25519 under both names, groups 16 and 18 (7.3), no NIST curves, no SHA-1', () => {
    expect(chooseAlgorithms([7, 4])).toEqual({
      kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group-exchange-sha256'],
      ciphers: AEAD_CTR,
      macs: ETM,
    });
  });
  it('8.0 (RHEL 8) is 7.4\'s list; 8.7 (RHEL 9) adds sntrup761 (8.5) first', () => {
    expect(chooseAlgorithms([8, 0])).toEqual(chooseAlgorithms([7, 4]));
    expect(chooseAlgorithms([8, 7]).kex).toEqual(['sntrup761x25519-sha512@openssh.com', 'curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group-exchange-sha256']);
  });
  it('9.2 (Debian 12): as 8.7; 9.9: ML-KEM and sntrup761\'s standard name first', () => {
    expect(chooseAlgorithms([9, 2])).toEqual(chooseAlgorithms([8, 7]));
    expect(chooseAlgorithms([9, 9]).kex?.slice(0, 3)).toEqual(['mlkem768x25519-sha256', 'sntrup761x25519-sha512', 'sntrup761x25519-sha512@openssh.com']);
    expect(chooseAlgorithms([9, 9]).ciphers).toEqual(AEAD_CTR);
  });
});

describe('parseOpenSshVersion', () => {
  it('reads ssh -V, sshd usage errors and package versions', () => {
    expect(parseOpenSshVersion('OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024')).toEqual([9, 2]);
    expect(parseOpenSshVersion('sshd: illegal option -- V\nOpenSSH_4.3p2, OpenSSL 0.9.8e-fips-rhel5 01 Jul 2008\nusage: sshd [-46DdeiqTt]')).toEqual([4, 3]);
    expect(parseOpenSshVersion('1:9.2p1-2+deb12u3')).toEqual([9, 2]);
    expect(parseOpenSshVersion('7.4p1-22.el7_9')).toEqual([7, 4]);
    expect(parseOpenSshVersion('no version here')).toBeNull();
  });
});

describe('host keys', () => {
  const rsaPub = (bits: number) => {
    const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
    const field = (b: Buffer) => { const len = Buffer.alloc(4); len.writeUInt32BE(b.length); return Buffer.concat([len, b]); };
    const mpint = (b64: string) => { const b = Buffer.from(b64, 'base64url'); return b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b; };
    return `ssh-rsa ${Buffer.concat([field(Buffer.from('ssh-rsa')), field(mpint(jwk.e!)), field(mpint(jwk.n!))]).toString('base64')} root@box`;
  };
  it('reads an RSA key\'s size from its .pub', () => {
    expect(parsePublicKey('/k', rsaPub(2048))).toEqual({ path: '/k', type: 'ssh-rsa', bits: 2048 });
    expect(parsePublicKey('/k', rsaPub(3072))?.bits).toBe(3072);
    expect(parsePublicKey('/k', 'ssh-rsa notbase64')).toBeNull();
  });
  const key = (type: string, bits: number, path = `/etc/ssh/ssh_host_${type}_key`): HostKeyInfo => ({ path, type, bits });
  it('keeps only the strong keys when there is one; keeps the best weak one(s) otherwise, never none', () => {
    expect(keptHostKeys([key('ssh-rsa', 2048), key('ecdsa-sha2-nistp256', 256), key('ssh-ed25519', 256), key('ssh-dss', 1024)])).toEqual([key('ssh-ed25519', 256)]);
    expect(keptHostKeys([key('ssh-rsa', 1024), key('ssh-dss', 1024)])).toEqual([key('ssh-rsa', 1024)]);
    expect(keptHostKeys([key('ssh-dss', 1024)])).toEqual([key('ssh-dss', 1024)]);
    expect(hostKeyAlgorithms([key('ssh-ed25519', 256), key('ssh-rsa', 3072)])).toEqual(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256']);
  });
});

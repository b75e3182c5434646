// What each OpenSSH version knows, as data: the first upstream release that accepts an algorithm or
// a sshd_config keyword (from OpenSSH's release notes; ssh-audit's database agrees on every version
// it lists). bulwark chooses only modern algorithms, and only ones the installed sshd knows: a name
// sshd does not know makes it refuse the whole file, and an unknown keyword too.

/** An OpenSSH version as [major, minor]: 7.4p1 -> [7, 4]. */
export type OpenSshVersion = readonly [number, number];

interface Known { readonly name: string; readonly since: OpenSshVersion }

/** Key exchange, best first. Post-quantum hybrids first (the default since 9.0), then curve25519, then big finite-field groups. */
export const KEX: readonly Known[] = [
  { name: 'mlkem768x25519-sha256', since: [9, 9] },
  { name: 'sntrup761x25519-sha512', since: [9, 9] },
  { name: 'sntrup761x25519-sha512@openssh.com', since: [8, 5] },
  { name: 'curve25519-sha256', since: [7, 4] },
  { name: 'curve25519-sha256@libssh.org', since: [6, 5] },
  { name: 'diffie-hellman-group16-sha512', since: [7, 3] },
  { name: 'diffie-hellman-group18-sha512', since: [7, 3] },
  { name: 'diffie-hellman-group-exchange-sha256', since: [4, 4] },
];

/** Ciphers, best first: authenticated modes, then AES in counter mode (no CBC, RC4, 3DES or Blowfish). */
export const CIPHERS: readonly Known[] = [
  { name: 'chacha20-poly1305@openssh.com', since: [6, 5] },
  { name: 'aes256-gcm@openssh.com', since: [6, 2] },
  { name: 'aes128-gcm@openssh.com', since: [6, 2] },
  { name: 'aes256-ctr', since: [3, 7] },
  { name: 'aes192-ctr', since: [3, 7] },
  { name: 'aes128-ctr', since: [3, 7] },
];

/**
 * MACs: encrypt-then-MAC with a full-size tag where the version has it (6.2 on). Older versions get
 * the best they know: SHA-2 (5.9 on), else HMAC-SHA1, the only one left on 4.3 and 5.3 (still
 * unbroken as an HMAC, though audits warn about it).
 */
const MACS_ETM: readonly Known[] = [
  { name: 'hmac-sha2-512-etm@openssh.com', since: [6, 2] },
  { name: 'hmac-sha2-256-etm@openssh.com', since: [6, 2] },
  { name: 'umac-128-etm@openssh.com', since: [6, 2] },
];
const MACS_SHA2: readonly Known[] = [
  { name: 'hmac-sha2-512', since: [5, 9] },
  { name: 'hmac-sha2-256', since: [5, 9] },
];
const MACS_LEGACY: readonly Known[] = [{ name: 'hmac-sha1', since: [2, 1] }];

/** sshd_config keywords bulwark writes that appeared after OpenSSH 4.3 (the oldest it supports). */
export const KEYWORD_SINCE: Readonly<Record<string, OpenSshVersion>> = {
  KexAlgorithms: [5, 7],
  AllowAgentForwarding: [5, 2],
  // The rsa-sha2 signature names are 7.2's; before them only ssh-rsa (SHA-1) signs with an RSA key.
  HostKeyAlgorithms: [7, 2],
};

/** What each distribution release ships, for a fixture root of a RHEL-family system (the rpm database is binary). */
export const RHEL_OPENSSH: Readonly<Record<string, OpenSshVersion>> = { '5': [4, 3], '6': [5, 3], '7': [7, 4], '8': [8, 0], '9': [8, 7], '10': [9, 9] };

export function atLeast(version: OpenSshVersion, since: OpenSshVersion): boolean {
  return version[0] > since[0] || (version[0] === since[0] && version[1] >= since[1]);
}

/** "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL ..." or a dpkg/rpm version ("1:9.2p1-2+deb12u3", "4.3p2") -> [9, 2]. */
export function parseOpenSshVersion(text: string): OpenSshVersion | null {
  const match = /OpenSSH_(\d+)\.(\d+)/.exec(text) ?? /^(?:\d+:)?(\d+)\.(\d+)(?:p\d+)?\b/.exec(text.trim());
  return match ? [Number(match[1]), Number(match[2])] : null;
}

export function knowsKeyword(version: OpenSshVersion, keyword: string): boolean {
  const since = KEYWORD_SINCE[keyword];
  return since === undefined || atLeast(version, since);
}

export interface AlgorithmChoice {
  /** null: the version has no KexAlgorithms keyword, its defaults stay. */
  readonly kex: readonly string[] | null;
  readonly ciphers: readonly string[];
  readonly macs: readonly string[];
}

export function chooseAlgorithms(version: OpenSshVersion): AlgorithmChoice {
  const known = (list: readonly Known[]) => list.filter((a) => atLeast(version, a.since)).map((a) => a.name);
  const etm = known(MACS_ETM);
  const sha2 = known(MACS_SHA2);
  return {
    kex: knowsKeyword(version, 'KexAlgorithms') ? known(KEX) : null,
    ciphers: known(CIPHERS),
    macs: etm.length > 0 ? etm : sha2.length > 0 ? sha2 : known(MACS_LEGACY),
  };
}

/** A host key's public half: "ssh-rsa AAAA... comment" -> its type and size in bits (RSA's modulus). */
export interface HostKeyInfo { readonly path: string; readonly type: string; readonly bits: number }

export function parsePublicKey(path: string, text: string): HostKeyInfo | null {
  const [type, blob] = text.trim().split(/\s+/);
  if (!type || !blob) return null;
  const bytes = Buffer.from(blob, 'base64');
  // The blob is a list of (uint32 length, bytes): the type name, then e and n for RSA.
  const fields: Buffer[] = [];
  for (let at = 0; at + 4 <= bytes.length && fields.length < 3;) {
    const length = bytes.readUInt32BE(at);
    fields.push(bytes.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  if (fields[0]?.toString() !== type) return null;
  if (type === 'ssh-rsa') {
    const n = fields[2] ?? Buffer.alloc(0);
    let start = 0;
    while (start < n.length && n[start] === 0) start++;
    const bits = n.length - start === 0 ? 0 : (n.length - start - 1) * 8 + (32 - Math.clz32(n[start]!));
    return { path, type, bits };
  }
  const bits = type === 'ssh-ed25519' ? 256 : type === 'ssh-dss' ? 1024 : Number(/nistp(\d+)/.exec(type)?.[1] ?? 0);
  return { path, type, bits };
}

/** ed25519 and RSA of 3072 bits or more; DSA (1024 bits, SHA-1), short RSA and the NIST curves are not kept when a strong key exists. */
export function strongHostKey(key: HostKeyInfo): boolean {
  return key.type === 'ssh-ed25519' || (key.type === 'ssh-rsa' && key.bits >= 3072);
}

/**
 * The host keys to keep. With a strong key, only the strong ones. Without one, all but DSA (or all
 * of them, if DSA is all there is): sshd must keep a host key, and a NEW key would make every
 * client warn that the server's identity changed, which teaches people to click through the one
 * warning that reveals a man in the middle. That choice stays with the admin (a finding says how).
 */
export function keptHostKeys(keys: readonly HostKeyInfo[]): readonly HostKeyInfo[] {
  const strong = keys.filter(strongHostKey);
  if (strong.length > 0) return strong;
  const notDsa = keys.filter((k) => k.type !== 'ssh-dss');
  return notDsa.length > 0 ? notDsa : keys;
}

/** The signature algorithms of the kept keys, for HostKeyAlgorithms (never ssh-rsa's SHA-1 where rsa-sha2 exists). */
export function hostKeyAlgorithms(keys: readonly HostKeyInfo[]): string[] {
  const names: string[] = [];
  for (const key of keys) {
    if (key.type === 'ssh-ed25519') names.push('ssh-ed25519');
    else if (key.type === 'ssh-rsa') names.push('rsa-sha2-512', 'rsa-sha2-256');
    else names.push(key.type);
  }
  return [...new Set(names)];
}

/** What ssh-audit fails or warns about, by name: for `bulwark audit`'s findings on the effective lists. */
export function weakAlgorithm(kind: 'kex' | 'ciphers' | 'macs' | 'hostkeys', name: string): boolean {
  switch (kind) {
    case 'kex': return /sha1|nistp|group1-|gss-/.test(name);
    case 'ciphers': return /cbc|3des|arcfour|blowfish|cast128|rijndael|none/.test(name);
    case 'macs': return /md5|sha1|ripemd|umac-64|-96/.test(name) || !/etm@openssh\.com$/.test(name);
    case 'hostkeys': return /^ssh-dss|^ssh-rsa|nistp/.test(name);
  }
}

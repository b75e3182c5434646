// How weak a PBX secret is (SIP and IAX peers, pjsip auths, AMI users): zxcvbn-ts with its common
// dictionaries estimates the guesses an attacker needs; the PBX's own rules catch what a generic
// estimator cannot know — a secret equal to the peer's name or extension (FreePBX's old default), one
// made of digits only (a keypad PIN), one shared by several peers, and the defaults the distributions
// ship. The secret itself never leaves this module: callers get reasons, never the value.
import type { ZxcvbnFactory } from '@zxcvbn-ts/core';

/** Secrets the PBX distributions and their sample files ship; an attacker's first guesses. */
export const KNOWN_DEFAULTS: ReadonlyMap<string, string> = new Map([
  ['amp111', "FreePBX's default AMI secret"],
  ['elastix456', "Elastix's stock AMI secret"],
  ['mycode', "A2Billing's sample AMI secret"],
  ['myasterisk', "A2Billing's sample AMI user name"],
  ['passw0rd', 'a sample secret'],
  ['password', 'a sample secret'],
  ['secret', 'a sample secret'],
  ['welcome', 'a sample secret'],
  ['1234', 'a sample PIN'],
  ['0000', 'a sample PIN'],
]);

/** Shorter than this is weak whatever the estimator says: a SIP secret is typed by no one. */
export const MIN_LENGTH = 12;

export interface Weakness {
  /** high: an attacker's first guesses (a default, the peer's own name, digits only); medium: guessable. */
  readonly severity: 'high' | 'medium';
  /** Plain reasons, never the secret: "equal to the peer's name", "digits only". */
  readonly reasons: readonly string[];
}

let estimator: ZxcvbnFactory | null = null;

/**
 * Loads the estimator and its dictionaries (a tenth of a second, 20 MB): imported here, when a secret
 * needs it, so that no other command pays for it (the bundle evaluates them only then).
 */
export async function loadEstimator(): Promise<void> {
  if (estimator) return;
  const [core, common, english] = await Promise.all([import('@zxcvbn-ts/core'), import('@zxcvbn-ts/language-common'), import('@zxcvbn-ts/language-en')]);
  const { ZxcvbnFactory } = exportsWith(core, 'ZxcvbnFactory');
  const { adjacencyGraphs, dictionary } = exportsWith(common, 'adjacencyGraphs');
  const en = exportsWith(english, 'translations');
  estimator = new ZxcvbnFactory({ translations: en.translations, graphs: adjacencyGraphs, dictionary: { ...dictionary, ...en.dictionary } });
}

/** A package's exports: a CommonJS build imported from a chunk of the bundle has them as its default. */
function exportsWith<T extends object>(loaded: T, name: keyof T): T {
  return loaded[name] !== undefined ? loaded : (loaded as T & { default: T }).default;
}

/** Would `weakness` ask the estimator about this secret (the PBX's own rules let it through)? */
export function needsEstimate(secret: string, names: readonly string[], sharedWith = 0): boolean {
  return cheapReasons(secret, names, sharedWith).every((list) => list.length === 0) && secret !== '';
}

function estimate(secret: string, userInputs: readonly string[]): number {
  if (!estimator) throw new Error('bug: loadEstimator() must run before a secret is judged');
  return estimator.check(secret, [...userInputs]).score;
}

/**
 * Null when the secret is strong. `names`: what an attacker knows of its owner (the peer or user
 * name, the username, the extension). `sharedWith`: how many other peers use the same secret.
 */
export function weakness(secret: string, names: readonly string[], sharedWith = 0): Weakness | null {
  const [high, medium] = cheapReasons(secret, names, sharedWith);
  // The estimator (its dictionaries cost a tenth of a second and 20 MB to load) judges only what the
  // PBX's own rules let through: a secret they already call weak needs no second opinion.
  if (secret !== '' && high.length === 0 && medium.length === 0 && estimate(secret, names) < 3) medium.push('easy to guess (a word, a pattern or a common password)');
  if (high.length > 0) return { severity: 'high', reasons: [...high, ...medium] };
  return medium.length > 0 ? { severity: 'medium', reasons: medium } : null;
}

/** The PBX's own rules: [high reasons, medium reasons]. */
function cheapReasons(secret: string, names: readonly string[], sharedWith: number): [string[], string[]] {
  const high: string[] = [];
  const medium: string[] = [];
  const lower = secret.toLowerCase();
  if (secret === '') high.push('empty');
  const known = KNOWN_DEFAULTS.get(lower);
  if (known) high.push(`a well-known default (${known})`);
  if (names.some((name) => name !== '' && lower === name.toLowerCase())) high.push("equal to the peer's name, user name or extension");
  else if (names.some((name) => name.length >= 3 && lower.includes(name.toLowerCase()))) medium.push("contains the peer's name, user name or extension");
  if (/^\d+$/.test(secret)) high.push('digits only');
  if (secret !== '' && secret.length < MIN_LENGTH) medium.push(`shorter than ${MIN_LENGTH} characters`);
  if (sharedWith > 0) medium.push(`the same secret as ${sharedWith} other peer${sharedWith === 1 ? '' : 's'}`);
  return [high, medium];
}

/** A new secret: 24 characters from a CSPRNG, letters and digits only (every phone and every
 *  provisioning page takes them, and no config syntax needs escaping). */
export function newSecret(random: (size: number) => Buffer): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  let out = '';
  while (out.length < 24) {
    for (const byte of random(32)) {
      // Rejection sampling: no bias toward the first characters of the alphabet.
      if (byte < alphabet.length * Math.floor(256 / alphabet.length) && out.length < 24) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

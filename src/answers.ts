// The answers file: what the wizard asks, written down (DESIGN.md). Validated with zod so that every
// mistake is reported as one message naming the field and the accepted form; unknown keys are
// rejected so a typo never silently turns into a default.
import * as fs from 'node:fs/promises';
import ipaddr from 'ipaddr.js';
// zod/mini: the same validation with a tree-shakable API, a tenth of the size of classic zod in the
// bundle (start-up time is benchmarked).
import * as z from 'zod/mini';
import type { StepId } from './change.js';
import { UserError } from './errors.js';
import { EXPOSURE_SERVICES } from '../steps/exposure/services.js';
import { isValidCidr } from '../steps/firewall/rules.js';

export { isValidCidr };

const PORT = 'expected a port number from 1 to 65535';
const portNumber = z.number({ error: PORT }).check(z.int({ error: PORT }), z.minimum(1, { error: PORT }), z.maximum(65535, { error: PORT }));

const RANGE = 'expected a port from 1 to 65535 or a range "LOW-HIGH" with LOW <= HIGH (e.g. "10000-20000")';
/** A port or a range "10000-20000" (low to high). */
const portOrRange = z.union(
  [
    portNumber,
    z.string({ error: RANGE }).check(
      z.refine((text) => {
        const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
        if (!match) return false;
        const low = Number(match[1]);
        const high = Number(match[2]);
        return low >= 1 && high <= 65535 && low <= high;
      }, { error: RANGE }),
    ),
  ],
  { error: RANGE },
);

const protocol = z.enum(['tcp', 'udp'], { error: 'expected "tcp" or "udp"' });

const CIDR = 'expected an IPv4 or IPv6 address or CIDR such as 198.51.100.0/24 or 2001:db8::/32';
const cidr = z.string({ error: CIDR }).check(z.refine(isValidCidr, { error: CIDR }));

const COUNTRY = 'expected a two-letter ISO 3166 country code in capitals, such as "GB"';
const countryCode = z.string({ error: COUNTRY }).check(z.regex(/^[A-Z]{2}$/, { error: COUNTRY }));

const PATH = 'expected an absolute file path such as /root/file';
const absolutePath = z.string({ error: PATH }).check(z.regex(/^\//, { error: PATH }));

const BOOLEAN = 'expected true or false';
const list = <T extends z.core.SomeType>(item: T, what: string) => z.array(item, { error: `expected a list of ${what}` });
const nonEmpty = <T extends z.core.SomeType>(item: T, what: string) => list(item, what).check(z.minLength(1, { error: `expected at least one ${what.replace(/s$/, '')}` }));
const oneOf = (values: readonly string[]) => `expected one of ${values.map((v) => `"${v}"`).join(', ')}`;

const exposureAnswers = z.strictObject({
  loopbackOnly: list(z.enum(EXPOSURE_SERVICES, { error: oneOf(EXPOSURE_SERVICES) }), 'service names'),
}, { error: 'expected an object such as {"loopbackOnly": ["mysql"]}' });

export const ELASTIX_APPS = [
  'a2billing', 'freepbx', 'ucp', 'elastix-gui', 'issabel-gui', 'ari', 'fop', 'fop2', 'roundcube', 'vtigercrm',
  'openfire', 'hylafax', 'phpmyadmin', 'mailman', 'webmin', 'cyrus-imapd', 'tftp', 'portmap', 'vsftpd',
  'festival', 'elastixdialer',
] as const;
export type ElastixApp = (typeof ELASTIX_APPS)[number];

const JAILS = ['sshd', 'asterisk', 'apache-auth', 'recidive'] as const;
export type Jail = (typeof JAILS)[number];

const allowRule = z.strictObject({
  port: portOrRange,
  proto: protocol,
  from: z.optional(nonEmpty(cidr, 'addresses or CIDRs (leave "from" out to allow everyone)')),
}, { error: 'expected an object such as {"port": 22, "proto": "tcp"}' });

const section = 'expected an object';

/** Bounds iptables accepts on every version bulwark writes for (hashlimit revision 1: 10,000 at most). */
const wholeNumber = (min: number, max: number, what: string) => {
  const error = `expected a whole number of ${what} from ${min} to ${max}`;
  // A refine, not z.int(): zod reports a non-integer as a wrong type, and inside the union below that
  // would hide the field's own message behind the union's.
  return z.number({ error }).check(z.refine(Number.isInteger, { error }), z.minimum(min, { error }), z.maximum(max, { error }));
};
const SIP_LIMIT = 'expected false or an object such as {"perSecond": 10, "burst": 60, "exempt": ["198.51.100.20"]}';

export const answersSchema = z.strictObject({
  'elastix-extras': z.optional(z.strictObject({
    keep: list(z.enum(ELASTIX_APPS, { error: oneOf(ELASTIX_APPS) }), 'app names'),
    removePackages: z.optional(z.boolean({ error: BOOLEAN })),
  }, { error: section })),
  exposure: z.optional(exposureAnswers),
  voip: z.optional(z.strictObject({
    allowGuests: z.boolean({ error: BOOLEAN }),
    newSecrets: z.optional(list(z.string({ error: 'expected a peer name' }), 'peer names')),
    permit: z.optional(list(cidr, 'addresses or CIDRs')),
  }, { error: 'expected an object such as {"allowGuests": false}' })),
  firewall: z.optional(
    z.strictObject({
      allow: list(allowRule, 'port rules'),
      trustedSources: z.optional(list(cidr, 'addresses or CIDRs')),
      rateLimit: z.optional(z.boolean({ error: BOOLEAN })),
      sipLimit: z.optional(z.union([
        z.literal(false, { error: SIP_LIMIT }),
        z.strictObject({
          perSecond: z.optional(wholeNumber(1, 10000, 'requests a second')),
          burst: z.optional(wholeNumber(1, 10000, 'requests')),
          exempt: z.optional(list(cidr, 'addresses or CIDRs')),
        }, { error: SIP_LIMIT }),
      ], { error: SIP_LIMIT })),
      networkSettings: z.optional(z.boolean({ error: BOOLEAN })),
    }, { error: section }),
  ),
  geoblock: z.optional(
    z.strictObject({
      mode: z.enum(['allow', 'deny'], { error: 'expected "allow" or "deny"' }),
      countries: nonEmpty(countryCode, 'country codes'),
      ports: nonEmpty(z.strictObject({ port: portOrRange, proto: protocol }, { error: 'expected an object such as {"port": 5060, "proto": "udp"}' }), 'ports'),
    }, { error: section }),
  ),
  ids: z.optional(
    z.strictObject({
      jails: list(z.enum(JAILS, { error: oneOf(JAILS) }), 'jail names'),
      ignoreIp: z.optional(list(cidr, 'addresses or CIDRs')),
      integrity: z.optional(z.boolean({ error: BOOLEAN })),
    }, { error: section }),
  ),
  htaccess: z.optional(
    z.strictObject({
      protect: list(z.string().check(z.regex(/^\/[^\s]*$/, { error: 'expected a URL path starting with /, such as /a2billing/admin' })), 'URL paths'),
      users: list(
        z.strictObject({
          name: z.string().check(z.regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'expected a user name of letters, digits, ".", "_" or "-"' })),
          // Optional only for a password typed in the wizard (kept in memory, never in the answers).
          passwordFile: z.optional(absolutePath),
        }, { error: 'expected an object such as {"name": "ops", "passwordFile": "/root/ops.pw"}' }),
        'users',
      ),
    }, { error: section }),
  ),
  ssh: z.optional(
    z.strictObject({
      port: z.optional(portNumber),
      passwordAuthentication: z.optional(z.boolean({ error: BOOLEAN })),
      allowTcpForwarding: z.optional(z.boolean({ error: BOOLEAN })),
    }, { error: section }),
  ),
  ssl: z.optional(
    z.strictObject({
      domain: z.string().check(z.regex(/^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$/, { error: 'expected a fully qualified domain name such as pbx.example.com' })),
      cert: z.optional(absolutePath),
      key: z.optional(absolutePath),
      chain: z.optional(absolutePath),
      /** More names for the certificate (www.pbx.example.com...). */
      names: z.optional(list(z.string().check(z.regex(/^(?=.{1,253}$)(\*\.)?([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$/, { error: 'expected a domain name such as www.pbx.example.com' })), 'domain names')),
      /** The private key made for the request: ECDSA P-256 unless RSA is asked for. */
      keyType: z.optional(z.enum(['ecdsa-p256', 'rsa-2048', 'rsa-3072'], { error: oneOf(['ecdsa-p256', 'rsa-2048', 'rsa-3072']) })),
      /** A private CA's root, to check the chain against (public CAs: the system's CA bundle). */
      root: z.optional(absolutePath),
      /** Self-signed: only when asked, with the warning. */
      selfSigned: z.optional(z.boolean({ error: BOOLEAN })),
      hsts: z.optional(z.boolean({ error: BOOLEAN })),
      /** URL paths that stay on plain HTTP (phone provisioning). */
      keepHttp: z.optional(list(z.string().check(z.regex(/^\/[^\s"]*$/, { error: 'expected a URL path starting with /' })), 'URL paths')),
    }, { error: section }),
  ),
  updates: z.optional(
    z.strictObject({
      /** Debian: unattended-upgrades for the security archive only. Asked, never the default. */
      unattendedUpgrades: z.boolean({ error: BOOLEAN }),
    }, { error: 'expected an object such as {"unattendedUpgrades": false}' }),
  ),
}, { error: 'expected a JSON object with one key per step' });

export type Answers = z.infer<typeof answersSchema>;

/** Reads and validates an answers file. Any problem is one UserError (exit 2) naming the field. */
export async function loadAnswersFile(file: string): Promise<Answers> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new UserError(`Cannot read the answers file ${file}: ${(error as Error).message}.`, 'Give the path of a JSON file with --answers FILE.');
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UserError(`The answers file ${file} is not valid JSON: ${(error as Error).message}.`, 'docs/answers.md gives every key and its accepted form.');
  }
  return validateAnswers(data, `answers file ${file}`);
}

export function validateAnswers(data: unknown, source: string): Answers {
  const result = answersSchema.safeParse(data);
  if (result.success) return result.data;
  throw new UserError(`${source}: ${describeIssue(result.error.issues[0]!, data)}`, 'Nothing was changed. docs/answers.md gives every key and its accepted form.');
}

/** Validates one step's answers (from the wizard or the journal) the same way. */
export function validateStepAnswers(step: StepId, data: unknown): unknown {
  const result = z.safeParse(stepSchema(step), data);
  if (result.success) return result.data;
  throw new UserError(`answers for ${step}: ${describeIssue(result.error.issues[0]!, data, [step])}`);
}

/** True when earlier answers (kept in the journal) still fit the schema of this version. */
export function stepAnswersValid(step: StepId, data: unknown): boolean {
  return z.safeParse(stepSchema(step), data).success;
}

function stepSchema(step: StepId): z.core.$ZodType {
  return unwrap(answersSchema.shape[step] as z.core.$ZodType);
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown, prefix: PropertyKey[] = []): string {
  const fullPath = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const where = formatPath(fullPath);
    const accepted = acceptedKeys(issue.path);
    return `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}${where ? ` in ${where}` : ''}${accepted ? ` (accepted: ${accepted})` : ''}`;
  }
  const got = valueAt(data, issue.path);
  const shown = got === undefined ? 'nothing' : JSON.stringify(got);
  const message = got === undefined ? `missing; ${issue.message}` : issue.message;
  return `${formatPath(fullPath) || 'the file'}: ${message} (got ${shown && shown.length > 60 ? shown.slice(0, 57) + '...' : shown})`;
}

function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

function valueAt(data: unknown, segments: readonly PropertyKey[]): unknown {
  let current: unknown = data;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

function acceptedKeys(segments: readonly PropertyKey[]): string {
  let schema: z.core.$ZodType | undefined = answersSchema;
  for (const segment of segments) {
    const inner: z.core.$ZodType = unwrap(schema!);
    const def = inner._zod.def as { type: string; shape?: Record<string, z.core.$ZodType>; element?: z.core.$ZodType };
    if (def.type === 'object') schema = def.shape?.[String(segment)];
    else if (def.type === 'array') schema = def.element;
    else return '';
    if (!schema) return '';
  }
  const def = unwrap(schema!)._zod.def as { type: string; shape?: Record<string, unknown> };
  return def.type === 'object' && def.shape ? Object.keys(def.shape).join(', ') : '';
}

/** The schema inside an optional, and the object inside a union such as `false | {...}`. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType; options?: z.core.$ZodType[] };
  if (def.type === 'optional' && def.innerType) return unwrap(def.innerType);
  if (def.type === 'union' && def.options) return def.options.find((o) => (o._zod.def as { type: string }).type === 'object') ?? schema;
  return schema;
}

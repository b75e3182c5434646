// The answers file: what the wizard asks, written down (DESIGN.md). Validated with zod so that every
// mistake is reported as one message naming the field and the accepted form; unknown keys are
// rejected so a typo never silently turns into a default.
import * as fs from 'node:fs/promises';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import type { StepId } from './change.js';
import { UserError } from './errors.js';

const portNumber = z
  .number({ error: 'expected a port number from 1 to 65535' })
  .int({ error: 'expected a whole port number from 1 to 65535' })
  .min(1, { error: 'expected a port number from 1 to 65535' })
  .max(65535, { error: 'expected a port number from 1 to 65535' });

/** A port or a range "10000-20000" (low to high). */
const portOrRange = z.union([
  portNumber,
  z.string().refine(
    (text) => {
      const match = /^(\d{1,5})-(\d{1,5})$/.exec(text);
      if (!match) return false;
      const low = Number(match[1]);
      const high = Number(match[2]);
      return low >= 1 && high <= 65535 && low <= high;
    },
    { error: 'expected a port from 1 to 65535 or a range "LOW-HIGH" with LOW <= HIGH (e.g. "10000-20000")' },
  ),
], { error: 'expected a port from 1 to 65535 or a range "LOW-HIGH" (e.g. "10000-20000")' });

const protocol = z.enum(['tcp', 'udp'], { error: 'expected "tcp" or "udp"' });

export function isValidCidr(text: string): boolean {
  try {
    if (text.includes('/')) ipaddr.parseCIDR(text);
    else ipaddr.parse(text);
    return ipaddr.isValid(text.split('/')[0]!);
  } catch {
    return false;
  }
}

const cidr = z.string().refine(isValidCidr, { error: 'expected an IPv4 or IPv6 address or CIDR such as 198.51.100.0/24 or 2001:db8::/32' });

const countryCode = z.string().regex(/^[A-Z]{2}$/, { error: 'expected a two-letter ISO 3166 country code in capitals, such as "GB"' });

const absolutePath = z.string().regex(/^\//, { error: 'expected an absolute file path such as /root/file' });

export const EXPOSURE_SERVICES = ['mysql', 'postfix', 'asterisk-ami'] as const;
export type ExposureService = (typeof EXPOSURE_SERVICES)[number];

export const exposureAnswers = z.strictObject({
  loopbackOnly: z.array(z.enum(EXPOSURE_SERVICES, { error: `expected one of ${EXPOSURE_SERVICES.map((s) => `"${s}"`).join(', ')}` })),
});

export const ELASTIX_APPS = [
  'a2billing', 'freepbx', 'elastix-gui', 'issabel-gui', 'ari', 'fop', 'fop2', 'roundcube', 'vtigercrm',
  'openfire', 'hylafax', 'phpmyadmin', 'mailman', 'webmin', 'cyrus-imapd', 'tftp', 'portmap', 'vsftpd',
] as const;

const allowRule = z
  .strictObject({
    port: portOrRange,
    proto: protocol,
    from: z.array(cidr).min(1, { error: 'expected at least one address or CIDR (leave "from" out to allow everyone)' }).optional(),
  });

export const answersSchema = z.strictObject({
  'elastix-extras': z.strictObject({ keep: z.array(z.enum(ELASTIX_APPS, { error: `expected one of ${ELASTIX_APPS.join(', ')}` })) }).optional(),
  exposure: exposureAnswers.optional(),
  firewall: z
    .strictObject({
      allow: z.array(allowRule),
      trustedSources: z.array(cidr).optional(),
      rateLimit: z.boolean({ error: 'expected true or false' }).optional(),
    })
    .optional(),
  geoblock: z
    .strictObject({
      mode: z.enum(['allow', 'deny'], { error: 'expected "allow" or "deny"' }),
      countries: z.array(countryCode).min(1, { error: 'expected at least one country code' }),
      ports: z.array(z.strictObject({ port: portOrRange, proto: protocol })).min(1, { error: 'expected at least one port' }),
    })
    .optional(),
  ids: z
    .strictObject({
      jails: z.array(z.enum(['sshd', 'asterisk', 'apache-auth', 'recidive'], { error: 'expected one of "sshd", "asterisk", "apache-auth", "recidive"' })),
      ignoreIp: z.array(cidr).optional(),
    })
    .optional(),
  htaccess: z
    .strictObject({
      protect: z.array(z.string().regex(/^\/[^\s]*$/, { error: 'expected a URL path starting with /, such as /a2billing/admin' })),
      users: z.array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, { error: 'expected a user name of letters, digits, ".", "_" or "-"' }), passwordFile: absolutePath })),
    })
    .optional(),
  ssh: z
    .strictObject({
      port: portNumber.optional(),
      passwordAuthentication: z.boolean({ error: 'expected true or false' }).optional(),
    })
    .optional(),
  ssl: z
    .strictObject({
      domain: z.string().regex(/^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$/, { error: 'expected a fully qualified domain name such as pbx.example.com' }),
      cert: absolutePath.optional(),
      key: absolutePath.optional(),
      chain: absolutePath.optional(),
    })
    .optional(),
});

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
    throw new UserError(`The answers file ${file} is not valid JSON: ${(error as Error).message}.`, 'See "Answers file" in the README for the accepted form.');
  }
  return validateAnswers(data, `answers file ${file}`);
}

export function validateAnswers(data: unknown, source: string): Answers {
  const result = answersSchema.safeParse(data);
  if (result.success) return result.data;
  throw new UserError(`${source}: ${describeIssue(result.error.issues[0]!, data)}`, 'Nothing was changed. See "Answers file" in the README for every key and its accepted form.');
}

/** Validates one step's answers (from the wizard or the journal) the same way. */
export function validateStepAnswers<T>(step: StepId, schema: z.ZodType<T>, data: unknown): T {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  throw new UserError(`answers for ${step}: ${describeIssue(result.error.issues[0]!, data, [step])}`);
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
  const message = issue.code === 'invalid_type' && got === undefined ? `missing; ${issue.message}` : issue.message;
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
  let schema: z.ZodType = answersSchema;
  for (const segment of segments) {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodObject) schema = inner.shape[String(segment)] as z.ZodType;
    else if (inner instanceof z.ZodArray) schema = inner.element as z.ZodType;
    else return '';
    if (!schema) return '';
  }
  const inner = unwrap(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape).join(', ') : '';
}

function unwrap(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? (schema.unwrap() as z.ZodType) : schema;
}

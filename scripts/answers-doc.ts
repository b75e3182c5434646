// docs/answers.md, generated from the answers schema the CLI validates with (src/answers.ts): the
// keys, their types and their accepted forms come from the schema itself — the same words the
// validation error names — so the page cannot drift from the code. What each key means (and its
// default, which the steps decide) is written here; a key without a meaning, or a meaning without a
// key, fails the docs test (test/unit/answers-doc.test.ts).
//
//   npx tsx scripts/answers-doc.ts          writes docs/answers.md
//   npx tsx scripts/answers-doc.ts --check  exits 1 when docs/answers.md is not what it would write
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { answersSchema } from '../src/answers.js';
import { STEP_IDS } from '../steps/catalog.js';

export const MEANINGS: Record<string, string> = {
  'elastix-extras.keep': 'Web apps and daemons to keep; the others found are turned off. Default: `a2billing` and one management UI.',
  'elastix-extras.removePackages': 'Also remove the packages of what is turned off (cannot be undone byte for byte; live system only). Default `false`.',
  'exposure.loopbackOnly': 'Services to bind to loopback (127.0.0.1). Default: every one of them found listening publicly.',
  'voip.allowGuests': 'Let anyone call this PBX by SIP address without an account (chan_sip `allowguest`). Default `false`.',
  'voip.newSecrets': 'chan_sip peers (in files no tool regenerates) to give a new 24-character random secret, shown once after the apply and kept nowhere by bulwark; their phones must be set up again. Default: none.',
  'voip.permit': 'The networks phones register from: extensions open to any address are limited to them. Default: none (left open).',
  'firewall.allow': 'Ports to open.',
  'firewall.allow[].port': 'A port or a range of ports.',
  'firewall.allow[].proto': 'The protocol.',
  'firewall.allow[].from': 'Limits the port to these sources (leave it out to allow everyone).',
  'firewall.trustedSources': 'Sources that may reach every port.',
  'firewall.rateLimit': 'Rate-limit SIP requests, new SSH connections and new SIP connections over TCP, per address. Default `true`.',
  'firewall.networkSettings': 'Set the network stack\'s kernel settings for a server that routes nothing (reverse-path filter, no ICMP redirects or source routing, SYN cookies, martians logged). `false` leaves them as they are. Default `true`.',
  'firewall.sipLimit': 'Tunes the per-address limit on SIP requests; `false` turns it off (the other limits stay).',
  'firewall.sipLimit.perSecond': 'Requests a second one address may send, on average. Default `10`.',
  'firewall.sipLimit.burst': 'Requests one address may send at once. Default `60`.',
  'firewall.sipLimit.exempt': 'Never counted, besides `trustedSources` and the trunks bulwark finds (a trunk bulwark cannot see, or one named by host name under `--root`).',
  'geoblock.mode': '`allow`: only these countries may reach the ports; `deny`: all but these.',
  'geoblock.countries': 'The countries, as codes the country data knows.',
  'geoblock.ports': 'The ports the rule protects.',
  'geoblock.ports[].port': 'A port or a range of ports.',
  'geoblock.ports[].proto': 'The protocol.',
  'ids.jails': 'fail2ban jails to enable.',
  'ids.ignoreIp': 'Never banned, besides loopback, your address, the trusted sources and the SIP trunks.',
  'ids.integrity': 'Record a file-integrity baseline with AIDE. Default `true`, unless OSSEC or Wazuh is installed.',
  'htaccess.protect': 'URL paths to put behind basic auth.',
  'htaccess.users': 'Who may log in: at least one user when a path is protected.',
  'htaccess.users[].name': 'The user name.',
  'htaccess.users[].passwordFile': 'A file holding the password on its first line (at least 10 characters). The password itself is never written in the answers file, the journal or a log. Left out only for a password typed in the wizard.',
  'ssh.port': 'Move SSH to this port (leave it out to keep the current one); it must be free and outside Asterisk\'s RTP range.',
  'ssh.passwordAuthentication': 'Allow password logins; `false` only once bulwark has seen this session log in with a key. Default: `false` when a key login is seen, else `true`.',
  'ssh.allowTcpForwarding': 'Allow SSH tunnels (`ssh -L`), for example to reach MySQL from a GUI on your computer. Default: `false`.',
  'ssl.domain': 'The certificate\'s main name.',
  'ssl.cert': 'The CA-signed certificate. Without it, bulwark makes a key and a certificate signing request (CSR) for the CA.',
  'ssl.key': 'The certificate\'s private key (bulwark\'s own key is read on the box; files you bring are read where bulwark runs).',
  'ssl.chain': 'The intermediate chain of the CA.',
  'ssl.names': 'More names for the certificate (subjectAltName).',
  'ssl.keyType': 'The key made for the request. Default `ecdsa-p256`.',
  'ssl.root': 'A private CA\'s root, to check the chain against (public CAs: the system\'s CA bundle).',
  'ssl.selfSigned': 'Make a self-signed certificate (only when asked: browsers warn). Default `false`.',
  'ssl.hsts': 'Send Strict-Transport-Security (one year). Default `false`.',
  'ssl.keepHttp': 'URL paths that stay on plain HTTP (phone provisioning).',
  'updates.unattendedUpgrades': 'Debian: have unattended-upgrades install security updates every day, from the security archive only (the package must be installed already: bulwark does not install it). Default `false`.',
};

interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  options?: Schema[];
  entries?: Record<string, string>;
  values?: unknown[];
  error?: (issue: unknown) => unknown;
  checks?: { _zod: { def: { error?: (issue: unknown) => unknown } } }[];
}
type Schema = { _zod: { def: Def } };

interface Row {
  readonly key: string;
  readonly required: boolean;
  readonly accepted: string;
}

/** The validation's own message for a schema ("expected a port number from 1 to 65535"), if any. */
function message(schema: Schema): string | null {
  // The type's own message, else the first of its checks' (a pattern, a range).
  for (const def of [schema._zod.def, ...(schema._zod.def.checks ?? []).map((check) => check._zod.def)]) {
    const text = def.error?.({});
    if (typeof text === 'string') return text.replace(/^expected /, '');
  }
  return null;
}

/** The accepted form of a leaf in words: the schema's type, then what its message says. */
function accepted(schema: Schema): string {
  const def = schema._zod.def;
  if (def.type === 'enum') return `one of ${Object.values(def.entries ?? {}).map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`;
  if (def.type === 'boolean') return '`true` or `false`';
  if (def.type === 'literal') return (def.values ?? []).map((v) => `\`${JSON.stringify(v)}\``).join(' or ');
  if (def.type === 'array') {
    const item = def.element!._zod.def.type === 'object' ? 'an object with the keys below' : accepted(def.element!);
    return `${message(schema) ?? 'a list'}, each ${item}`;
  }
  if (def.type === 'union') return message(schema) ?? def.options!.map((o) => (o._zod.def.type === 'object' ? 'an object with the keys below' : accepted(o))).join(', or ');
  return message(schema) ?? def.type;
}

function rows(schema: Schema, key: string, required: boolean, out: Row[]): void {
  const def = schema._zod.def;
  if (def.type === 'optional') return rows(def.innerType!, key, false, out);
  if (def.type === 'object') {
    // A list's items are described by the list's own row.
    if (key.includes('.') && !key.endsWith('[]')) out.push({ key, required, accepted: message(schema) ?? 'an object with the keys below' });
    for (const [name, child] of Object.entries(def.shape!)) rows(child, `${key}.${name}`, true, out);
    return;
  }
  out.push({ key, required, accepted: accepted(schema) });
  if (def.type === 'array' && def.element!._zod.def.type === 'object') rows(def.element!, `${key}[]`, true, out);
  if (def.type === 'union') for (const option of def.options!) if (option._zod.def.type === 'object') rows(option, key, required, out);
}

/** Every key of the schema, with whether it is required and its accepted form. */
export function answerRows(): Row[] {
  const out: Row[] = [];
  const shape = (answersSchema as unknown as Schema)._zod.def.shape!;
  for (const step of Object.keys(shape)) rows(shape[step]!, step, false, out);
  // An object inside a union (firewall.sipLimit) gives its fields a second time under the same key.
  return out.filter((row, i) => out.findIndex((r) => r.key === row.key) === i && row.key.includes('.'));
}

export function renderAnswersDoc(): string {
  const all = answerRows();
  const lines = [
    '# The answers file',
    '',
    '<!-- Generated by scripts/answers-doc.ts from the schema in src/answers.ts: do not edit by hand. -->',
    '',
    'What the wizard asks, written down, for `bulwark apply --yes --answers FILE` (and prefilled in the',
    'wizard). JSON, one key per step; every step key is optional. Unknown keys are rejected, so a typo',
    'never turns silently into a default. A wrong value gets one message naming the field and the',
    'accepted form below, exit code 2, and nothing is changed. With `--host`, the answers file and the',
    'password files it names are read on your workstation.',
    '',
    '```json',
    '{',
    '  "exposure": { "loopbackOnly": ["mysql", "postfix", "asterisk-ami"] },',
    '  "firewall": { "allow": [{ "port": 22, "proto": "tcp", "from": ["198.51.100.0/24"] },',
    '                          { "port": "10000-20000", "proto": "udp" }],',
    '                "trustedSources": ["203.0.113.0/24"] },',
    '  "geoblock": { "mode": "allow", "countries": ["GB", "IE"], "ports": [{ "port": 5060, "proto": "udp" }] },',
    '  "htaccess": { "protect": ["/a2billing/admin"], "users": [{ "name": "ops", "passwordFile": "/root/ops.pw" }] },',
    '  "ssh": { "passwordAuthentication": false }',
    '}',
    '```',
    '',
  ];
  for (const step of STEP_IDS) {
    const mine = all.filter((row) => row.key.startsWith(`${step}.`));
    if (mine.length === 0) continue;
    lines.push(`## ${step}`, '', `The \`${step}\` step: [what it does](steps/${step}.md).`, '', '| key | required | meaning | accepted |', '|---|---|---|---|');
    for (const row of mine) lines.push(`| \`${row.key}\` | ${row.required ? 'yes' : 'no'} | ${cell(MEANINGS[row.key] ?? '')} | ${cell(row.accepted)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

const cell = (text: string) => text.replaceAll('|', '\\|');

const target = fileURLToPath(new URL('../docs/answers.md', import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderAnswersDoc();
  if (process.argv.includes('--check')) {
    const current = (() => {
      try {
        return readFileSync(target, 'utf8');
      } catch {
        return '';
      }
    })();
    if (current !== text) {
      process.stderr.write('docs/answers.md is out of date: run `npx tsx scripts/answers-doc.ts`.\n');
      process.exit(1);
    }
  } else {
    writeFileSync(target, text);
  }
}

// The ten steps by id, title and summary, in the order the wizard walks them. Kept apart from
// the step modules so that the command line can name and check steps without loading them.
import type { StepId } from '../src/change.js';

export interface CatalogEntry {
  readonly id: StepId;
  readonly title: string;
  readonly summary: string;
}

export const STEP_CATALOG: readonly CatalogEntry[] = [
  { id: 'elastix-extras', title: 'Minimal installation', summary: 'Disable the web apps and daemons an Elastix / Issabel / FreePBX install exposes that you do not use.' },
  { id: 'exposure', title: 'Minimal exposure', summary: 'Bind the services only the box itself uses (database, mail, Asterisk manager) to loopback.' },
  { id: 'voip', title: 'Toll-fraud hardening', summary: 'Close the holes inside Asterisk that toll fraud uses: guest calls, extension enumeration, weak and default secrets, open AMI.' },
  { id: 'firewall', title: 'Default-deny firewall', summary: 'Block everything, then open only the ports you keep, for IPv4 and IPv6, and harden the network stack, under a dead-man switch.' },
  { id: 'geoblock', title: 'Geo-blocking', summary: 'Allow SIP and SSH only from the countries your customers are in.' },
  { id: 'ids', title: 'Intrusion detection', summary: 'fail2ban jails proved on your logs, and a file-integrity baseline checked every day.' },
  { id: 'htaccess', title: 'Web second layer', summary: 'Apache basic auth in front of the admin web apps.' },
  { id: 'ssh', title: 'SSH hardening', summary: 'Key-only login, modern encryption for this OpenSSH, shorter sessions, and an optional port change, guarded like the firewall.' },
  { id: 'ssl', title: 'Certificates', summary: 'A CA-signed certificate installed after a pre-flight check, HTTP redirected to HTTPS.' },
  // Last: it adds to the walk without moving the others; its end-of-life warning is on the first screen anyway.
  { id: 'updates', title: 'Security updates', summary: 'Is this release still getting security fixes, how many wait to be installed, and (Debian) install them automatically.' },
];

export const STEP_IDS: readonly StepId[] = STEP_CATALOG.map((entry) => entry.id);

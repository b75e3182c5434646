// Every step of the wizard, in the order the wizard walks them. The ids are part of the interface.
import type { StepId } from '../src/change.js';
import { exposureStep } from './exposure/index.js';
import type { ComingStep, Step } from './types.js';

export type StepEntry = { readonly built: true; readonly step: Step<any, any> } | { readonly built: false; readonly step: ComingStep };

export const STEPS: readonly StepEntry[] = [
  { built: false, step: { id: 'elastix-extras', title: 'Minimal installation', summary: 'Disable the web apps and daemons an Elastix / Issabel / FreePBX install exposes that you do not use.' } },
  { built: true, step: exposureStep },
  { built: false, step: { id: 'firewall', title: 'Default-deny firewall', summary: 'Block everything, then open only the ports you keep, for IPv4 and IPv6, under a dead-man switch.' } },
  { built: false, step: { id: 'geoblock', title: 'Geo-blocking', summary: 'Allow SIP and SSH only from the countries your customers are in.' } },
  { built: false, step: { id: 'ids', title: 'Intrusion detection', summary: 'fail2ban jails proved on your logs, and a file-integrity baseline.' } },
  { built: false, step: { id: 'htaccess', title: 'Web second layer', summary: 'Apache basic auth in front of the admin web apps.' } },
  { built: false, step: { id: 'ssh', title: 'SSH hardening', summary: 'Key-only login and an optional port change, guarded like the firewall.' } },
  { built: false, step: { id: 'ssl', title: 'Certificates', summary: 'A CA-signed certificate installed after a pre-flight check, HTTP redirected to HTTPS.' } },
];

export const STEP_IDS: readonly StepId[] = STEPS.map((entry) => entry.step.id);

export function findStep(id: string): StepEntry | undefined {
  return STEPS.find((entry) => entry.step.id === id);
}

// Every step of the wizard, in the catalog's order: the built modules, and the others as "coming".
import type { StepId } from '../src/change.js';
import { STEP_CATALOG } from './catalog.js';
import { extrasStep } from './elastix-extras/index.js';
import { exposureStep } from './exposure/index.js';
import { htaccessStep } from './htaccess/index.js';
import { idsStep } from './ids/index.js';
import { sslStep } from './ssl/index.js';
import { sshStep } from './ssh/index.js';
import { firewallStep } from './firewall/index.js';
import { geoblockStep } from './geoblock/index.js';
import { voipStep } from './voip/index.js';
import { updatesStep } from './updates/index.js';
import type { ComingStep, Step } from './types.js';

export { STEP_IDS } from './catalog.js';

export type StepEntry = { readonly built: true; readonly step: Step<any, any> } | { readonly built: false; readonly step: ComingStep };

const BUILT: Partial<Record<StepId, Step<any, any>>> = {
  'elastix-extras': extrasStep,
  exposure: exposureStep,
  voip: voipStep,
  firewall: firewallStep,
  geoblock: geoblockStep,
  ids: idsStep,
  htaccess: htaccessStep,
  ssh: sshStep,
  ssl: sslStep,
  updates: updatesStep,
};

export const STEPS: readonly StepEntry[] = STEP_CATALOG.map((entry): StepEntry => {
  const step = BUILT[entry.id];
  return step ? { built: true, step } : { built: false, step: entry };
});

export function findStep(id: string): StepEntry | undefined {
  return STEPS.find((entry) => entry.step.id === id);
}

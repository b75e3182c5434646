// Step `exposure`: minimal exposure. Services that only the box itself uses (the database, outbound
// mail, the Asterisk manager interface) should not answer on the public address at all. This step
// inventories what listens and binds the internal-only services to loopback, editing only the one
// line that decides it in each program's own config file.
import type { Change, Validator } from '../../src/change.js';
import type { Host } from '../../src/host.js';
import type { FactRow, Finding, Question, Step, StepContext, VerifyCheck } from '../types.js';
import { amiSettings, setInSection } from './asterisk-conf.js';
import { configInventory, liveInventory, type InventoryEntry } from './inventory.js';
import { isLoopbackBind, loadMyCnf, planBindAddress } from './mycnf.js';
import { inetInterfaces, isLoopbackInterfaces, setMainCfParameter } from './postfix.js';
import { EXPOSURE_SERVICES, type ExposureService } from './services.js';
import { isLoopbackAddress, isWildcardAddress, parseSs } from './ss.js';

export type ExposureAnswers = { loopbackOnly: ExposureService[] };

export interface BindableService {
  readonly id: ExposureService;
  readonly label: string;
  readonly port: number;
  /** The effective listen setting now, as the program's config says it. */
  readonly bind: string;
  readonly loopback: boolean;
  /** Where the deciding setting lives (or will be added). */
  readonly configFile: string;
  /** The one-file edit that binds it to loopback; null when it already is. */
  readonly edit: { readonly path: string; readonly before: string; readonly after: string } | null;
  readonly validators: readonly Validator[];
  readonly restart: Pick<Extract<Change, { kind: 'service' }>, 'names' | 'action' | 'command' | 'undo'>;
  /** What the admin should know before binding it (who might still need it from outside). */
  readonly caveat: string;
}

export interface ExposureFacts {
  readonly inventory: readonly InventoryEntry[];
  readonly inventorySource: 'ss' | 'config';
  readonly services: readonly BindableService[];
}

const LOOPBACK_V4 = '127.0.0.1';

export const exposureStep: Step<ExposureFacts, ExposureAnswers> = {
  id: 'exposure',
  title: 'Minimal exposure',
  why: [
    'Some programs on a VoIP box are only ever used by the box itself: the database A2Billing and FreePBX keep their data in, the mail server that sends voicemail and invoices, and the Asterisk manager interface that the web panels talk to.',
    'Many installs leave them listening on every network address, so anyone on the Internet can try passwords against them or wait for the next security hole. A service that answers only on 127.0.0.1 (loopback) cannot be reached from outside at all, whatever its password.',
    'This step lists what is listening, marks what should stay internal, and changes one line in each chosen program\'s own config file. The program is then restarted so it listens on loopback only.',
  ],

  async detect(ctx: StepContext): Promise<ExposureFacts> {
    const services = (await Promise.all([detectMysql(ctx.host), detectPostfix(ctx.host), detectAmi(ctx.host)])).filter((s): s is BindableService => s !== null);
    const live = ctx.host.live ? await liveInventory(ctx.host) : null;
    const inventory = live ?? [...servicesAsInventory(services), ...(await configInventory(ctx.host))];
    return { inventory, inventorySource: live ? 'ss' : 'config', services };
  },

  describe(facts: ExposureFacts): FactRow[] {
    return facts.inventory.map((entry) => ({
      label: `${entry.service} ${entry.proto}/${entry.port}`,
      value: `${entry.address} · ${entry.loopback ? 'loopback only' : entry.role === 'internal' ? 'EXPOSED: meant for internal use' : entry.role === 'public' ? 'public, as it should be' : 'review: needed from outside?'}`,
      tone: entry.loopback ? 'good' : entry.role === 'internal' ? 'bad' : 'neutral',
    }));
  },

  defaults(facts: ExposureFacts): ExposureAnswers {
    return { loopbackOnly: facts.services.filter((s) => !s.loopback).map((s) => s.id) };
  },

  questions(facts: ExposureFacts): Question[] {
    const open = facts.services.filter((s) => !s.loopback);
    if (open.length === 0) return [];
    return [
      {
        kind: 'multiselect',
        key: 'loopbackOnly',
        prompt: 'Which services should answer on loopback (127.0.0.1) only?',
        help: 'Leave one unticked only if another machine really connects to it.',
        choices: open.map((s) => ({ value: s.id, label: `${s.label}, port ${s.port} (now on ${describeBind(s.bind)})`, detail: s.caveat })),
      },
    ];
  },

  plan(facts: ExposureFacts, answers: ExposureAnswers): Change[] {
    const changes: Change[] = [];
    for (const id of EXPOSURE_SERVICES) {
      if (!answers.loopbackOnly.includes(id)) continue;
      const service = facts.services.find((s) => s.id === id);
      if (!service?.edit) continue;
      changes.push({
        kind: 'file',
        step: 'exposure',
        path: service.edit.path,
        before: service.edit.before,
        after: service.edit.after,
        validators: service.validators,
        reason: `${service.label} listens on ${describeBind(service.bind)}; bind it to loopback only`,
      });
      changes.push({ kind: 'service', step: 'exposure', ...service.restart, reason: `${service.label} reads its listen address only at start` });
    }
    return changes;
  },

  findings(facts: ExposureFacts): Finding[] {
    const findings: Finding[] = facts.services
      .filter((s) => !s.loopback)
      .map((s) => ({
        severity: s.id === 'postfix' ? 'medium' : 'high',
        title: `${s.label} is reachable from outside (listens on ${describeBind(s.bind)}, port ${s.port})`,
        why: `Only the box itself needs ${s.label}; listening on a public address lets anyone on the Internet try passwords or exploits against it.`,
        fix: `Bind it to ${LOOPBACK_V4} in ${s.configFile} and restart it.`,
      }));
    for (const entry of facts.inventory.filter((e) => e.role === 'unknown' && !e.loopback)) {
      findings.push({
        severity: 'low',
        title: `${entry.service} listens on ${entry.address} ${entry.proto}/${entry.port}`,
        why: 'bulwark does not know this program. Anything listening on a public address is something an attacker can try.',
        fix: 'Check whether it is needed from outside; if not, bind it to loopback or stop it. The firewall step will close it either way.',
      });
    }
    return findings;
  },

  async verify(ctx: StepContext, answers: ExposureAnswers): Promise<VerifyCheck[]> {
    const checks: VerifyCheck[] = [];
    const after = await exposureStep.detect(ctx);
    for (const id of answers.loopbackOnly) {
      const service = after.services.find((s) => s.id === id);
      if (!service) continue;
      checks.push({ label: `${service.label}: config binds ${service.bind}`, ok: service.loopback, detail: service.loopback ? undefined : `still ${service.bind} in ${service.configFile}` });
      if (ctx.host.live) checks.push(await verifyListening(ctx.host, service));
    }
    return checks;
  },
};

/** "*", "0.0.0.0", "::", Postfix's "all": every address. */
function describeBind(bind: string): string {
  return isWildcardAddress(bind) || bind === 'all' ? 'all addresses' : bind;
}

function servicesAsInventory(services: readonly BindableService[]): InventoryEntry[] {
  return services.map((s) => ({ service: s.label, proto: 'tcp', address: s.bind, port: String(s.port), loopback: s.loopback, role: 'internal' }));
}

/** On the live box: after the restart, nothing but loopback may listen on the service's port. */
async function verifyListening(host: Host, service: BindableService): Promise<VerifyCheck> {
  // A restarted daemon takes a moment to bind; poll briefly instead of sleeping a fixed time.
  let publicSockets: string[] = [];
  for (let attempt = 0; attempt < 20; attempt++) {
    const result = await host.run({ file: 'ss', args: ['-H', '-tlnp'] }, { reject: false });
    const sockets = parseSs(result.stdout).filter((s) => s.port === service.port);
    publicSockets = sockets.filter((s) => !isLoopbackAddress(s.address)).map((s) => `${s.address}:${s.port}`);
    if (publicSockets.length === 0 && sockets.length > 0) return { label: `${service.label} listens on loopback only`, ok: true };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (publicSockets.length === 0) return { label: `${service.label} is not listening on port ${service.port} (not running?)`, ok: true };
  return { label: `${service.label} listens on loopback only`, ok: false, detail: `still listening on ${publicSockets.join(', ')}` };
}

async function detectMysql(host: Host): Promise<BindableService | null> {
  const defaults = ['/etc/my.cnf', '/etc/mysql/my.cnf'];
  if (!(await Promise.all(defaults.map((f) => host.exists(f)))).some(Boolean)) return null;
  const facts = await loadMyCnf(host, defaults);
  // Without bind-address the server listens on every address.
  const bind = facts.skipNetworking ? 'no TCP (skip-networking)' : (facts.bindAddress?.value ?? '*');
  const loopback = facts.skipNetworking || (facts.bindAddress !== null && isLoopbackBind(facts.bindAddress.value));
  const edit = loopback ? null : await planBindAddress(host, facts, LOOPBACK_V4);
  // MySQL 8.0.16+ can check its option files itself; MariaDB cannot, but my_print_defaults parses
  // the same files (includes too) and fails on what the server would refuse to read.
  const mariadb = (await host.findProgram('mariadbd')) !== null || (await host.exists('/etc/mysql/mariadb.cnf'));
  const validators: Validator[] = mariadb
    ? [{ when: 'installed', command: { file: 'my_print_defaults', args: ['--mysqld'] }, label: 'MariaDB option files parse (my_print_defaults)' }]
    : [{ when: 'installed', command: { file: 'mysqld', args: ['--validate-config'] }, label: 'mysqld --validate-config' }];
  return {
    id: 'mysql',
    label: 'MySQL / MariaDB',
    port: facts.port,
    bind,
    loopback,
    configFile: facts.bindAddress?.file ?? edit?.path ?? facts.files[0] ?? '/etc/my.cnf',
    edit,
    validators,
    restart: { names: await installedFirst(host, ['mariadb', 'mysql', 'mysqld']), action: 'restart', undo: 'restart' },
    caveat: 'Untick if another server (a replica, a second web server, a reporting tool) connects to this database.',
  };
}

/** Service names with the one this box has first, so previews name the right one. */
async function installedFirst(host: Host, names: string[]): Promise<string[]> {
  for (const name of names) {
    for (const place of [`/etc/init.d/${name}`, `/etc/rc.d/init.d/${name}`, `/lib/systemd/system/${name}.service`, `/usr/lib/systemd/system/${name}.service`]) {
      if (await host.exists(place)) return [name, ...names.filter((n) => n !== name)];
    }
  }
  return names;
}

async function detectPostfix(host: Host): Promise<BindableService | null> {
  const file = await host.resolve('/etc/postfix/main.cf');
  const text = await host.readText(file);
  if (text === null) return null;
  const value = inetInterfaces(text);
  const loopback = isLoopbackInterfaces(value);
  const after = setMainCfParameter(text, 'inet_interfaces', 'loopback-only');
  return {
    id: 'postfix',
    label: 'Postfix (mail)',
    port: 25,
    bind: value,
    loopback,
    configFile: file,
    edit: loopback || after === text ? null : { path: file, before: text, after },
    validators: [{ when: 'installed', command: { file: 'postfix', args: ['check'] }, label: 'postfix check' }],
    // inet_interfaces is read only when Postfix starts: a reload is not enough (postconf(5)).
    restart: { names: ['postfix'], action: 'restart', undo: 'restart' },
    caveat: 'Untick if this box receives mail from other machines (Elastix with its own mailboxes); sending voicemail and invoices keeps working.',
  };
}

async function detectAmi(host: Host): Promise<BindableService | null> {
  const file = await host.resolve('/etc/asterisk/manager.conf');
  const text = await host.readText(file);
  if (text === null) return null;
  const settings = amiSettings(text);
  const loopback = !settings.enabled || isLoopbackAddress(settings.bindaddr);
  const after = setInSection(text, 'general', 'bindaddr', LOOPBACK_V4);
  return {
    id: 'asterisk-ami',
    label: 'Asterisk manager (AMI)',
    port: settings.port,
    bind: settings.enabled ? settings.bindaddr : 'disabled',
    loopback,
    configFile: file,
    edit: loopback || after === text ? null : { path: file, before: text, after },
    validators: [],
    restart: { names: ['asterisk'], action: 'reload', command: { file: 'asterisk', args: ['-rx', 'manager reload'] }, undo: 'reload' },
    caveat: 'Untick if a CRM, call-center panel or dialer on another machine connects to AMI.',
  };
}

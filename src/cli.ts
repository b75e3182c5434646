// bulwark's entry point: parse the command line (commander) and hand over. The workflows live in
// commands.ts; the wizard in ui/. Errors the user can fix print one message and exit 2 (bad input)
// or 1 (refused); only bugs print a stack trace.
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Answers } from './answers.js';
import type { StepId } from './change.js';
import type { Io } from './commands.js';
import type { Engine } from './engine.js';
import { CommandError, describeSystemError, UserError } from './errors.js';
import { EXIT } from './exit.js';
import { exitCodeFor, stopRequested } from './signals.js';
import { colorEnabled, palette, thousands } from './output.js';
import { STEP_IDS } from '../steps/catalog.js';

// The engine, the steps and the UI load on demand: `bulwark --version` and `--help` stay instant,
// and the wizard can draw its first frame before the rest is evaluated.
const commands = () => import('./commands.js');

declare const __BULWARK_VERSION__: string | undefined;
declare const __BULWARK_GEO_VERSION__: string | undefined;
/** bulwark's version, and the date of the country data built in (its package version: 2.3.YYYYMMDDhh). */
const VERSION = (() => {
  const own = typeof __BULWARK_VERSION__ === 'string' ? __BULWARK_VERSION__ : 'dev';
  const geo = typeof __BULWARK_GEO_VERSION__ === 'string' ? /^\d+\.\d+\.(\d{4})(\d{2})(\d{2})/.exec(__BULWARK_GEO_VERSION__) : null;
  return geo ? `${own} (country data of ${geo[1]}-${geo[2]}-${geo[3]})` : own;
})();

interface GlobalOptions {
  root: string;
  stateDir?: string;
  host?: string;
  sshOption?: string[];
  answers?: string;
  json?: boolean;
  color: boolean;
}

function collectStep(value: string, previous: StepId[]): StepId[] {
  if (!STEP_IDS.includes(value as StepId)) {
    throw new UserError(`--step: unknown step "${value}" (accepted: ${STEP_IDS.join(', ')}).`);
  }
  return [...previous, value as StepId];
}

function parseTimeout(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 10 || Number(value) > 3600) {
    throw new UserError(`--confirm-timeout: expected whole seconds from 10 to 3600 (got "${value}").`);
  }
  return Number(value);
}

/** Closed when the command ends, whatever happened (the SSH master connection of remote mode). */
const closers: (() => Promise<void>)[] = [];

async function openEngine(options: GlobalOptions): Promise<Engine> {
  const { Engine } = await import('./engine.js');
  // The answers file (and the password files it names) are read here, on the admin's machine.
  const answers: Answers | undefined = options.answers ? await (await import('./answers.js')).loadAnswersFile(options.answers) : undefined;
  if (options.host === undefined) return Engine.open({ root: options.root, stateDir: options.stateDir, answers });
  if (options.root !== '/') throw new UserError('--root and --host cannot be used together.', 'Use --root for the files of a mounted disk, --host for a running box over SSH.');
  const { connectRemote } = await import('./remote/connect.js');
  const stateDir = path.posix.resolve('/', options.stateDir ?? '/var/lib/bulwark');
  const remote = await connectRemote(options.host, options.sshOption ?? [], stateDir);
  closers.push(() => remote.close());
  const engine = await Engine.open({ root: '/', stateDir, answers, remote: remote.box });
  return engine;
}

function makeIo(options: GlobalOptions): Io {
  return {
    json: Boolean(options.json),
    palette: palette(!options.json && colorEnabled(!options.color)),
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
  };
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command();
  program
    .name('bulwark')
    .description('Guided hardening for Linux VoIP servers: every change previewed, snapshotted, verified and reversible.')
    .version(VERSION, '--version', 'print the version')
    .helpOption('--help', 'show help')
    .addOption(new Option('--root <dir>', 'filesystem root to act on').default('/'))
    .addOption(new Option('--state-dir <dir>', 'where bulwark keeps its journal and snapshots (default <root>/var/lib/bulwark)'))
    .addOption(new Option('--host <[user@]host[:port]>', 'act on that box over SSH (ssh://user@host:port works too); the box needs only /bin/sh'))
    .addOption(new Option('--ssh-option <key=value>', 'passed to ssh as -o KEY=VALUE (repeatable): IdentityFile, ProxyJump, ...').argParser((value: string, previous: string[] = []) => [...previous, value]))
    .addOption(new Option('--answers <file>', 'answers file (JSON) with the choices the wizard would ask for'))
    .addOption(new Option('--json', 'machine-readable output (plan, status, history, audit)'))
    .addOption(new Option('--no-color', 'no colours (NO_COLOR is honoured too)'))
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text), outputError: () => undefined });

  const globals = (command: Command): GlobalOptions => command.optsWithGlobals() as GlobalOptions;
  const run = (fn: (engine: Engine, io: Io) => Promise<number>) => async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const options = globals(command);
    // Every command here needs the commands module: its loading goes along with the engine's.
    commands().catch(() => undefined);
    setExit(await fn(await openEngine(options), makeIo(options)));
  };

  program
    .command('wizard', { isDefault: true, hidden: true })
    .description('interactive wizard on this host (the default command)')
    .option('--confirm-timeout <seconds>', 'seconds to confirm a guarded change from a new SSH session (default 120)', parseTimeout)
    .action(async (opts: { confirmTimeout?: number }, command: Command) => {
      const options = globals(command);
      if (!process.stdin.isTTY || !process.stdout.isTTY) {
        process.stderr.write(
          [
            'The bulwark wizard needs an interactive terminal (stdin and stdout must be a TTY).',
            'Without one, use the headless commands:',
            '  bulwark plan                 show every planned change as a diff',
            '  bulwark apply --yes          apply them (choices from --answers FILE, or safe defaults)',
            '  bulwark status               see where the session stands',
            'Over SSH, make sure a terminal is allocated: ssh -t HOST sudo bulwark',
          ].join('\n') + '\n',
        );
        setExit(EXIT.changesOrUsage);
        return;
      }
      // A person is at this terminal. Ink draws only the last frame when it believes it runs in CI
      // (is-in-ci reads these variables when Ink loads), which would leave the screen blank.
      delete process.env.CI;
      delete process.env.CONTINUOUS_INTEGRATION;
      // The UI (Ink, React, yoga) loads along with the engine.
      const ui = import('./ui/run.js');
      ui.catch(() => undefined);
      const engine = await openEngine(options);
      const { runWizard } = await ui;
      setExit(await runWizard(engine, { color: colorEnabled(!options.color), confirmTimeout: opts.confirmTimeout }));
    });

  program
    .command('plan')
    .description('show every planned change as a unified diff; exit 0 = nothing to do, 2 = changes')
    .option('--step <id>', 'only this step (repeatable)', collectStep, [])
    .action(run(async (engine, io) => (await commands()).planCommand(engine, (program.commands.find((c) => c.name() === 'plan')!.opts() as { step: StepId[] }).step, io)));

  program
    .command('apply')
    .description('apply the planned changes')
    .option('--step <id>', 'only this step (repeatable)', collectStep, [])
    .option('--yes', 'apply without asking')
    .option('--confirm-timeout <seconds>', 'seconds to confirm a guarded change from a new SSH session', parseTimeout)
    .action(run((engine, io) => {
      const opts = program.commands.find((c) => c.name() === 'apply')!.opts() as { step: StepId[]; yes?: boolean; confirmTimeout?: number };
      return commands().then((c) => c.applyCommand(engine, opts.step, { yes: Boolean(opts.yes), confirmTimeout: opts.confirmTimeout }, io));
    }));

  program
    .command('confirm')
    .description('from a NEW ssh session: keep the guarded change that is waiting')
    .argument('<token>', 'the token the wizard or `apply` printed')
    .action(async (token: string, _opts: unknown, command: Command) => {
      const options = globals(command);
      setExit(await (await commands()).confirmCommand(await openEngine(options), token, makeIo(options)));
    });

  program.command('status').description('session progress, pending confirmation and its deadline').action(run(async (engine, io) => (await commands()).statusCommand(engine, io)));
  program.command('history').description('snapshots, newest first').action(run(async (engine, io) => (await commands()).historyCommand(engine, io)));

  program
    .command('rollback')
    .description('restore a snapshot (and everything applied after it), a step\'s last change, or the last change')
    .argument('[snapshot]', 'snapshot id from `bulwark history`')
    .addOption(new Option('--step <id>', 'undo this step\'s change in effect').argParser((value) => collectStep(value, [])[0]!))
    .option('--last', 'undo the most recent change in effect')
    .option('--yes', 'do not ask first')
    .action(async (snapshot: string | undefined, opts: { step?: StepId; last?: boolean; yes?: boolean }, command: Command) => {
      const options = globals(command);
      const engine = await openEngine(options);
      setExit(await (await commands()).rollbackCommand(engine, { snapshot, step: opts.step, last: opts.last }, { yes: Boolean(opts.yes), interactive: Boolean(process.stdin.isTTY) }, makeIo(options)));
    });

  program
    .command('audit')
    .description('read-only findings per step (what `plan` would change, and why)')
    .option('--step <id>', 'only this step (repeatable)', collectStep, [])
    .action(run(async (engine, io) => (await commands()).auditCommand(engine, (program.commands.find((c) => c.name() === 'audit')!.opts() as { step: StepId[] }).step, io)));

  // For scripts/build.mjs: the shipped country data's index, next to the bundle (see geoblock/source.ts).
  program
    .command('__geo-index', { hidden: true })
    .argument('<out-file>')
    .action(async (out: string) => {
      const { shippedIndex } = await import('../steps/geoblock/source.js');
      const { writeFileDurable } = await import('./fsutil.js');
      await writeFileDurable(out, await shippedIndex(), 0o644);
    });

  // For scripts/build.mjs: the code cache kept beside the bundle (see code-cache.ts).
  program
    .command('__code-cache', { hidden: true })
    .argument('<kind>', 'wizard or commands')
    .argument('<fixture-root>')
    .argument('<out-file>')
    .action(async (kind: string, root: string, out: string) => {
      const { CODE_CACHE_KINDS, writeCodeCache } = await import('./code-cache.js');
      if (!(CODE_CACHE_KINDS as readonly string[]).includes(kind)) throw new UserError(`__code-cache: unknown kind "${kind}" (accepted: ${CODE_CACHE_KINDS.join(', ')}).`);
      await writeCodeCache(kind as (typeof CODE_CACHE_KINDS)[number], root, out);
    });

  const geoblock = program.command('geoblock').description('geo-blocking data');
  geoblock
    .command('update')
    .description('refresh the country data')
    .requiredOption('--from <file-or-url>', 'CSV file or HTTP(S) URL')
    .action(async (opts: { from: string }, command: Command) => {
      const options = globals(command);
      const engine = await openEngine(options);
      const { updateData } = await import('../steps/geoblock/source.js');
      const io = makeIo(options);
      await engine.lockForWriting('geoblock update');
      try {
        // Fetched and checked here; kept in the state directory, on the box in remote mode.
        const report = await updateData(engine.stateDir, opts.from, (message) => io.err(message), engine.remoteMode ? engine.state : undefined);
        io.out(`Country data updated from ${report.origin}: ${thousands(report.lines.ipv4)} IPv4 and ${thousands(report.lines.ipv6)} IPv6 ranges (replaced: ${report.replaced.join(', ')}).`);
        io.out('Apply it to the sets with `bulwark apply --step geoblock --yes` (or in the wizard).');
        setExit(EXIT.ok);
      } finally {
        engine.release();
      }
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    try {
      await program.parseAsync([...argv], { from: 'user' });
    } finally {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
    }
    const signal = stopRequested();
    if (signal) {
      process.stderr.write(`bulwark: stopped by ${signal} after finishing the change in progress.\n`);
      return exitCodeFor(signal);
    }
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
    process.stderr.write(`bulwark: ${error.message.replace(/^error: /, '')}\nRun \`bulwark --help\` for the commands and options.\n`);
    return EXIT.changesOrUsage;
  }
  if (error instanceof UserError) {
    process.stderr.write(`bulwark: ${error.message}\n${error.hint ? `${error.hint}\n` : ''}`);
    return error.exitCode;
  }
  if (error instanceof CommandError) {
    process.stderr.write(`bulwark: ${error.message}\n`);
    return EXIT.failed;
  }
  const system = describeSystemError(error);
  if (system) {
    process.stderr.write(`bulwark: ${system}\nFree space or fix that filesystem, then run bulwark again: it finishes or undoes what was left half-done.\n`);
    return EXIT.failed;
  }
  process.stderr.write(`bulwark: internal error — this is a bug, please report it with the trace below.\n${error instanceof Error ? error.stack : String(error)}\n`);
  return EXIT.failed;
}

// Run when executed (the bundle, or tsx), not when imported by tests.
const isEntry = (globalThis as { __bulwarkLauncher?: boolean }).__bulwarkLauncher === true || import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/bulwark.js') || process.argv[1]?.endsWith('/bulwark');
if (isEntry) {
  // The reader left (`bulwark plan | head`) or the terminal hung up (a dropped SSH connection):
  // output is lost, but a change in progress must still finish, so these are not fatal.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'EIO') throw error;
    });
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.exitCode = reportError(error);
    },
  );
}

// Remote mode benchmarks: the body that scripts/bench-remote.mjs runs (through tsx) for
// `npm run bench`. Prints one JSON object on stdout; progress on stderr. Needs root (a sandbox box).
//
// The link: this kernel has no netem qdisc, so a small TCP proxy in the admin namespace delays every
// chunk by 25 ms each way (50 ms of round trip) between the workstation's ssh and the box's sshd.
//
// 1. `bulwark --host ... plan` of every step, through the delayed link: wall time, and SSH round trips
//    (each command through the master connection; counted with BULWARK_TRACE_SSH). Goals: at most 25
//    round trips and under 3 s.
// 2. A guarded firewall apply to confirmed: over --host through the delayed link (bulwark confirms
//    itself through a new connection), against the same apply run on the box itself as its admin
//    meets it: an SSH session over the same link runs `bulwark apply`, and a NEW SSH connection over
//    that link runs `bulwark confirm` at once. Both sides pay the link's logins; the difference is
//    what remote mode adds. Goal: under 2 s more.
import { writeFileSync } from 'node:fs';
import { destroyOnSignal, quantile } from './common.js';
import { createBox, type Box } from '../helpers/sandbox.js';
import { shellQuote } from '../../src/shell.js';
import { fileURLToPath } from 'node:url';

const DELAY_MS = 25;
const PROXY_PORT = 2200;
const RUNS = 3;
const GOALS = { planRoundTrips: 25, planSeconds: 3, applyExtraSeconds: 2 } as const;

const log = (line: string) => process.stderr.write(`bench remote: ${line}\n`);

/** A TCP proxy that holds every chunk DELAY_MS before passing it on, both ways. */
const PROXY = String.raw`
const net = require('node:net');
const [listenPort, host, port, delay] = process.argv.slice(1);
net.createServer((client) => {
  const server = net.connect(Number(port), host);
  const pipe = (from, to) => {
    from.on('data', (chunk) => setTimeout(() => to.write(chunk), Number(delay)));
    from.on('end', () => setTimeout(() => to.end(), Number(delay)));
    from.on('error', () => to.destroy());
  };
  pipe(client, server);
  pipe(server, client);
}).listen(Number(listenPort), '127.0.0.1', () => console.log('listening'));
setTimeout(() => process.exit(0), 15 * 60 * 1000);
`;

function parseArgs(argv: readonly string[]): { bundle: string } {
  let bundle = fileURLToPath(new URL('../../dist/bulwark.js', import.meta.url));
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--bundle') bundle = argv[++i] ?? bundle;
    else throw new Error(`unknown argument "${argv[i]}"`);
  }
  return { bundle };
}

function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

async function main(): Promise<number> {
  const { bundle } = parseArgs(process.argv.slice(2));
  let box: Box | undefined;
  const stop = destroyOnSignal(() => box, log);
  try {
    box = await createBox();
    const b = box;
    // The proxy runs in the admin namespace (the workstation's side of the link).
    await b.admin('sh', ['-c', `nohup ${JSON.stringify(process.execPath)} -e "$0" ${PROXY_PORT} ${b.boxV4} 22 ${DELAY_MS} >/dev/null 2>&1 &`, PROXY]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ssh = ['--host', `root@127.0.0.1:${PROXY_PORT}`, '--ssh-option', `IdentityFile=${b.adminKey}`, '--ssh-option', 'StrictHostKeyChecking=no', '--ssh-option', 'UserKnownHostsFile=/dev/null'];
    const remote = (args: readonly string[]) => b.admin(process.execPath, [bundle, ...ssh, ...args, '--no-color'], { reject: false, timeoutMs: 300_000, env: { BULWARK_TRACE_SSH: '1' } });
    const trips = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('bulwark-ssh #')).length;

    // A round trip on the raw link, for scale: `ssh true` through the proxy, no master.
    const pings: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = Date.now();
      await b.admin('ssh', ['-o', `IdentityFile=${b.adminKey}`, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-p', String(PROXY_PORT), 'root@127.0.0.1', 'true']);
      pings.push(Date.now() - started);
    }
    log(`a fresh ssh login through the delayed link: ${median(pings)} ms (median of ${RUNS})`);
    // A command on the box from an SSH session of its own over the delayed link, as an admin runs it.
    const overLink = (command: readonly string[]) =>
      b.admin('ssh', ['-o', `IdentityFile=${b.adminKey}`, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-p', String(PROXY_PORT), 'root@127.0.0.1', '--', command.map(shellQuote).join(' ')], { reject: false, timeoutMs: 300_000 });

    const plans: { ms: number; roundTrips: number; code: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = Date.now();
      const result = await remote(['plan']);
      plans.push({ ms: Date.now() - started, roundTrips: trips(result.stderr), code: result.code });
      // BENCH_REMOTE_TRACE=1: every round trip of the first run, to see where the time goes.
      if (i === 0 && process.env.BENCH_REMOTE_TRACE) log(`trace of the plan:\n${result.stderr}`);
      log(`plan of every step over --host: ${plans.at(-1)!.ms} ms, ${plans.at(-1)!.roundTrips} round trips (exit ${result.code})`);
      if (result.code !== 0 && result.code !== 2) throw new Error(`plan failed:\n${result.stdout}\n${result.stderr}`);
    }

    const answers = '/root/bench-fw.json';
    await b.writeFile(answers, JSON.stringify({ firewall: { allow: [{ port: 22, proto: 'tcp' }] } }));
    // The answers as the admin has them on the workstation (read there), and on the box for the local run.
    writeFileSync(`${b.tmp}/fw.json`, JSON.stringify({ firewall: { allow: [{ port: 22, proto: 'tcp' }] } }));
    const applies: { remoteMs: number; localMs: number }[] = [];
    for (let i = 0; i < RUNS; i++) {
      // Remote: apply, prove access through a new connection, confirm — one command.
      let started = Date.now();
      const remoteRun = await b.admin(process.execPath, [bundle, ...ssh, 'apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60', '--answers', `${b.tmp}/fw.json`, '--no-color'], { reject: false, timeoutMs: 300_000, env: { BULWARK_TRACE_SSH: '1' } });
      if (i === 0 && process.env.BENCH_REMOTE_TRACE) log(`trace of the apply:\n${remoteRun.stderr}`);
      const remoteMs = Date.now() - started;
      if (remoteRun.code !== 0 || !remoteRun.stdout.includes('Confirmed')) throw new Error(`remote apply did not confirm:\n${remoteRun.stdout}\n${remoteRun.stderr}`);
      await b.exec(process.execPath, [bundle, 'rollback', '--step', 'firewall', '--yes', '--no-color']);
      // Local: the same apply on the box, then `bulwark confirm` from a new SSH connection at once.
      started = Date.now();
      const applied = await overLink([process.execPath, bundle, 'apply', '--step', 'firewall', '--yes', '--confirm-timeout', '60', '--answers', answers, '--no-color']);
      const token = /bulwark confirm (\S+)/.exec(applied.stdout)?.[1];
      if (!token) throw new Error(`local apply printed no token:\n${applied.stdout}\n${applied.stderr}`);
      const confirmed = await overLink([process.execPath, bundle, 'confirm', token, '--no-color']);
      if (confirmed.code !== 0) throw new Error(`local confirm failed:\n${confirmed.stdout}\n${confirmed.stderr}`);
      const localMs = Date.now() - started;
      await b.exec(process.execPath, [bundle, 'rollback', '--step', 'firewall', '--yes', '--no-color']);
      applies.push({ remoteMs, localMs });
      log(`guarded firewall apply to confirmed: over --host ${remoteMs} ms, on the box ${localMs} ms`);
    }

    const planMs = median(plans.map((p) => p.ms));
    const planTrips = Math.max(...plans.map((p) => p.roundTrips));
    const extra = median(applies.map((a) => a.remoteMs - a.localMs));
    const result = {
      node: process.version,
      bundle,
      link: { delayEachWayMs: DELAY_MS, freshLoginMs: median(pings) },
      plan: { runs: plans, medianMs: planMs, maxRoundTrips: planTrips, goal: { maxRoundTrips: GOALS.planRoundTrips, maxSeconds: GOALS.planSeconds, pass: planTrips <= GOALS.planRoundTrips && planMs < GOALS.planSeconds * 1000 } },
      apply: { runs: applies, medianExtraMs: extra, goal: { maxExtraSeconds: GOALS.applyExtraSeconds, pass: extra < GOALS.applyExtraSeconds * 1000 } },
    };
    process.stdout.write(JSON.stringify({ ...result, pass: result.plan.goal.pass && result.apply.goal.pass }) + '\n');
    return 0;
  } finally {
    stop();
    await box?.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench remote: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);

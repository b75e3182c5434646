// Firewall step benchmarks: the body that scripts/bench-firewall.mjs runs (through tsx, because the
// sandbox helper is TypeScript) for `npm run bench`. Not a test (vitest only picks up *.test.ts).
// Prints one JSON object on stdout; progress goes to stderr. Needs root: it builds a sandbox box
// (test/helpers/sandbox.ts) with an attacker namespace, and all traffic stays inside those namespaces.
//
//   node --import tsx test/bench/firewall.bench.ts [--bundle FILE] [--rollback-runs N]
//
// 1. Rollback latency past the deadline. `bulwark apply --step firewall --confirm-timeout T` in the
//    box, never confirmed; then (a) from bulwark's own record: decidedAt − deadline
//    (`bulwark status --json`), and (b) from outside: a poller in the box runs `iptables -S INPUT`
//    every 20 ms from 1 s before the deadline; the time its first poll showing `-P INPUT ACCEPT`
//    returned, minus the deadline. T is 10 s: the smallest timeout bulwark accepts.
// 2. The log flood. From the attacker namespace, at most 300 new TCP connections in 10 s (30/s) to
//    the box's SSH port, each sending an SSH banner and a bogus line, then closing; count the lines
//    of the box's auth.log naming the attacker's address that the flood produced, (A) with bulwark's
//    firewall applied and confirmed with rateLimit: true, (B) the same with rateLimit: false.
// 3. The SIP flood. A SIP server on the box's 5060/udp logs every request it receives. From the
//    attacker namespace, ONE socket sends 1000 REGISTERs in 10 s (100/s) while, at the same time, a
//    trunk named in the box's sip.conf sends as many from its own address; count what reached the
//    server (A) behind bulwark's confirmed firewall, rateLimit: true, and (B) with rateLimit: false.
//    Goals: at least 5x fewer of the flood's requests with the limit, and all of the trunk's.
import { destroyOnSignal, quantile } from './common.js';
import { createBox, type Box } from '../helpers/sandbox.js';
import { receivedFrom, sendSip, startSipServer } from '../helpers/sip.js';
import { fileURLToPath } from 'node:url';

const ROLLBACK_GOAL_MS = 1000;
const FLOOD_GOAL_RATIO = 20;
/** bulwark accepts --confirm-timeout from 10 s up; the deadline is what is measured, not its length. */
const CONFIRM_TIMEOUT_S = 10;
const POLL_INTERVAL_MS = 20;
const POLL_LEAD_MS = 1000;
const FLOOD = { max: 300, durationMs: 10_000, perSecond: 30, connectTimeoutMs: 1000 } as const;
const SIP_FLOOD = { count: 1000, intervalMs: 10 } as const;
const SIP_FLOOD_GOAL_RATIO = 5;
const SIP_TRUNK = '203.0.113.9';
const ANSWERS = '/root/bench-answers.json';

interface Options {
  bundle: string;
  rollbackRuns: number;
}

function parseArgs(argv: readonly string[]): Options {
  const options: Options = { bundle: fileURLToPath(new URL('../../dist/bulwark.js', import.meta.url)), rollbackRuns: 5 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => (arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]);
    if (arg === '--bundle' || arg.startsWith('--bundle=')) options.bundle = value() ?? '';
    else if (arg === '--rollback-runs' || arg.startsWith('--rollback-runs=')) {
      const text = value() ?? '';
      if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`--rollback-runs: expected a positive whole number (got "${text}")`);
      options.rollbackRuns = Number(text);
    } else throw new Error(`unknown argument "${arg}"`);
  }
  if (!options.bundle) throw new Error('--bundle: missing file');
  return options;
}

const log = (line: string) => process.stderr.write(`bench firewall: ${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// bulwark in the box (at its console: no SSH_CONNECTION, so `confirm` from the console is accepted)

interface GuardJson {
  step: string;
  status: string;
  token?: string;
  deadline: string;
  decidedAt: string | null;
  decidedBy: string | null;
}

class Bulwark {
  constructor(private readonly box: Box, private readonly bundle: string) {}

  async run(args: readonly string[], timeoutMs = 60_000) {
    return this.box.exec(process.execPath, [this.bundle, ...args], { reject: false, timeoutMs });
  }

  async must(args: readonly string[]): Promise<string> {
    const result = await this.run(args);
    if (result.code !== 0) throw new Error(`bulwark ${args.join(' ')} exited ${result.code}\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  async setAnswers(rateLimit: boolean, extra: { sip?: boolean } = {}): Promise<void> {
    const allow = [{ port: 22, proto: 'tcp' }, ...(extra.sip ? [{ port: 5060, proto: 'udp' }] : [])];
    await this.box.writeFile(ANSWERS, JSON.stringify({ firewall: { allow, rateLimit } }) + '\n', 0o600);
  }

  /** Applies the firewall step under the dead-man switch; returns the guard (token, deadline). */
  async applyGuarded(timeoutSeconds: number): Promise<GuardJson & { token: string }> {
    const out = await this.must(['apply', '--step', 'firewall', '--yes', '--confirm-timeout', String(timeoutSeconds), '--no-color', '--answers', ANSWERS]);
    const printed = /bulwark confirm (\S+)/.exec(out)?.[1];
    const guard = (await this.status()).awaitingConfirmation;
    if (!guard || guard.status !== 'armed' || !guard.token) throw new Error(`apply did not arm the dead-man switch:\n${out}`);
    if (printed !== guard.token) throw new Error(`apply printed token ${printed ?? '(none)'}, status says ${guard.token}`);
    return guard as GuardJson & { token: string };
  }

  async status(): Promise<{ awaitingConfirmation: GuardJson | null; lastGuardedChange: GuardJson | null }> {
    return JSON.parse(await this.must(['status', '--json']));
  }
}

async function iptables(box: Box, args: readonly string[]): Promise<string> {
  return (await box.exec('iptables', args)).stdout;
}

const inputPolicy = (save: string) => /^-P INPUT (\S+)$/m.exec(save)?.[1] ?? '?';

// ---------------------------------------------------------------------------------------------
// Benchmark 1: rollback latency

/** Runs inside the box: polls `iptables -S INPUT` from `startAt` until the policy is ACCEPT again. */
const POLLER = String.raw`
const { execFileSync } = require('node:child_process');
const [startAt, giveUpAt, interval] = process.argv.slice(1).map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
(async () => {
  await sleep(startAt - Date.now());
  const result = { polls: 0, firstPolicy: null, seenAt: null, pollStart: null, lastDropPollStart: null };
  for (;;) {
    const t0 = Date.now();
    const out = execFileSync('iptables', ['-S', 'INPUT'], { encoding: 'utf8' });
    const t1 = Date.now();
    const policy = (/^-P INPUT (\S+)$/m.exec(out) || [])[1] || '?';
    result.polls++;
    if (result.firstPolicy === null) result.firstPolicy = policy;
    if (policy === 'ACCEPT') { result.seenAt = t1; result.pollStart = t0; break; }
    result.lastDropPollStart = t0;
    if (t1 > giveUpAt) break;
    await sleep(t0 + interval - Date.now());
  }
  process.stdout.write(JSON.stringify(result));
})();
`;

interface PollResult {
  polls: number;
  firstPolicy: string | null;
  seenAt: number | null;
  pollStart: number | null;
  lastDropPollStart: number | null;
}

interface RollbackRun {
  deadline: string;
  decidedAt: string | null;
  /** decidedAt − deadline (bulwark's record). */
  recordedMs: number | null;
  /** First poll that saw `-P INPUT ACCEPT` returned, minus the deadline. */
  observedMs: number | null;
  /** The window the change fell in: (last poll that saw DROP started, first poll that saw ACCEPT returned). */
  observedWindowMs: [number | null, number | null];
  polls: number;
  /** The watchdog.log line's own timestamp minus the deadline. */
  watchdogLogMs: number | null;
  status: string;
  problem?: string;
}

const RESTORED = 'deadline passed: restored snapshot';
const restoredLines = async (box: Box) =>
  (await box.readFile('/var/lib/bulwark/watchdog.log').catch(() => '')).split('\n').filter((l) => l.includes(RESTORED));

async function rollbackRun(box: Box, bulwark: Bulwark): Promise<RollbackRun> {
  const linesBefore = (await restoredLines(box)).length;
  const policyBefore = inputPolicy(await iptables(box, ['-S', 'INPUT']));
  if (policyBefore !== 'ACCEPT') throw new Error(`INPUT policy is ${policyBefore} before the apply; expected ACCEPT (the previous rollback did not restore?)`);
  const guard = await bulwark.applyGuarded(CONFIRM_TIMEOUT_S);
  const deadline = Date.parse(guard.deadline);
  const applied = inputPolicy(await iptables(box, ['-S', 'INPUT']));
  if (applied !== 'DROP') throw new Error(`INPUT policy is ${applied} right after the apply; expected DROP`);

  const giveUpAt = deadline + 10_000;
  const poll = await box.exec(process.execPath, ['-e', POLLER, String(deadline - POLL_LEAD_MS), String(giveUpAt), String(POLL_INTERVAL_MS)], {
    reject: false,
    timeoutMs: giveUpAt - Date.now() + 10_000,
  });
  let polled: PollResult | null = null;
  try {
    polled = JSON.parse(poll.stdout) as PollResult;
  } catch {
    /* reported below */
  }

  // bulwark's record: wait until the guard is decided.
  let record: GuardJson | null = null;
  while (Date.now() < giveUpAt + 5000) {
    record = (await bulwark.status()).lastGuardedChange;
    if (record && record.status !== 'armed') break;
    await sleep(250);
  }
  // The watchdog appends its line just after the guard record is written: give it a moment.
  let line: string | undefined;
  for (const until = Date.now() + 3000; line === undefined && Date.now() < until; await sleep(100)) line = (await restoredLines(box))[linesBefore];
  const loggedAt = line ? Date.parse(line.split(' ')[0] ?? '') : NaN;

  const problems: string[] = [];
  if (!polled) problems.push(`the poller failed (exit ${poll.code}): ${poll.stderr.trim().slice(0, 300)}`);
  else if (polled.firstPolicy === 'ACCEPT') problems.push('INPUT was already ACCEPT 1 s before the deadline (rolled back early?)');
  else if (polled.seenAt === null) problems.push('the rules were not restored within 10 s of the deadline');
  if (!record || record.status !== 'rolled-back') problems.push(`guard status is ${record?.status ?? 'missing'}, expected rolled-back`);
  if (!line) problems.push('no "deadline passed: restored snapshot" line in watchdog.log');

  const run: RollbackRun = {
    deadline: guard.deadline,
    decidedAt: record?.decidedAt ?? null,
    recordedMs: record?.decidedAt ? Date.parse(record.decidedAt) - deadline : null,
    observedMs: polled?.seenAt != null && polled.firstPolicy !== 'ACCEPT' ? polled.seenAt - deadline : null,
    observedWindowMs: [polled?.lastDropPollStart != null ? polled.lastDropPollStart - deadline : null, polled?.seenAt != null ? polled.seenAt - deadline : null],
    polls: polled?.polls ?? 0,
    watchdogLogMs: Number.isFinite(loggedAt) ? loggedAt - deadline : null,
    status: record?.status ?? 'missing',
  };
  if (problems.length > 0) run.problem = problems.join('; ');
  return run;
}

// ---------------------------------------------------------------------------------------------
// Benchmark 2: the log flood

/** Runs in the attacker namespace: bounded (max connections, duration), paced, one timeout each. */
const FLOODER = String.raw`
const net = require('node:net');
const [host, port, max, durationMs, perSecond, timeoutMs] = process.argv.slice(1);
const MAX = Number(max), DURATION = Number(durationMs), GAP = 1000 / Number(perSecond), TIMEOUT = Number(timeoutMs);
const start = Date.now();
const stats = { attempted: 0, connected: 0, gotBanner: 0, timedOut: 0, errors: {}, ms: 0 };
let open = 0;
function one() {
  stats.attempted++;
  open++;
  const socket = net.connect({ host, port: Number(port) });
  let done = false;
  const finish = () => { if (done) return; done = true; open--; socket.destroy(); };
  socket.setTimeout(TIMEOUT, () => { stats.timedOut++; finish(); });
  socket.on('connect', () => {
    stats.connected++;
    socket.write('SSH-2.0-bulwark-bench\r\nnot an ssh packet\r\n');
    socket.once('data', () => { stats.gotBanner++; socket.end(); });
  });
  socket.on('error', (error) => { stats.errors[error.code] = (stats.errors[error.code] || 0) + 1; finish(); });
  socket.on('close', finish);
  socket.resume();
}
const timer = setInterval(() => {
  if (stats.attempted >= MAX || Date.now() - start >= DURATION) {
    clearInterval(timer);
    const wait = setInterval(() => {
      if (open > 0) return;
      clearInterval(wait);
      stats.ms = Date.now() - start;
      process.stdout.write(JSON.stringify(stats));
    }, 20);
    return;
  }
  one();
}, GAP);
`;

interface FloodStats {
  attempted: number;
  connected: number;
  gotBanner: number;
  timedOut: number;
  errors: Record<string, number>;
  ms: number;
}

interface FloodRun {
  rateLimit: boolean;
  flood: FloodStats;
  /** auth.log lines written during the flood that name the attacker's address. */
  attackerLines: number;
  /** Every sshd line written during the flood (some, like "Bad packet length", name no address). */
  sshdLines: number;
  /** The attacker lines by message, numbers masked ("Connection reset by N.N.N.N port N"). */
  kinds: Record<string, number>;
  /** Of the attacker lines, sshd's own "past MaxStartups" drops. */
  maxStartupsDrops: number;
  /** Packets the hashlimit DROP rule on port 22 matched during the flood (null: no such rule). */
  hashlimitDrops: number | null;
  /** rsyslog's "messages lost due to rate-limiting" notices written meanwhile (should be 0). */
  syslogRateLimited: number;
}

function kindsOf(lines: readonly string[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const line of lines) {
    const kind = line.replace(/^.*? sshd\[\d+\]: /, '').replace(/\d+/g, 'N');
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Packet counter of the SSH limit's DROP rule (BULWARK-SSHLIMIT), or null without one. */
async function hashlimitCounter(box: Box): Promise<number | null> {
  const rules = (await box.exec('iptables', ['-v', '-S', 'BULWARK-SSHLIMIT'], { reject: false })).stdout;
  const rule = rules.split('\n').find((r) => r.startsWith('-A BULWARK-SSHLIMIT') && r.endsWith('-j DROP'));
  const count = rule ? /-c (\d+) \d+/.exec(rule)?.[1] : undefined;
  return count === undefined ? null : Number(count);
}

/** The file once it has stopped growing for `quietMs` (rsyslog writes asynchronously). */
async function settled(box: Box, file: string, quietMs = 1000, maxMs = 10_000): Promise<string> {
  const until = Date.now() + maxMs;
  let text = await box.readFile(file);
  let stableSince = Date.now();
  while (Date.now() < until) {
    await sleep(200);
    const next = await box.readFile(file);
    if (next.length !== text.length) {
      text = next;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= quietMs) break;
  }
  return text;
}

async function floodRun(box: Box, bulwark: Bulwark, rateLimit: boolean): Promise<FloodRun> {
  const attacker = box.attackerV4!;
  const target = box.boxAttackerV4!;
  await bulwark.setAnswers(rateLimit);
  const guard = await bulwark.applyGuarded(120);
  await bulwark.must(['confirm', guard.token, '--no-color']);
  const status = (await bulwark.status()).lastGuardedChange;
  if (status?.status !== 'confirmed') throw new Error(`the firewall change is ${status?.status ?? 'missing'} after confirm, expected confirmed`);
  const counterBefore = await hashlimitCounter(box);
  if ((counterBefore !== null) !== rateLimit) throw new Error(`rateLimit ${rateLimit}, but the hashlimit rule on port 22 is ${counterBefore === null ? 'absent' : 'present'}`);

  const authBefore = await settled(box, '/var/log/auth.log', 500);
  const syslogBefore = await box.readFile('/var/log/syslog').catch(() => '');
  const result = await box.attacker(
    process.execPath,
    ['-e', FLOODER, target, '22', String(FLOOD.max), String(FLOOD.durationMs), String(FLOOD.perSecond), String(FLOOD.connectTimeoutMs)],
    { timeoutMs: FLOOD.durationMs + 15_000 },
  );
  const flood = JSON.parse(result.stdout) as FloodStats;
  if (flood.attempted > FLOOD.max) throw new Error(`bug: the flood opened ${flood.attempted} connections`);
  const authAfter = await settled(box, '/var/log/auth.log');
  if (!authAfter.startsWith(authBefore)) throw new Error('auth.log was rotated or rewritten during the flood');
  const lines = authAfter.slice(authBefore.length).split('\n').filter((l) => l.trim() !== '');
  const attackerLines = lines.filter((l) => l.includes(attacker));
  const syslogAfter = await box.readFile('/var/log/syslog').catch(() => '');
  const syslogNew = syslogAfter.startsWith(syslogBefore) ? syslogAfter.slice(syslogBefore.length) : syslogAfter;
  const counterAfter = await hashlimitCounter(box);

  // Back to no bulwark rules, for the next run.
  await bulwark.must(['rollback', '--step', 'firewall', '--yes', '--no-color']);
  const policy = inputPolicy(await iptables(box, ['-S', 'INPUT']));
  if (policy !== 'ACCEPT') throw new Error(`INPUT policy is ${policy} after bulwark rollback --step firewall; expected ACCEPT`);

  return {
    rateLimit,
    flood,
    attackerLines: attackerLines.length,
    kinds: kindsOf(attackerLines),
    sshdLines: lines.filter((l) => / sshd\[\d+\]: /.test(l)).length,
    maxStartupsDrops: attackerLines.filter((l) => /past MaxStartups/i.test(l)).length,
    hashlimitDrops: counterBefore !== null && counterAfter !== null ? counterAfter - counterBefore : null,
    syslogRateLimited: syslogNew.split('\n').filter((l) => /rate-?limit/i.test(l) && /rsyslogd|imuxsock/.test(l)).length,
  };
}

// ---------------------------------------------------------------------------------------------
// Benchmark 3: a one-socket SIP flood, and a trunk's traffic at the same time

interface SipFloodRun {
  rateLimit: boolean;
  attacker: { sent: number; reached: number };
  trunk: { sent: number; reached: number; replies: number };
}

async function sipFloodRun(box: Box, bulwark: Bulwark, rateLimit: boolean): Promise<SipFloodRun> {
  await bulwark.setAnswers(rateLimit, { sip: true });
  const guard = await bulwark.applyGuarded(120);
  await bulwark.must(['confirm', guard.token, '--no-color']);
  const limitRules = (await box.exec('iptables', ['-S', 'BULWARK-SIPLIMIT'], { reject: false })).stdout;
  if (limitRules.includes('hashlimit') !== rateLimit) throw new Error(`rateLimit ${rateLimit}, but BULWARK-SIPLIMIT is:\n${limitRules}`);
  const attacker = box.attackerV4!;
  const before = { attacker: await receivedFrom(box, attacker), trunk: await receivedFrom(box, SIP_TRUNK) };
  const [flood, trunk] = await Promise.all([
    sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: attacker, ...SIP_FLOOD }),
    sendSip(box, { from: 'attacker', target: box.boxAttackerV4!, source: SIP_TRUNK, ...SIP_FLOOD }),
  ]);
  const run: SipFloodRun = {
    rateLimit,
    attacker: { sent: flood.sent, reached: (await receivedFrom(box, attacker)) - before.attacker },
    trunk: { sent: trunk.sent, reached: (await receivedFrom(box, SIP_TRUNK)) - before.trunk, replies: trunk.replies },
  };
  await bulwark.must(['rollback', '--step', 'firewall', '--yes', '--no-color']);
  return run;
}

// ---------------------------------------------------------------------------------------------
// Main


function summary(values: readonly (number | null)[]): { runs: number; median: number | null; max: number | null; min: number | null } {
  const sorted = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return { runs: 0, median: null, max: null, min: null };
  return { runs: sorted.length, median: quantile(sorted, 0.5), max: sorted[sorted.length - 1]!, min: sorted[0]! };
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  let box: Box | undefined;
  const stopHandling = destroyOnSignal(() => box, log);
  try {
    const started = Date.now();
    box = await createBox({ attacker: true });
    log(`box ${box.id} ready in ${Date.now() - started} ms`);
    const bulwark = new Bulwark(box, options.bundle);
    await bulwark.setAnswers(true);

    const rollbacks: RollbackRun[] = [];
    for (let i = 0; i < options.rollbackRuns; i++) {
      log(`rollback ${i + 1}/${options.rollbackRuns}: apply with --confirm-timeout ${CONFIRM_TIMEOUT_S}, not confirmed...`);
      const run = await rollbackRun(box, bulwark);
      log(`  recorded ${run.recordedMs ?? '?'} ms, observed ${run.observedMs ?? '?'} ms past the deadline${run.problem ? ` (${run.problem})` : ''}`);
      rollbacks.push(run);
    }
    const recorded = summary(rollbacks.map((r) => r.recordedMs));
    const observed = summary(rollbacks.map((r) => r.observedMs));
    const complete = rollbacks.every((r) => r.problem === undefined);
    const rollbackPass = complete && recorded.max !== null && observed.max !== null && recorded.max < ROLLBACK_GOAL_MS && observed.max < ROLLBACK_GOAL_MS;

    log(`flood A (rateLimit: true): up to ${FLOOD.max} connections in ${FLOOD.durationMs / 1000} s from ${box.attackerV4}...`);
    const limited = await floodRun(box, bulwark, true);
    log(`  ${limited.attackerLines} auth.log line(s) about ${box.attackerV4}; ${limited.flood.connected}/${limited.flood.attempted} connected`);
    log('flood B (rateLimit: false)...');
    const unlimited = await floodRun(box, bulwark, false);
    log(`  ${unlimited.attackerLines} auth.log line(s) about ${box.attackerV4}; ${unlimited.flood.connected}/${unlimited.flood.attempted} connected`);
    const ratio = limited.attackerLines === 0 ? (unlimited.attackerLines > 0 ? Infinity : null) : unlimited.attackerLines / limited.attackerLines;
    const floodPass = ratio !== null && ratio >= FLOOD_GOAL_RATIO;

    // The SIP flood: a SIP server on the box, a trunk in its sip.conf, an address for the trunk.
    await box.writeFile('/etc/asterisk/sip.conf', `[general]\nbindport=5060\n\n[carrier]\ntype=peer\nhost=${SIP_TRUNK}\n`);
    await box.attacker('ip', ['addr', 'add', `${SIP_TRUNK}/24`, 'dev', 'eth0']);
    await startSipServer(box);
    log(`SIP flood A (rateLimit: true): ${SIP_FLOOD.count} REGISTERs in ${(SIP_FLOOD.count * SIP_FLOOD.intervalMs) / 1000} s from one socket, and as many from the trunk ${SIP_TRUNK}...`);
    const sipLimited = await sipFloodRun(box, bulwark, true);
    log(`  flood: ${sipLimited.attacker.reached}/${sipLimited.attacker.sent} reached the server; trunk: ${sipLimited.trunk.reached}/${sipLimited.trunk.sent}`);
    log('SIP flood B (rateLimit: false)...');
    const sipUnlimited = await sipFloodRun(box, bulwark, false);
    log(`  flood: ${sipUnlimited.attacker.reached}/${sipUnlimited.attacker.sent} reached the server; trunk: ${sipUnlimited.trunk.reached}/${sipUnlimited.trunk.sent}`);
    const sipRatio = sipLimited.attacker.reached === 0 ? null : sipUnlimited.attacker.reached / sipLimited.attacker.reached;
    const trunkWhole = sipLimited.trunk.reached === sipLimited.trunk.sent && sipLimited.trunk.sent === SIP_FLOOD.count;
    const sipPass = sipRatio !== null && sipRatio >= SIP_FLOOD_GOAL_RATIO && trunkWhole;

    const result = {
      node: process.version,
      bundle: options.bundle,
      rollback: {
        confirmTimeoutSeconds: CONFIRM_TIMEOUT_S,
        pollIntervalMs: POLL_INTERVAL_MS,
        runs: rollbacks,
        recordedMs: recorded,
        observedMs: observed,
        goal: { maxMs: ROLLBACK_GOAL_MS, judgedOn: 'max of both figures', pass: rollbackPass },
      },
      flood: {
        attacker: box.attackerV4,
        target: `${box.boxAttackerV4}:22`,
        limits: FLOOD,
        limited,
        unlimited,
        // JSON has no Infinity: null with limited.attackerLines 0 means "no lines at all with the limit".
        ratio: ratio === Infinity ? null : ratio,
        ratioInfinite: ratio === Infinity,
        goal: { minRatio: FLOOD_GOAL_RATIO, pass: floodPass },
      },
      sipFlood: {
        attacker: box.attackerV4,
        trunk: SIP_TRUNK,
        target: `${box.boxAttackerV4}:5060/udp`,
        limits: { ...SIP_FLOOD, perSecond: 1000 / SIP_FLOOD.intervalMs },
        limited: sipLimited,
        unlimited: sipUnlimited,
        ratio: sipRatio,
        goal: { minRatio: SIP_FLOOD_GOAL_RATIO, trunkWhole, pass: sipPass },
      },
      pass: rollbackPass && floodPass && sipPass,
    };
    process.stdout.write(JSON.stringify(result) + '\n');
    return 0;
  } finally {
    stopHandling();
    await box?.destroy();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench firewall: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);

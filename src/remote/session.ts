// One long-lived helper on the box for a whole run (`helper.sh serve`): requests go down its stdin,
// framed answers come back on its stdout, in order. A read or a read-only command then costs one
// round trip over the open session, instead of a new SSH session each (a channel to open, a login
// shell to start, PAM on the box): on a link with 50 ms of round trip that is most of the wait.
// Requests that carry input (file contents, rulesets) still go as commands of their own.
import type { ChildProcess } from 'node:child_process';
import { shellQuote } from '../shell.js';
import type { ExecResult, SshTransport } from './ssh.js';

interface Waiting {
  resolve(result: ExecResult): void;
  reject(error: Error): void;
  started: number;
  label: string;
  newTrip: boolean;
}

export class HelperSession {
  private readonly child: ChildProcess;
  private buffer = Buffer.alloc(0);
  private readonly waiting: Waiting[] = [];
  private readonly ready: Promise<void>;
  private dead: Error | null = null;
  /** The helper's pid and start time on the box: the lock's owner for this run. */
  owner: { pid: number; startTime: string | null } | null = null;

  constructor(private readonly transport: SshTransport, script: string) {
    this.child = transport.spawnExec(['/bin/sh', '-c', script, 'bulwark-helper', 'serve']);
    let markReady: () => void = () => undefined;
    let failReady: (error: Error) => void = () => undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => undefined);
    let started = false;
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      if (!started) {
        const end = this.buffer.indexOf(0x0a);
        if (end < 0) return;
        const [word, pid, startTime] = this.buffer.subarray(0, end).toString().split(' ');
        if (word !== 'ready') return this.fail(new Error('the box-side helper did not start'));
        this.owner = { pid: Number(pid), startTime: startTime || null };
        this.wasReady = true;
        this.buffer = this.buffer.subarray(end + 1);
        started = true;
        markReady();
      }
      this.drain();
    });
    let stderr = '';
    this.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    this.child.on('close', (code) => {
      const error = new Error(`the box-side helper session ended (exit ${code ?? '?'}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''})`);
      failReady(error);
      this.fail(error);
    });
    this.child.on('error', (error) => this.fail(error));
    this.child.stdin!.on('error', () => undefined);
  }

  /** False once the session died (a dropped connection). */
  get alive(): boolean {
    return this.dead === null;
  }

  /** It started once (then died, if it is not alive): a connection lost, not one never made. */
  wasReady = false;

  /** Why it died, in a few words. */
  get deathReason(): string {
    return this.dead?.message ?? 'alive';
  }

  /** The session started (its owner is known); rejects if it could not. */
  async started(): Promise<void> {
    await this.ready;
  }

  /** "own" / "disown": the lock file this session answers for (see serve() in helper.sh). */
  /** A "flush" is on its way for the background requests sent in this turn of the event loop. */
  private flushQueued = false;

  /**
   * "par": a read-only program the box runs in the background beside the others sent with it; a
   * "flush" follows at the end of this turn of the event loop, so their answers come back together.
   */
  async request(kind: 'helper' | 'run' | 'par' | 'own' | 'disown', argv: readonly string[], input?: Buffer): Promise<ExecResult> {
    await this.ready;
    if (this.dead) throw this.dead;
    if (argv.some((arg) => arg.includes('\n'))) throw new Error('bug: a request with a newline goes as a command of its own');
    return new Promise<ExecResult>((resolve, reject) => {
      // A request sent while others are on their way rides the same round trip (pipelined): only one
      // sent to an idle session makes bulwark wait for the network once more.
      const newTrip = this.waiting.length === 0;
      if (newTrip) this.transport.roundTrips++;
      this.waiting.push({ resolve, reject, started: Date.now(), label: `${kind} ${argv.join(' ').slice(0, 100)}`, newTrip });
      const line = `${input !== undefined ? `input ${input.length} ` : ''}${kind} ${argv.map(shellQuote).join(' ')}\n`;
      this.child.stdin!.write(input !== undefined ? Buffer.concat([Buffer.from(line), input]) : line);
      if (kind === 'par' && !this.flushQueued) {
        this.flushQueued = true;
        setImmediate(() => {
          this.flushQueued = false;
          if (!this.dead) this.child.stdin!.write('flush\n');
        });
      }
    });
  }

  private drain(): void {
    for (;;) {
      const end = this.buffer.indexOf(0x0a);
      if (end < 0) return;
      const [code, outLength, errLength] = this.buffer.subarray(0, end).toString().split(' ').map(Number) as [number, number, number];
      if (this.buffer.length < end + 1 + outLength + errLength) return;
      const stdout = this.buffer.subarray(end + 1, end + 1 + outLength);
      const stderr = this.buffer.subarray(end + 1 + outLength, end + 1 + outLength + errLength).toString('utf8');
      this.buffer = this.buffer.subarray(end + 1 + outLength + errLength);
      const waiting = this.waiting.shift();
      if (!waiting) continue;
      // BULWARK_TRACE_SSH: "#N" starts a round trip, "+" rode along with the one before.
      if (process.env.BULWARK_TRACE_SSH) process.stderr.write(`bulwark-ssh ${waiting.newTrip ? `#${this.transport.roundTrips}` : '+'} @${Math.round(performance.now())} session ${Date.now() - waiting.started} ms exit ${code}: ${waiting.label}\n`);
      waiting.resolve({ code, stdout: Buffer.from(stdout), stderr });
    }
  }

  private fail(error: Error): void {
    if (this.dead) return;
    this.dead = error;
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
  }

  close(): void {
    this.child.stdin!.end();
  }
}

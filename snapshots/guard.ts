// The dead-man switch's record. A guarded change (firewall, geo-blocking, SSH) is applied, then a
// detached sh script on the box (snapshots/deadman.ts) restores the snapshot at the deadline unless
// the admin confirms from a NEW SSH connection (an established session survives any
// ruleset through conntrack, so the old session proves nothing). Exactly one of "confirm" and
// "deadline" wins: each claims the decision with an O_EXCL file before acting.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { FileChange, StepId } from '../src/change.js';
import { localStateFs, readJsonFrom, updateLocked, type StateFs } from '../src/state-fs.js';

/** `applying`: the switch watches the apply itself (armed before the first write); `armed`: the change
 *  is in place and waits for confirmation. */
export type GuardStatus = 'applying' | 'armed' | 'confirmed' | 'rolled-back' | 'failed';

export interface GuardRecord {
  readonly id: string;
  readonly token: string;
  readonly step: StepId;
  readonly snapshotId: string;
  readonly armedAt: string;
  readonly deadline: string;
  readonly timeoutSeconds: number;
  /** $SSH_CONNECTION of the session that applied the change; null at a console. */
  readonly appliedFrom: string | null;
  /** Confirmation must come in on this port (SSH moved there); absent: any. */
  readonly confirmPort?: number;
  /** Files written only once confirmed (paths captured in the snapshot already; their content is
   *  computed at confirmation, so before/after are not kept here). */
  readonly pendingFiles: readonly FileChange[];
  readonly root: string;
  watchdogPid?: number;
  /** The process applying the change (on the box), while it does. */
  applier?: { pid: number; startTime: string | null };
  status: GuardStatus;
  decidedAt?: string;
  /** Who decided: "confirmed from 10.0.0.2 (new SSH connection)", "deadline passed". */
  decidedBy?: string;
  note?: string;
}

/** `interrupted`: the apply ended before handing over, and the switch (or a recovery) put it back. */
export type Decision = 'confirmed' | 'expired' | 'interrupted';

export class GuardFile {
  readonly file: string;

  constructor(
    readonly stateDir: string,
    private readonly state: StateFs = localStateFs,
  ) {
    this.file = path.join(stateDir, 'guard.json');
  }

  async read(): Promise<GuardRecord | null> {
    return readJsonFrom<GuardRecord>(this.state, this.file, 'It records the change that waits for confirmation. Move it aside (mv FILE FILE.damaged), then check `bulwark history`: roll back by hand what should not stay.');
  }

  async write(record: GuardRecord): Promise<void> {
    await this.state.writeDurable(this.file, JSON.stringify(record, null, 2) + '\n');
  }

  async update(recipe: (record: GuardRecord) => void): Promise<GuardRecord | null> {
    return updateLocked(this.state, `${this.file}.lock`, this.file, (content) => {
      if (content === null) return { result: null };
      const record = JSON.parse(content.toString('utf8')) as GuardRecord;
      recipe(record);
      return { data: JSON.stringify(record, null, 2) + '\n', result: record };
    });
  }

  private decisionFile(id: string): string {
    return path.join(this.stateDir, `guard-${id}.decision`);
  }

  /** Claims the decision for a guard. True for the one caller that wins; the other sees who did. */
  async claim(id: string, decision: Decision): Promise<{ won: boolean; decision: Decision }> {
    if (await this.state.createExclusive(this.decisionFile(id), decision)) return { won: true, decision };
    return { won: false, decision: (await this.decided(id)) ?? decision };
  }

  async decided(id: string): Promise<Decision | null> {
    const bytes = await this.state.readFile(this.decisionFile(id));
    return bytes === null ? null : (bytes.toString('utf8').trim() as Decision);
  }
}

/** A short token to type in another session: 4+4 characters, no look-alikes (0/O, 1/l). */
export function newToken(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(8);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return `${chars.slice(0, 4).join('')}-${chars.slice(4).join('')}`;
}

/** Seconds left before the deadline (negative once passed). */
export function secondsLeft(record: GuardRecord, now = Date.now()): number {
  return (Date.parse(record.deadline) - now) / 1000;
}

/**
 * The confirmation must come over SSH, and over a connection other than the one the change was made
 * from. At a local console (the change was applied without SSH) it may come from the console too.
 */
export function checkNewConnection(record: GuardRecord, sshConnection: string | undefined): string | null {
  if (!sshConnection) {
    if (record.appliedFrom === null) return null;
    return 'This session is not an SSH connection, so it cannot prove that SSH still works. Log in with a NEW SSH connection and run the command there.';
  }
  const serverPort = Number(sshConnection.trim().split(/\s+/)[3]);
  if (record.confirmPort !== undefined && serverPort !== record.confirmPort) {
    return `This connection came in on port ${serverPort}; SSH moved to ${record.confirmPort}. Open a NEW connection on the new port (ssh -p ${record.confirmPort} ...) and run the command there: that is the proof that it works.`;
  }
  if (record.appliedFrom !== null && sshConnection.trim() === record.appliedFrom.trim()) {
    return 'This is the SSH connection the change was made from: it stays open whatever the rules say, so it proves nothing. Open a NEW SSH connection (a new terminal: ssh to this server) and run the command there.';
  }
  return null;
}

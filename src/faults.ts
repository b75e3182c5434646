// Deterministic fault injection for the crash tests: named failpoints at each phase of a change.
// Off unless the test suite sets BULWARK_FAULT; a run without it pays one environment lookup per point.
//
//   BULWARK_FAULT=ACTION@POINT[#N][,ACTION@POINT[#N]...]
//     ACTION  kill   SIGKILL this process there (no handler runs: a power cut, the OOM killer)
//             pause  wait four seconds there (a test sends a signal, or cuts a connection, meanwhile)
//             fail   throw an error there (the path a real failure takes)
//     POINT   one of FAULT_POINTS
//     #N      the Nth time the point is reached in this run (default: the first)
//   BULWARK_FAULT_TRACE=FILE  appends "POINT#N" for every point reached, so a test can enumerate
//                             every moment of an uninterrupted run and then kill exactly there.
import { appendFileSync } from 'node:fs';

export const FAULT_POINTS = [
  /** The snapshot and the in-flight record are on disk; nothing is changed yet. */
  'after-snapshot',
  /** A file's new content is written beside it, not yet renamed into place. */
  'during-write',
  /** A file or link was written (or removed). */
  'after-write',
  /** Kernel sets were loaded (ipset restore). */
  'after-ipset',
  /** Firewall rules were loaded (iptables-restore). */
  'after-firewall',
  /** The installed configuration passed its validators (apachectl -t, sshd -t...). */
  'after-validate',
  /** A service action (reload, restart, start) or a step's command ran. */
  'after-service',
  /** The step's checks ran; the journal does not say "applied" yet. */
  'during-verify',
  /** The journal says "applied" (or the guard is armed): the change is complete. */
  'after-commit',
  /** One part of a snapshot was put back (a file, the firewall, the sets, a service undo). */
  'during-restore',
] as const;

export type FaultPoint = (typeof FAULT_POINTS)[number];

interface Fault {
  readonly action: 'kill' | 'pause' | 'fail';
  readonly point: FaultPoint;
  readonly nth: number;
}

const reached = new Map<FaultPoint, number>();
let parsed: { text: string; faults: Fault[] } | null = null;

export async function failpoint(point: FaultPoint): Promise<void> {
  const text = process.env.BULWARK_FAULT ?? '';
  const trace = process.env.BULWARK_FAULT_TRACE;
  if (text === '' && !trace) return;
  const count = (reached.get(point) ?? 0) + 1;
  reached.set(point, count);
  if (trace) appendFileSync(trace, `${point}#${count}\n`);
  if (parsed?.text !== text) parsed = { text, faults: parseFaults(text) };
  for (const fault of parsed.faults) {
    if (fault.point !== point || fault.nth !== count) continue;
    if (fault.action === 'kill') process.kill(process.pid, 'SIGKILL');
    if (fault.action === 'pause') await new Promise((resolve) => setTimeout(resolve, 4000));
    if (fault.action === 'fail') throw new Error(`injected fault at ${point}#${count} (BULWARK_FAULT)`);
  }
}

function parseFaults(text: string): Fault[] {
  return text
    .split(',')
    .filter((item) => item.trim() !== '')
    .map((item) => {
      const match = /^(kill|pause|fail)@([a-z-]+)(?:#([1-9][0-9]*))?$/.exec(item.trim());
      if (!match || !(FAULT_POINTS as readonly string[]).includes(match[2]!)) {
        // Only the test suite sets this variable: a typo there must not pass silently as "no fault".
        throw new Error(`BULWARK_FAULT: "${item}" is not ACTION@POINT[#N] (actions kill, pause, fail; points ${FAULT_POINTS.join(', ')})`);
      }
      return { action: match[1] as Fault['action'], point: match[2] as FaultPoint, nth: match[3] ? Number(match[3]) : 1 };
    });
}

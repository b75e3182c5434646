// The dead-man switch as a POSIX sh script, written at a guarded apply from the snapshot's data and
// started detached on the box. It needs nothing but /bin/sh, coreutils or busybox and the box's own
// iptables / ipset / service tools: no Node, so no rollback depends on Node starting at the deadline,
// and it works the same whether bulwark ran on the box or on the admin's workstation (--host).
//
// It waits for the deadline, leaving as soon as the change is confirmed (or rolled back by hand);
// at the deadline it claims the decision with an O_EXCL file (the same one `bulwark confirm` claims:
// exactly one of them wins), puts back every file of the snapshot with its mode and owner, the
// firewall chains and sets the step owns, runs the service undo, and writes the outcome where
// bulwark's next command reads it (src/engine.ts settles the journal from it).
import * as path from 'node:path';
import type { Command } from '../src/change.js';
import { shellQuote } from '../src/shell.js';
import type { FileEntry } from './store.js';

export interface RollbackPlan {
  readonly stateDir: string;
  readonly guardId: string;
  readonly snapshotId: string;
  readonly step: string;
  /** The deadline, in milliseconds since the epoch. */
  readonly deadlineMs: number;
  /** The snapshot's files, as they were before the apply. */
  readonly files: readonly FileEntry[];
  /** Directories the apply created: removed when empty, deepest first. */
  readonly createdDirs: readonly string[];
  /**
   * iptables-restore --noflush input per family that puts the step's chains back: its fixed parts,
   * and the pattern (grep -E) of the step's INPUT rules, deleted as they are when the script runs.
   */
  readonly firewall: readonly { readonly family: 'ipv4' | 'ipv6'; readonly head: readonly string[]; readonly tail: readonly string[]; readonly ownedInput: string }[];
  /**
   * The step's sets: temporary sets a load may have left (destroyed first, quietly), `ipset restore`
   * input that refills the sets that existed, and the sets to destroy once the rules are gone.
   */
  readonly ipset: { readonly clear: readonly string[]; readonly restore: string; readonly destroy: readonly string[] } | null;
  /**
   * The process applying the change, while it does (the switch is armed before the first write):
   * if it dies before handing over (a kill, a crash, a dropped SSH connection), the switch puts the
   * snapshot back at once — nobody may be able to log in and run bulwark again.
   */
  readonly applier?: { readonly pid: number; readonly startTime: string | null };
  /** Kernel settings to write back (their /proc/sys file and the value before the apply). */
  readonly kernelSettings?: readonly { readonly key: string; readonly path: string; readonly value: string }[];
  /** The service actions that make the programs read the old files again. */
  readonly services: readonly Command[];
}

export const OBJECTS_DIR = path.posix.join('snapshots', 'objects');

/** A here-document delimiter that cannot occur as a line of the text. */
function delimiter(text: string): string {
  let tag = 'BULWARK_END';
  while (text.split('\n').includes(tag)) tag += '_';
  return tag;
}

const q = shellQuote;

export function rollbackScript(plan: RollbackPlan): string {
  const objects = path.posix.join(plan.stateDir, OBJECTS_DIR);
  const lines: string[] = [
    '#!/bin/sh',
    `# bulwark's dead-man switch for the ${plan.step} change of snapshot ${plan.snapshotId} (guard ${plan.guardId}).`,
    '# Written by bulwark at the apply; started detached. It restores the snapshot at the deadline unless',
    '# the change was confirmed from a new SSH connection. POSIX sh only.',
    "trap '' HUP INT PIPE",
    'LC_ALL=C',
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'export LC_ALL PATH',
    `state=${q(plan.stateDir)}`,
    `id=${q(plan.guardId)}`,
    `snapshot=${q(plan.snapshotId)}`,
    `deadline_ms=${Math.ceil(plan.deadlineMs)}`,
    // Written by bulwark once the change is in place: the deadline counts from then.
    'deadline_file="$state/guard-$id.deadline"',
    `applier_pid=${plan.applier?.pid ?? ''}`,
    `applier_start=${q(plan.applier?.startTime ?? '')}`,
    `objects=${q(objects)}`,
    'decision="$state/guard-$id.decision"',
    'failures=',
    '',
    '# ISO time, with milliseconds where date knows %N (GNU); whole seconds elsewhere (busybox).',
    'stamp() {',
    "  t=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ 2>/dev/null)",
    '  case $t in',
    "    *N* | '') date -u +%Y-%m-%dT%H:%M:%SZ ;;",
    "    *) printf '%s\\n' \"$t\" | sed 's/\\.\\([0-9][0-9][0-9]\\)[0-9]*Z$/.\\1Z/' ;;",
    '  esac',
    '}',
    'now_ms() {',
    '  n=$(date +%s%N 2>/dev/null)',
    '  case $n in',
    "    *N* | '') echo $(($(date +%s) * 1000)) ;;",
    '    *) echo $((n / 1000000)) ;;',
    '  esac',
    '}',
    "log() { printf '%s [%s] %s\\n' \"$(stamp)\" \"$$\" \"$*\" >>\"$state/watchdog.log\"; }",
    // The guard record is JSON written by bulwark with two-space indentation: these two lines are enough.
    // Read by the shell itself (read, case): while a change is being applied this runs five times a
    // second beside the apply, and a grep, sed or cut each time would take CPU from it.
    '# Does the guard record name this guard, with this status?',
    'record_says() {',
    '  said_id=; said_status=',
    '  while IFS= read -r record_line || [ -n "$record_line" ]; do',
    '    case $record_line in',
    '      *"\\"id\\": \\"$id\\""*) said_id=1 ;;',
    '      *"\\"status\\": \\"$1\\""*) said_status=1 ;;',
    '    esac',
    '    record_line=',
    '  done 2>/dev/null <"$state/guard.json"',
    '  [ -n "$said_id" ] && [ -n "$said_status" ]',
    '}',
    'armed() { record_says armed; }',
    'applying() { record_says applying; }',
    '# The process applying the change, the same one (its start time, where /proc tells: a pid is reused).',
    'applier_alive() {',
    '  [ -n "$applier_pid" ] || return 1',
    '  kill -0 "$applier_pid" 2>/dev/null || return 1',
    '  [ -r "/proc/$applier_pid/stat" ] || return 0',
    '  IFS= read -r applier_stat 2>/dev/null <"/proc/$applier_pid/stat" || return 1',
    '  # After the command name: the state (Z: ended, not yet collected), and field 20, the start time.',
    '  applier_stat=${applier_stat##*) }',
    '  [ "${applier_stat%% *}" = Z ] && return 1',
    '  [ -z "$applier_start" ] && return 0',
    '  set -f',
    '  # shellcheck disable=SC2086 # split into its fields, on purpose (globbing is off)',
    '  set -- $applier_stat',
    '  set +f',
    '  [ "${20}" = "$applier_start" ]',
    '}',
    'failed() {',
    '  failures="$failures$1',
    '"',
    '  log "restore of $1 FAILED"',
    '}',
    '# A file back with its content, mode and owner: a temp file beside it, then rename.',
    'put_file() {',
    '  dir=$(dirname -- "$1")',
    '  temp="$dir/.$(basename -- "$1").bulwark-restore-$$"',
    '  mkdir -p -- "$dir" || return 1',
    '  if ! cat -- "$objects/$2" >"$temp" || ! chmod "$3" "$temp"; then',
    '    rm -f -- "$temp"',
    '    return 1',
    '  fi',
    '  if ! chown "$4:$5" "$temp" 2>/dev/null && [ "$(id -u)" = 0 ]; then',
    '    rm -f -- "$temp"',
    '    return 1',
    '  fi',
    '  # rename(2) replaces a link itself, but mv would move into a linked directory: unlink first',
    '  if [ -h "$1" ]; then rm -f -- "$1"; fi',
    '  mv -f -- "$temp" "$1" || { rm -f -- "$temp"; return 1; }',
    '}',
    'put_link() {',
    '  temp="$(dirname -- "$1")/.$(basename -- "$1").bulwark-restore-$$"',
    '  ln -s -- "$2" "$temp" || return 1',
    '  chown -h "$3:$4" "$temp" 2>/dev/null',
    '  if [ -h "$1" ] || [ -f "$1" ]; then rm -f -- "$1"; fi',
    '  mv -f -- "$temp" "$1" || { rm -f -- "$temp"; return 1; }',
    '}',
    '',
    'log "watching guard $id"',
    'reason=expired',
    'while :; do',
    '  if [ -e "$decision" ]; then',
    '    log "guard $id decided: $(cat "$decision"); leaving"',
    '    exit 0',
    '  fi',
    '  if applying; then',
    '    # Asked again once the process is gone: it may have handed over just before it ended.',
    '    if ! applier_alive && applying; then',
    '      log "the process applying the change ($applier_pid) is gone: $(if [ -r "/proc/$applier_pid/stat" ]; then sed \'s/.*) //\' "/proc/$applier_pid/stat" | cut -d\' \' -f1,20; else echo no such process; fi)"',
    '      reason=interrupted',
    '      break',
    '    fi',
    '    sleep 0.2 2>/dev/null || sleep 1',
    '    continue',
    '  fi',
    '  if ! armed; then',
    '    log "guard $id is no longer armed; leaving"',
    '    exit 0',
    '  fi',
    '  if [ -r "$deadline_file" ]; then deadline_ms=$(cat "$deadline_file"); fi',
    '  left=$((deadline_ms - $(now_ms)))',
    '  [ "$left" -le 0 ] && break',
    '  [ "$left" -gt 200 ] && left=200',
    "  sleep \"0.$(printf '%03d' \"$left\")\" 2>/dev/null || sleep 1",
    'done',
    '',
    '# The deadline passed, or the apply died half-way: claim the decision (confirm, and a recovery by',
    '# the next bulwark, claim the same file; one of us wins).',
    "if ! (set -C && printf '%s' \"$reason\" >\"$decision\") 2>/dev/null; then",
    '  log "guard $id decided: $(cat "$decision" 2>/dev/null); leaving"',
    '  exit 0',
    'fi',
    '',
  ];
  for (const entry of plan.files) {
    if (entry.state === 'absent') lines.push(`rm -f -- ${q(entry.path)} || failed ${q(entry.path)}`);
    else if (entry.state === 'file') lines.push(`put_file ${q(entry.path)} ${q(entry.hash)} ${entry.mode.toString(8)} ${entry.uid} ${entry.gid} || failed ${q(entry.path)}`);
    else if (entry.state === 'symlink') lines.push(`put_link ${q(entry.path)} ${q(entry.target)} ${entry.uid} ${entry.gid} || failed ${q(entry.path)}`);
    else lines.push(`chmod ${entry.mode.toString(8)} ${q(entry.path)} || failed ${q(entry.path)}`);
  }
  for (const dir of [...plan.createdDirs].sort((a, b) => b.length - a.length)) lines.push(`rmdir -- ${q(dir)} 2>/dev/null`);
  for (const part of plan.firewall) lines.push(...firewallRestoreShell(part));
  // After the rules: a set still referenced by a rule cannot be destroyed.
  if (plan.ipset) {
    for (const name of plan.ipset.clear) lines.push(`ipset destroy ${q(name)} 2>/dev/null`);
    if (plan.ipset.restore.trim() !== '') {
      const end = delimiter(plan.ipset.restore);
      lines.push(`ipset restore <<'${end}' || failed 'kernel sets'`, ...plan.ipset.restore.replace(/\n$/, '').split('\n'), end);
    }
    for (const name of plan.ipset.destroy) lines.push(`ipset destroy ${q(name)} 2>/dev/null`);
  }
  // Written straight to /proc/sys: no sysctl program needed, one file per key, each failure named.
  for (const setting of plan.kernelSettings ?? []) lines.push(`printf '%s\\n' ${q(setting.value)} >${q(setting.path)} 2>/dev/null || failed ${q(`kernel setting ${setting.key}`)}`);
  for (const command of plan.services) lines.push(`${[command.file, ...command.args].map(q).join(' ')} >/dev/null 2>&1 || failed ${q(`service ${[command.file, ...command.args].join(' ')}`)}`);
  lines.push(
    '',
    'if [ -n "$failures" ]; then outcome=failed; else outcome=rolled-back; fi',
    "{ printf '%s %s\\n' \"$outcome\" \"$(stamp)\"; printf '%s' \"$failures\"; } >\"$state/guard-$id.outcome.tmp\" &&",
    '  mv -f -- "$state/guard-$id.outcome.tmp" "$state/guard-$id.outcome"',
    'if command -v sync >/dev/null 2>&1; then sync; fi',
    'if [ "$reason" = interrupted ]; then log "the apply ended before handing over: restored snapshot $snapshot ($outcome)"; else log "deadline passed: restored snapshot $snapshot ($outcome)"; fi',
    '',
  );
  return lines.join('\n');
}

/**
 * The sh lines that put one family's part of the firewall back: the step's INPUT rules as they are
 * when it runs (whatever was loaded by then) deleted between the fixed parts, in one iptables-restore.
 */
export function firewallRestoreShell(part: RollbackPlan['firewall'][number]): string[] {
  const [save, restore] = part.family === 'ipv4' ? ['iptables-save', 'iptables-restore'] : ['ip6tables-save', 'ip6tables-restore'];
  const end = delimiter([...part.head, ...part.tail].join('\n'));
  return [
    '{',
    `  cat <<'${end}'`,
    ...part.head,
    end,
    `  ${save} -t filter | grep -E -- ${q(part.ownedInput)} | sed 's/^-A INPUT /-D INPUT /'`,
    `  cat <<'${end}'`,
    ...part.tail,
    end,
    `} | ${restore} --noflush || failed ${q(`firewall ${part.family}`)}`,
  ];
}

/** What the watchdog left in guard-ID.outcome: its verdict, when, and what failed. */
export function parseOutcome(text: string): { status: 'rolled-back' | 'failed'; at: string; failures: string[] } | null {
  const [first = '', ...rest] = text.split('\n');
  const match = /^(rolled-back|failed) (\S+)$/.exec(first.trim());
  if (!match) return null;
  return { status: match[1] as 'rolled-back' | 'failed', at: match[2]!, failures: rest.filter((line) => line.trim() !== '') };
}

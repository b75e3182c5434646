// A Change is plain data (STYLE.md, Terraform's plans/changes.go): what a step wants done, with the
// state before and after. Steps produce Change[] and never write; the transaction is the only writer.
// Rendering a diff happens in preview.ts, never here.
import type { FilterOwnership } from '../snapshots/netfilter.js';

export type StepId =
  | 'elastix-extras'
  | 'exposure'
  | 'voip'
  | 'firewall'
  | 'geoblock'
  | 'ids'
  | 'htaccess'
  | 'ssh'
  | 'ssl'
  | 'updates';

/** An external program and its arguments. Never a shell string (STYLE.md, cli-kit). */
export interface Command {
  readonly file: string;
  readonly args: readonly string[];
}

/**
 * A check run on a file before bulwark trusts it.
 * - `candidate`: run on the new content in a temporary file before it replaces the original; every
 *   argument equal to CANDIDATE_PATH is replaced by that file's path (`sshd -t -f <file>`).
 * - `installed`: run after the write, on the configuration as the program reads it
 *   (`postfix check`); a failure restores the snapshot.
 */
export interface Validator {
  readonly when: 'candidate' | 'installed';
  readonly command: Command;
  /** Short human description, e.g. "Postfix configuration check". */
  readonly label: string;
}

export const CANDIDATE_PATH = '{candidate}';

export interface FileChange {
  readonly kind: 'file';
  readonly step: StepId;
  /** Absolute path as seen on the box (inside --root), after symlinks are resolved. */
  readonly path: string;
  /** Content the plan was computed from; null when the file does not exist. */
  readonly before: string | null;
  /** Content to write; null removes the file. */
  readonly after: string | null;
  /** Mode for a new file (an existing file keeps its own). */
  readonly mode?: number;
  /** Owner for a new file as names, resolved on the box (an existing file keeps its own). */
  readonly owner?: { readonly user: string; readonly group: string };
  /** When true, content is never shown in a diff, a log or --json: it renders as <redacted>. */
  readonly secret?: boolean;
  /** Shown instead of a diff for a file too long to read as one (a set of 30,000 networks). */
  readonly summary?: string;
  readonly validators?: readonly Validator[];
  /** Written only once a guarded change is confirmed (the persisted firewall rules: a reboot before
   *  confirmation must come back with the old ones). Captured in the snapshot at apply time. */
  readonly afterConfirm?: boolean;
  /** One sentence for the admin: why this file changes. */
  readonly reason: string;
}

export type IpFamily = 'ipv4' | 'ipv6';

/** A change of the running firewall (netfilter's filter table) for one address family. */
export interface FirewallChange {
  readonly kind: 'firewall';
  readonly step: StepId;
  readonly family: IpFamily;
  /** The filter table now and after, in iptables-save form without counters (for the preview). */
  readonly before: string;
  readonly after: string;
  /** The iptables-restore --noflush script that makes the change (touches only bulwark's chains). */
  readonly script: string;
  /** What the step owns in the filter table: recorded in the snapshot, so a rollback puts back
   *  exactly that (its chains, its INPUT rules, the policies if it sets them). */
  readonly owns: FilterOwnership;
  readonly reason: string;
}

export type ServiceAction = 'start' | 'stop' | 'restart' | 'reload' | 'enable' | 'disable';

export interface ServiceChange {
  readonly kind: 'service';
  readonly step: StepId;
  /** Candidate names for the service, first found wins (mariadb / mysql / mysqld differ per distro). */
  readonly names: readonly string[];
  readonly action: ServiceAction;
  /** A program-specific command used instead of the init system, when the program has its own
   *  (Asterisk's `asterisk -rx "manager reload"`). */
  readonly command?: Command;
  /** What undoes this action on rollback (restart after a restore, start after a stop). */
  readonly undo?: ServiceAction;
  readonly reason: string;
}

/** A kernel set (ipset) of bulwark's, filled under a temporary name and swapped in. */
export interface IpsetChange {
  readonly kind: 'ipset';
  readonly step: StepId;
  readonly family: IpFamily;
  readonly name: string;
  /** Networks in the set, and its limits (for the preview: never the whole list). */
  readonly entries: number;
  readonly maxelem: number;
  readonly script: string;
  readonly reason: string;
}

/**
 * A symbolic link made, changed or removed: the links that decide what starts at boot (rc?.d,
 * systemd's *.wants), and Apache's conf-enabled. `before`/`after` are link targets, null for "no
 * link". With `madeBy`, on the live system the service change named there makes the link (the box's
 * own `systemctl disable`, `chkconfig off`, `update-rc.d disable`): the plan predicts its effect for
 * the preview and the snapshot, and verify checks it; under --root the transaction makes it itself
 * (as `systemctl --root` would).
 */
export interface LinkChange {
  readonly kind: 'link';
  readonly step: StepId;
  readonly path: string;
  readonly before: string | null;
  readonly after: string | null;
  readonly madeBy?: { readonly service: string; readonly action: ServiceAction };
  readonly reason: string;
}

/**
 * Packages installed or removed with the box's package manager. Removal is never planned by
 * default: it is the one change a rollback cannot undo byte for byte (the package list before is
 * kept in the snapshot, and the rollback says what to reinstall; an installed package stays, its
 * service stopped).
 */
export interface PackageChange {
  readonly kind: 'package';
  readonly step: StepId;
  readonly action: 'remove' | 'install';
  readonly manager: 'apt' | 'yum' | 'dnf';
  readonly names: readonly string[];
  readonly reason: string;
}

/**
 * A program run once, after the files are in place, that makes files of its own (AIDE's baseline
 * database). The paths it creates are snapshotted first, so a rollback puts them back (or removes
 * them). Never run under --root.
 */
export interface CommandChange {
  readonly kind: 'command';
  readonly step: StepId;
  readonly command: Command;
  readonly creates: readonly string[];
  /** Shown while it runs: what it does and how long it may take. */
  readonly progress: string;
  readonly timeoutMs?: number;
  readonly reason: string;
}

/**
 * Running kernel settings (sysctl keys) changed at once. `before` is the live value the plan saw
 * (null: the key does not exist on this kernel); the snapshot keeps the live values at apply time,
 * and a rollback (and the dead-man switch) writes them back to /proc/sys. Never under --root: there
 * is no running kernel, only the file that sets them at boot.
 */
export interface KernelSettingsChange {
  readonly kind: 'sysctl';
  readonly step: StepId;
  readonly settings: readonly { readonly key: string; readonly before: string | null; readonly after: string }[];
  /** What sets them (`sysctl -w key=value ...`). */
  readonly apply: Command;
  readonly reason: string;
}

export type Change = FileChange | ServiceChange | FirewallChange | IpsetChange | LinkChange | PackageChange | CommandChange | KernelSettingsChange;

export function isFileChange(change: Change): change is FileChange {
  return change.kind === 'file';
}

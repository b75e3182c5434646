// The contract every step keeps: detect (read-only) → plan (pure data) → verify (read-only).
// A step never writes; the transaction in src/ does. The wizard and the headless commands drive
// steps only through this interface.
import type { Change, FileChange, StepId } from '../src/change.js';
import type { Host } from '../src/host.js';
import type { StateFs } from '../src/state-fs.js';
import type { SystemFacts } from '../src/system.js';

export interface StepContext {
  readonly host: Host;
  readonly system: SystemFacts;
  /** $SSH_CONNECTION of the admin ("client_ip client_port server_ip server_port"), when over SSH. */
  readonly sshConnection?: string;
  /** The admin's user on the box (whose keys prove a key login): the SSH login user, before sudo. */
  readonly adminUser?: string;
  /** bulwark's state directory (the geo step keeps updated country data there). */
  readonly stateDir: string;
  /** Remote mode: that directory is on the box, reached through this (the geo step reads its data). */
  readonly boxState?: StateFs;
  /** The firewall's trusted sources (answers), which other steps must never block either. */
  readonly trustedSources?: readonly string[];
  /** Set by `bulwark audit`: a step may run its slower read-only checks (the integrity check). */
  readonly audit?: boolean;
  /** Other steps' answers from the session (the ssh step opens its new port in the firewall's). */
  readonly sessionAnswers?: Readonly<Record<string, unknown>>;
}

/** One line of "what bulwark found", for the wizard and `audit`. */
export interface FactRow {
  readonly label: string;
  readonly value: string;
  readonly tone: 'good' | 'bad' | 'neutral';
}

export interface Finding {
  readonly severity: 'high' | 'medium' | 'low' | 'info';
  readonly title: string;
  /** Why it matters, in plain words for a first-time admin. */
  readonly why: string;
  /** What the step would do about it. */
  readonly fix: string;
}

export interface Choice {
  readonly value: string;
  readonly label: string;
  readonly detail?: string;
  /** Ticked in the wizard while the question has no answer yet (a suggestion, not a default). */
  readonly suggested?: boolean;
}

/** A question the wizard asks; answers are plain JSON under the step's key in the answers file. */
export interface MultiSelectQuestion {
  readonly kind: 'multiselect';
  /** Key inside the step's answers ("loopbackOnly"). */
  readonly key: string;
  readonly prompt: string;
  readonly help?: string;
  readonly choices: readonly Choice[];
}

/** A yes/no choice: the answer is a boolean under `key`. */
export interface BooleanQuestion {
  readonly kind: 'boolean';
  readonly key: string;
  readonly prompt: string;
  readonly help?: string;
}

/** One of a few options: the answer is the chosen value under `key`. */
export interface ChoiceQuestion {
  readonly kind: 'choice';
  readonly key: string;
  readonly prompt: string;
  readonly help?: string;
  readonly choices: readonly Choice[];
}

/** Free text, turned into answers by the step's withText (which may refuse it with a message). */
export interface TextQuestion {
  readonly kind: 'text';
  readonly key: string;
  readonly prompt: string;
  readonly help?: string;
  /** A password: shown as dots while typed, never put in the answers (the step keeps it in memory). */
  readonly secret?: boolean;
}

export type Question = MultiSelectQuestion | BooleanQuestion | ChoiceQuestion | TextQuestion;

export interface VerifyCheck {
  readonly label: string;
  readonly ok: boolean;
  readonly detail?: string;
}

export interface Step<Facts = unknown, Answers = unknown> {
  readonly id: StepId;
  readonly title: string;
  /** Changes that can cut the admin off: applied under the dead-man switch (snapshots/guard.ts). */
  readonly guarded?: boolean;
  /** Plain-language reasons for a first-time admin, one paragraph per entry. */
  readonly why: readonly string[];
  detect(ctx: StepContext): Promise<Facts>;
  describe(facts: Facts): FactRow[];
  /** Safe answers prefilled from what was found. */
  defaults(facts: Facts): Answers;
  questions(facts: Facts): Question[];
  /** Pure: the same facts and answers always give the same changes; no I/O. */
  plan(facts: Facts, answers: Answers): Change[];
  /** Loads what the plan needs once the answers are known (the geo step reads only the chosen
   *  countries' networks). Called before plan; plan itself stays free of I/O. */
  prepare?(facts: Facts, answers: Answers, ctx: StepContext, prefetched?: Promise<unknown>): Promise<void>;
  /** Read-only work that needs the answers but not the facts (the geo step's compile of the chosen
   *  countries): when the answers are known before detection (--answers, the saved session), the
   *  engine starts it alongside detect and hands its promise to prepare, which may use it. */
  prefetch?(answers: Answers, ctx: StepContext): Promise<unknown>;
  /** Answers that are well-formed but wrong for this box (a country the data does not know): each
   *  message names the field; bulwark exits 2 and changes nothing. */
  checkAnswers?(facts: Facts, answers: Answers): string[];
  /** For text questions: the answers with the text applied, or a message saying what is wrong. */
  withText?(answers: Answers, question: Question, text: string): Answers | string;
  /** Lines shown above the diff: what the plan amounts to (the geo step: each country's ranges and
   *  addresses, each set's size against its limit). */
  planNotes?(facts: Facts, answers: Answers): string[];
  /** Reasons to refuse the plan before anything is touched (a lock-out the rules would cause). */
  preflight?(facts: Facts, answers: Answers): string[];
  /** For questions whose answer is not simply answers[key]: the values ticked now, and the answers
   *  with new values (the firewall's allow list keeps source-limited rules the checklist cannot show). */
  choiceOf?(answers: Answers, question: Question): string[];
  withChoice?(answers: Answers, question: Question, values: string[]): Answers;
  /** For guarded steps: the files to write once the change is confirmed, computed from the box as it
   *  is then (the firewall persists the rules actually running). Paths are those the plan announced. */
  confirmedFiles?(ctx: StepContext, announced: readonly FileChange[]): Promise<FileChange[]>;
  findings(facts: Facts): Finding[];
  /** A guarded step whose confirmation must come in on this port (a moved SSH port): null, any. */
  confirmPort?(facts: Facts, answers: Answers): number | null;
  /** Once confirmed: the second phase, applied as its own (unguarded) change — the ssh step closes
   *  the old port. `answers` updates what other steps hold (the firewall's allow list); `follow` are
   *  steps planned again afterwards (fail2ban's jail follows the port). */
  finish?(ctx: StepContext, answers: Answers): Promise<{ changes: Change[]; answers?: { step: StepId; answers: unknown }[]; follow?: StepId[] }>;
  /** Said after a successful apply: what the admin does next (the ssl step: where the CSR is, and
   *  what to do with it). */
  afterApply?(facts: Facts, answers: Answers): string[];
  /** Read-only checks after an apply: does the box now behave as planned? `changes` are the ones
   *  just applied (a step may check those instead of planning again). */
  verify(ctx: StepContext, answers: Answers, changes?: readonly Change[]): Promise<VerifyCheck[]>;
}

/** A step listed in the wizard whose module is not built yet. */
export interface ComingStep {
  readonly id: StepId;
  readonly title: string;
  readonly summary: string;
}

// The wizard. One screen at a time inside an 80x24 budget: a header line, the body, and a footer with
// the keys that work on this screen.
import { Box, Text, useApp, useInput, useStdout } from 'ink';
import type { Engine, RecoveryReport } from '../engine.js';
import { checkNewConnection, type GuardRecord } from '../../snapshots/guard.js';
import { STEPS } from '../../steps/index.js';
import type { Step } from '../../steps/types.js';
import { useEffect, useState } from 'react';
import { MultiSelect } from './MultiSelect.js';
import { YesNo } from './YesNo.js';
import { SingleSelect } from './SingleSelect.js';
import { TextInput } from './TextInput.js';
import { diffLines, ScrollView, type StyledLine } from './ScrollView.js';
import { StepList } from './StepBar.js';
import { fit, wrap } from './text.js';
import { useWizard } from './use-wizard.js';
import { endOfLifeWarning, todayUtc } from '../../steps/updates/eol.js';

export interface AppProps {
  readonly engine: Engine;
  readonly recovery: RecoveryReport | null;
  /** A guarded change already waiting when the wizard started. */
  readonly waiting?: GuardRecord | null;
  /** Seconds to confirm a guarded change (default 120). */
  readonly confirmTimeout?: number;
  readonly color: boolean;
  readonly onExit: (code: number) => void;
}

export function App({ engine, recovery, waiting = null, confirmTimeout, color, onExit }: AppProps) {
  const { exit } = useApp();
  const { stdout } = useStdout();
  const width = Math.max(40, Math.min(stdout.columns || 80, 120)) - 1;
  const height = Math.max(16, stdout.rows || 24);
  const wizard = useWizard(engine, recovery, waiting, confirmTimeout);
  const { state } = wizard;
  const screen = state.screen;
  const bodyHeight = height - 4;

  const quit = () => {
    // A guarded change of this session that was rolled back unconfirmed: exit code 3 (DESIGN.md).
    onExit(state.rolledBackUnconfirmed ? 3 : 0);
    exit();
  };

  // The countdown: redraw every half second while a guarded change waits, and follow its fate.
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (screen.kind !== 'guard') return;
    const timer = setInterval(() => {
      setNow(Date.now());
      void wizard.pollGuard();
    }, 500);
    return () => clearInterval(timer);
  }, [screen.kind, wizard.pollGuard]);
  // Remote mode: bulwark itself proves access with a new SSH connection while the countdown shows.
  useEffect(() => {
    if (screen.kind === 'guard' && engine.remoteMode) void wizard.proveFromHere();
  }, [screen.kind, engine.remoteMode, wizard.proveFromHere]);

  useInput((input, key) => {
    if (wizard.working.current) return; // a transaction is running: it finishes first
    if (key.ctrl && input === 'c') return quit();
    switch (screen.kind) {
      case 'home': {
        if (key.upArrow || input === 'k') wizard.update((d) => void (d.cursor = Math.max(0, d.cursor - 1)));
        else if (key.downArrow || input === 'j') wizard.update((d) => void (d.cursor = Math.min(d.rows.length - 1, d.cursor + 1)));
        else if (key.return) {
          const row = state.rows[state.cursor];
          if (!row) return;
          if (!row.built) wizard.update((d) => void (d.error = `"${row.title}" comes in a later version of bulwark.`));
          else void wizard.openStep(row.id);
        } else if (input === 'u') {
          const row = state.rows[state.cursor];
          if (row?.built) void wizard.askUndo(row.id);
        } else if (input === 'q') quit();
        return;
      }
      case 'why':
        if (key.return && state.open) wizard.update((d) => void (d.screen = { kind: 'facts', step: screen.step }));
        else if (key.return) wizard.continueWhenReady.current = true; // still looking at the box
        else if (key.escape || input === 'b') wizard.goHome();
        else if (input === 'q') quit();
        return;
      case 'facts':
        if (key.return && state.open) {
          if (state.open.questions.length > 0) wizard.update((d) => void (d.screen = { kind: 'question', step: screen.step, index: 0 }));
          else wizard.makePlan();
        } else if (key.escape || input === 'b') wizard.update((d) => void (d.screen = { kind: 'why', step: screen.step }));
        else if (input === 'q') quit();
        return;
      case 'question':
        if (key.escape) wizard.update((d) => void (d.screen = { kind: 'facts', step: screen.step }));
        return;
      case 'review':
        if (state.open?.problems.length && (input === 'a' || key.return)) return;
        if (input === 'a' || (key.return && state.open?.changes.length === 0)) void wizard.apply();
        else if (input === 's') void wizard.skip();
        else if (key.escape || input === 'b') {
          const back = state.open && state.open.questions.length > 0 ? { kind: 'question' as const, step: screen.step, index: state.open.questions.length - 1 } : { kind: 'facts' as const, step: screen.step };
          wizard.update((d) => void (d.screen = back));
        } else if (input === 'q') quit();
        return;
      case 'result':
        if (key.return) wizard.goHome();
        else if (input === 'u' && state.outcome?.ok && state.rows.find((r) => r.id === screen.step)?.status === 'applied') void wizard.askUndo(screen.step);
        else if (input === 'q') quit();
        return;
      case 'guard':
        if (input === 'c' && state.guard && checkNewConnection(state.guard, engine.sshConnection) === null) void wizard.confirmHere();
        else if (input === 'q') quit(); // the watchdog keeps the deadline without the wizard
        return;
      case 'undo-confirm':
        if (input === 'y') void wizard.undo();
        else if (input === 'n' || key.escape) wizard.goHome();
        return;
      default:
        return;
    }
  });

  const step = 'step' in screen ? (STEPS.find((e) => e.step.id === screen.step)?.step as Step | undefined) : undefined;
  const position = step ? STEPS.findIndex((e) => e.step.id === step.id) + 1 : 0;
  const header = step ? `bulwark · step ${position} of ${STEPS.length}: ${step.title}` : `bulwark · hardening ${engine.host.live ? 'this server' : engine.host.root}`;

  return (
    <Box flexDirection="column" width={width + 1}>
      <Text bold color={color ? 'cyan' : undefined}>
        {fit(header + `  (${engine.system.distro.name})`, width)}
      </Text>
      <Box flexDirection="column" height={bodyHeight + 1}>
        {body()}
      </Box>
      {state.error ? <Text color={color ? 'red' : undefined}>{fit(state.error, width)}</Text> : null}
      {state.busy && screen.kind !== 'why' ? <Text color={color ? 'yellow' : undefined}>{fit(state.busy, width)}</Text> : null}
      <Text dimColor>{fit(footer(), width)}</Text>
    </Box>
  );

  function body() {
    switch (screen.kind) {
      case 'home': {
        const lines = state.banner ? wrap(state.banner, width) : [];
        // From shipped dates and the distribution already read: no package manager at start-up.
        const endOfLife = endOfLifeWarning(engine.system.distro, todayUtc());
        const allDone = state.rows.filter((r) => r.built).every((r) => ['applied', 'confirmed', 'skipped'].includes(r.status));
        return (
          <Box flexDirection="column">
            {lines.map((line, i) => (
              <Text key={i} color={color ? 'yellow' : undefined}>{line}</Text>
            ))}
            {endOfLife ? wrap(endOfLife, width).map((line, i) => (
              <Text key={`eol-${i}`} bold color={color ? 'red' : undefined}>{line}</Text>
            )) : null}
            {/* 24 rows hold a banner, the end-of-life warning and ten steps only without the introduction:
                a banner (a recovery, a change waiting) means the admin has been here before. */}
            {lines.length === 0 ? <Text> </Text> : null}
            {lines.length === 0 ? wrap('bulwark walks you through hardening this server, one step at a time. Every change is shown first, saved in a snapshot, checked after it is made, and can be undone.', width).map((line, i) => (
              <Text key={`intro-${i}`}>{line}</Text>
            )) : null}
            <Text> </Text>
            <StepList rows={state.rows} cursor={state.cursor} width={width} color={color} />
            <Text> </Text>
            <Text bold>{fit(allDone ? 'All available steps are done. Press u on a step to undo it, or q to leave.' : `Next: ${state.rows[state.cursor]?.title ?? ''}. Press Enter to start.`, width)}</Text>
          </Box>
        );
      }
      case 'why': {
        const lines: StyledLine[] = [{ text: 'Why this matters', bold: true }, { text: '' }];
        for (const paragraph of step?.why ?? []) {
          lines.push(...wrap(paragraph, width).map((text) => ({ text })), { text: '' });
        }
        if (state.busy) lines.push({ text: state.busy, dim: true });
        return <ScrollView lines={lines} height={bodyHeight - 1} width={width} color={color} />;
      }
      case 'facts': {
        const open = state.open!;
        const labelWidth = Math.min(34, Math.max(...open.rows.map((r) => r.label.length), 10));
        const lines: StyledLine[] = [{ text: `What bulwark found${engine.host.live ? '' : ' (from the config files under ' + engine.host.root + ')'}`, bold: true }, { text: '' }];
        for (const row of open.rows) {
          // Long values wrap under themselves, so nothing is cut off at 80 columns.
          const valueLines = wrap(row.value, Math.max(20, width - labelWidth - 3));
          const rowColor = row.tone === 'bad' ? 'red' : row.tone === 'good' ? 'green' : undefined;
          valueLines.forEach((value, i) => lines.push({ text: `${i === 0 ? (row.tone === 'good' ? '✔' : row.tone === 'bad' ? '✘' : '·') : ' '} ${(i === 0 ? row.label : '').padEnd(labelWidth)} ${value}`, color: rowColor }));
        }
        if (open.rows.length === 0) lines.push({ text: 'Nothing relevant is installed on this box.' });
        return <ScrollView lines={lines} height={bodyHeight - 1} width={width} color={color} />;
      }
      case 'question': {
        const question = state.open?.questions[screen.index];
        if (!question || !state.open) return null;
        if (question.kind === 'boolean') {
          const initial = (state.open.answers[question.key] as boolean | undefined) ?? true;
          return <YesNo key={question.key} question={question} initial={initial} width={width} color={color} onSubmit={(value) => void wizard.answer(question, value)} />;
        }
        if (question.kind === 'choice') {
          return <SingleSelect key={question.key} question={question} initial={state.open.answers[question.key] as string | undefined} width={width} color={color} onSubmit={(value) => void wizard.answer(question, value)} />;
        }
        if (question.kind === 'text') {
          const current = state.open.answers[question.key];
          const initial = question.secret ? '' : Array.isArray(current) ? current.join(' ') : typeof current === 'string' ? current : '';
          return <TextInput key={question.key} question={question} initial={initial} width={width} color={color} error={state.error} onSubmit={(value) => void wizard.answer(question, value)} />;
        }
        const openStep = engine.builtStep(state.open.id) as Step<unknown, Record<string, unknown>>;
        const initial = openStep.choiceOf ? openStep.choiceOf(state.open.answers, question) : ((state.open.answers[question.key] as string[] | undefined) ?? []);
        return <MultiSelect key={question.key} question={question} initial={initial} width={width} color={color} onSubmit={(values) => void wizard.answer(question, values)} />;
      }
      case 'review': {
        const open = state.open!;
        if (open.problems.length > 0) {
          const lines: StyledLine[] = [{ text: 'bulwark will not apply this: it would lock you out or fight another tool.', bold: true, color: 'red' }, { text: '' }];
          for (const problem of open.problems) lines.push(...wrap(`✘ ${problem}`, width).map((text) => ({ text, color: 'red' })));
          lines.push({ text: '' }, { text: 'Press b to go back and change your choices.' }, { text: '' }, ...diffLines(open.diff));
          return <ScrollView lines={lines} height={bodyHeight - 1} width={width} color={color} />;
        }
        if (open.changes.length === 0) {
          return (
            <Box flexDirection="column">
              <Text bold>Nothing to change</Text>
              <Text> </Text>
              {wrap('With your choices, this step has nothing to change on this box: it is already as it should be.', width).map((l, i) => (
                <Text key={i}>{l}</Text>
              ))}
            </Box>
          );
        }
        return (
          <Box flexDirection="column">
            <Text bold>{fit(`The changes, exactly as they will be made (${open.changes.filter((c) => c.kind === 'file').length} file(s)):`, width)}</Text>
            <ScrollView lines={[...open.notes.flatMap((note) => wrap(note, width).map((text) => ({ text, color: 'cyan' }))), ...(open.notes.length ? [{ text: '' }] : []), ...diffLines(open.diff)]} height={bodyHeight - 2} width={width} color={color} />
          </Box>
        );
      }
      case 'applying':
      case 'undoing':
        return (
          <Box flexDirection="column">
            <Text bold>{screen.kind === 'applying' ? 'Applying… (a snapshot is taken first; any failure puts everything back)' : 'Rolling back…'}</Text>
            <Text> </Text>
            {state.log.slice(-(bodyHeight - 3)).map((line, i) => (
              <Text key={i}>{fit(line, width)}</Text>
            ))}
          </Box>
        );
      case 'result': {
        const outcome = state.outcome;
        if (!outcome) return null;
        const lines: StyledLine[] = [{ text: outcome.title, bold: true, color: outcome.ok ? 'green' : 'red' }, { text: '' }];
        for (const check of outcome.checks) lines.push({ text: `${check.ok ? '✔' : '✘'} ${check.label}${check.detail ? ` — ${check.detail}` : ''}`, color: check.ok ? 'green' : 'red' });
        if (outcome.checks.length) lines.push({ text: '' });
        for (const line of outcome.lines) lines.push(...wrap(line, width).map((text) => ({ text })));
        return <ScrollView lines={lines} height={bodyHeight - 1} width={width} color={color} />;
      }
      case 'guard': {
        const guard = state.guard;
        if (!guard) return null;
        const left = Math.max(0, Math.ceil((Date.parse(guard.deadline) - now) / 1000));
        if (engine.remoteMode) {
          const proof = state.proof;
          const remoteLines: StyledLine[] = [
            { text: `Applied on the box. Proving you can still get in: ${left} s left.`, bold: true, color: left > 30 ? 'yellow' : 'red' },
            { text: '' },
            ...wrap(`bulwark opens a NEW SSH connection from this machine${guard.confirmPort ? ` on port ${guard.confirmPort}` : ''}, as you would, and confirms the change through it.`, width).map((text) => ({ text })),
            { text: '' },
            { text: proof ? `attempt ${proof.attempts}${proof.lastFailed ? ': the last one did not get in, trying again' : '…'}` : 'connecting…', color: proof?.lastFailed ? 'red' : undefined },
            { text: '' },
            ...wrap(`If it cannot get in, the box rolls the change back by itself at ${new Date(guard.deadline).toLocaleTimeString()}, even if this machine or its connection goes away. By hand, from a new terminal: bulwark --host ... confirm ${guard.token}`, width).map((text) => ({ text, dim: true })),
          ];
          return <ScrollView lines={remoteLines} height={bodyHeight - 1} width={width} color={color} />;
        }
        const canConfirmHere = checkNewConnection(guard, engine.sshConnection) === null;
        const here = engine.sshConnection ? 'This wizard runs in a NEW SSH connection: logging in worked.' : 'You are at the console (no SSH connection).';
        const lines: StyledLine[] = [
          { text: `Applied. Prove you can still get in: ${left} s left.`, bold: true, color: left > 30 ? 'yellow' : 'red' },
          { text: '' },
          ...wrap('Open a NEW terminal, connect to this server with ssh as you normally do, and run:', width).map((text) => ({ text })),
          { text: '' },
          { text: `    sudo bulwark confirm ${guard.token}`, bold: true },
          { text: '' },
          ...wrap(`If you cannot log in, do nothing: at ${new Date(guard.deadline).toLocaleTimeString()} the old rules come back by themselves, even if this window is closed or the connection drops. This session does not count: an open connection survives any firewall rule.`, width).map((text) => ({ text, dim: true })),
        ];
        if (canConfirmHere) lines.push({ text: '' }, ...wrap(`${here} Press c to confirm here.`, width).map((text) => ({ text, bold: true })));
        return <ScrollView lines={lines} height={bodyHeight - 1} width={width} color={color} />;
      }
      case 'undo-confirm': {
        const lines: StyledLine[] = [{ text: `Undo ${screen.step}?`, bold: true }, { text: '' }, { text: 'These files go back exactly as they were before bulwark changed them:' }];
        for (const manifest of state.undoTargets) {
          lines.push({ text: `  snapshot ${manifest.id} (${manifest.createdAt})`, dim: true });
          for (const file of manifest.files) lines.push({ text: `    ${file.path}${file.state === 'absent' ? ' (removed: it did not exist)' : ''}` });
        }
        lines.push({ text: '' }, { text: 'The current versions are snapshotted first, so this undo can be undone too.', dim: true });
        return <ScrollView lines={lines} height={bodyHeight - 1} width={width} color={color} />;
      }
    }
  }

  function footer(): string {
    switch (screen.kind) {
      case 'home':
        return '↑/↓ choose · Enter open · u undo an applied step · q quit (progress is kept)';
      case 'why':
        return state.open ? 'Enter continue · b back · q quit' : 'looking at the box… · b back · q quit';
      case 'facts':
        return 'Enter continue · ↑/↓ scroll · b back · q quit';
      case 'question':
        return '↑/↓ move · Space tick/untick · Enter accept · Esc back';
      case 'review':
        return state.open?.changes.length ? 'a apply these changes · s skip this step · b back · ↑/↓ scroll · q quit' : 'Enter mark as done · s skip · b back · q quit';
      case 'applying':
      case 'undoing':
        return 'working… please wait';
      case 'result':
        return state.outcome?.ok && state.rows.find((r) => r.id === screen.step)?.status === 'applied' ? 'Enter continue · u undo this step · q quit' : 'Enter continue · q quit';
      case 'guard':
        if (engine.remoteMode) return 'proving access from this machine… · q leave (the deadline still holds on the box)';
        return state.guard && checkNewConnection(state.guard, engine.sshConnection) === null ? 'c confirm here · q leave (the deadline still holds)' : 'waiting for `bulwark confirm` from a new SSH session… · q leave';
      case 'undo-confirm':
        return 'y restore these files · n cancel';
    }
  }
}

// The wizard's building blocks, rendered by Ink into a fake terminal (ink-testing-library): what the
// admin sees in the frame and what a component hands back, after real key presses on its stdin.
import fc from 'fast-check';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup } from 'ink-testing-library';
import type { MultiSelectQuestion } from '../../steps/types.js';
import { MultiSelect } from '../../src/ui/MultiSelect.js';
import { ScrollView, type StyledLine } from '../../src/ui/ScrollView.js';
import { StepList, type StepRow } from '../../src/ui/StepBar.js';
import { fit, wrap } from '../../src/ui/text.js';

const DOWN = '\u001B[B';
const UP = '\u001B[A';
const PAGE_DOWN = '\u001B[6~';
const ENTER = '\r';
const SPACE = ' ';

/** Ink handles input and re-renders asynchronously: give it a moment before reading the frame. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

/** The frame as plain rows (no colour codes: ink-testing-library's stdout is not a colour TTY). */
function rows(frame: string | undefined): string[] {
  return (frame ?? '').split('\n');
}

/** The row that shows a choice, found by its label. */
function rowOf(frame: string | undefined, label: string): string {
  const row = rows(frame).find((line) => line.includes(label));
  if (row === undefined) throw new Error(`no row with "${label}" in:\n${frame ?? ''}`);
  return row;
}

const QUESTION: MultiSelectQuestion = {
  kind: 'multiselect',
  key: 'loopbackOnly',
  prompt: 'Which services should answer on loopback (127.0.0.1) only?',
  help: 'Leave one unticked only if another machine really connects to it.',
  choices: [
    { value: 'mysql', label: 'MySQL / MariaDB, port 3306', detail: 'Untick if a replica connects to this database.' },
    { value: 'postfix', label: 'Postfix (mail), port 25', detail: 'Untick if this box receives mail from other machines.' },
    { value: 'ami', label: 'Asterisk manager (AMI), port 5038', detail: 'Untick if a remote panel talks to AMI.' },
  ],
};

afterEach(() => {
  cleanup();
});

describe('MultiSelect', () => {
  function mount(initial: readonly string[], width = 79) {
    const submitted: string[][] = [];
    const app = render(<MultiSelect question={QUESTION} initial={initial} width={width} color={false} onSubmit={(values) => submitted.push(values)} />);
    return { ...app, submitted };
  }

  it('shows the prompt, the help and every choice with its tick from the initial answers', () => {
    const { lastFrame } = mount(['mysql', 'ami']);

    expect(lastFrame()).toContain(QUESTION.prompt);
    expect(lastFrame()).toContain(QUESTION.help);
    expect(rowOf(lastFrame(), 'MySQL')).toContain('› [x]');
    expect(rowOf(lastFrame(), 'Postfix')).toContain('[ ]');
    expect(rowOf(lastFrame(), 'Asterisk')).toContain('[x]');
    // The detail under the list belongs to the choice under the cursor.
    expect(lastFrame()).toContain('a replica connects');
    expect(lastFrame()).not.toContain('receives mail');
  });

  it('Space toggles the item under the cursor, and only that one', async () => {
    const { lastFrame, stdin } = mount(['mysql', 'postfix', 'ami']);

    stdin.write(DOWN);
    await tick();
    expect(rowOf(lastFrame(), 'Postfix')).toMatch(/^› \[x\]/);
    expect(lastFrame()).toContain('receives mail');

    stdin.write(SPACE);
    await tick();
    expect(rowOf(lastFrame(), 'Postfix')).toMatch(/^› \[ \]/);
    expect(rowOf(lastFrame(), 'MySQL')).toMatch(/^ {2}\[x\]/);
    expect(rowOf(lastFrame(), 'Asterisk')).toMatch(/^ {2}\[x\]/);

    stdin.write(SPACE);
    await tick();
    expect(rowOf(lastFrame(), 'Postfix')).toMatch(/^› \[x\]/);
  });

  it('Enter submits exactly the ticked values, in the order of the choices', async () => {
    const { stdin, submitted } = mount(['ami', 'mysql', 'postfix']);

    stdin.write(DOWN);
    await tick();
    stdin.write(SPACE);
    await tick();
    stdin.write(ENTER);
    await tick();

    expect(submitted).toEqual([['mysql', 'ami']]);
  });

  it('keys written back to back, without a render between them, still act on the moved cursor', async () => {
    // Given nothing ticked, when ↓ and Space arrive as fast as a pasted or buffered burst…
    const { lastFrame, stdin, submitted } = mount([]);
    stdin.write(DOWN);
    stdin.write(SPACE);
    await tick();

    // …then the second item is ticked, not the first.
    expect(rowOf(lastFrame(), 'Postfix')).toMatch(/^› \[x\]/);
    expect(rowOf(lastFrame(), 'MySQL')).toMatch(/^ {2}\[ \]/);

    // And an Enter right behind a Space submits the Space's effect.
    stdin.write(DOWN);
    stdin.write(SPACE);
    stdin.write(ENTER);
    await tick();
    expect(submitted).toEqual([['postfix', 'ami']]);
  });

  it('the cursor stops at both ends of the list', async () => {
    const { lastFrame, stdin, submitted } = mount([]);

    stdin.write(UP);
    await tick();
    stdin.write(SPACE);
    await tick();
    expect(rowOf(lastFrame(), 'MySQL')).toMatch(/^› \[x\]/);

    for (let i = 0; i < 5; i++) {
      stdin.write(DOWN);
      await tick();
    }
    stdin.write(SPACE);
    await tick();
    stdin.write(ENTER);
    await tick();
    expect(submitted).toEqual([['mysql', 'ami']]);
  });

  it('keeps every row within the width, however long the labels', () => {
    const long: MultiSelectQuestion = {
      ...QUESTION,
      prompt: 'P'.repeat(200),
      choices: [{ value: 'x', label: 'L'.repeat(200), detail: 'word '.repeat(60) }],
    };
    const { lastFrame } = render(<MultiSelect question={long} initial={[]} width={40} color={false} onSubmit={() => {}} />);

    for (const line of rows(lastFrame())) expect(line.length).toBeLessThanOrEqual(40);
    expect(rowOf(lastFrame(), 'LLL').endsWith('…')).toBe(true);
  });
});

describe('ScrollView', () => {
  const twenty: StyledLine[] = Array.from({ length: 20 }, (_, i) => ({ text: `line ${String(i + 1).padStart(2, '0')}` }));

  it('shows `height` lines and a footer that counts them', () => {
    const { lastFrame } = render(<ScrollView lines={twenty} height={5} width={60} color={false} />);
    const shown = rows(lastFrame());

    expect(shown.slice(0, 5)).toEqual(['line 01', 'line 02', 'line 03', 'line 04', 'line 05']);
    expect(lastFrame()).not.toContain('line 06');
    expect(shown[5]).toContain('lines 1-5 of 20');
    expect(shown).toHaveLength(6);
  });

  it('scrolls one line with ↓, and the footer follows', async () => {
    const { lastFrame, stdin } = render(<ScrollView lines={twenty} height={5} width={60} color={false} />);

    stdin.write(DOWN);
    await tick();

    expect(rows(lastFrame()).slice(0, 5)).toEqual(['line 02', 'line 03', 'line 04', 'line 05', 'line 06']);
    expect(lastFrame()).toContain('lines 2-6 of 20');
  });

  it('PageDown moves a page less one line, and never past the end', async () => {
    const { lastFrame, stdin } = render(<ScrollView lines={twenty} height={5} width={60} color={false} />);

    stdin.write(PAGE_DOWN);
    await tick();
    // The last line of the old page stays on top, so the eye keeps its place.
    expect(rows(lastFrame())[0]).toBe('line 05');
    expect(lastFrame()).toContain('lines 5-9 of 20');

    for (let i = 0; i < 10; i++) {
      stdin.write(PAGE_DOWN);
      await tick();
    }
    expect(rows(lastFrame()).slice(0, 5)).toEqual(['line 16', 'line 17', 'line 18', 'line 19', 'line 20']);
    expect(lastFrame()).toContain('lines 16-20 of 20');
  });

  it('ignores keys while another component has the focus', async () => {
    const { lastFrame, stdin } = render(<ScrollView lines={twenty} height={5} width={60} active={false} color={false} />);

    stdin.write(DOWN);
    await tick();

    expect(rows(lastFrame())[0]).toBe('line 01');
    expect(lastFrame()).toContain('lines 1-5 of 20');
  });

  it('has no footer when everything fits', () => {
    const { lastFrame } = render(<ScrollView lines={twenty.slice(0, 3)} height={5} width={60} color={false} />);

    expect(rows(lastFrame())).toEqual(['line 01', 'line 02', 'line 03']);
  });

  it('cuts long lines and expands tabs, so one line is always one row of the width', () => {
    const lines: StyledLine[] = [{ text: 'x'.repeat(100) }, { text: 'bind-address\t= 0.0.0.0' }];
    const { lastFrame } = render(<ScrollView lines={lines} height={5} width={30} color={false} />);
    const shown = rows(lastFrame());

    expect(shown).toHaveLength(2);
    expect(shown[0]).toBe('x'.repeat(29) + '…');
    expect(shown[1]).toBe('bind-address    = 0.0.0.0');
  });
});

describe('StepList', () => {
  const ROWS: StepRow[] = [
    { id: 'elastix-extras', title: 'Minimal installation', built: false, status: 'pending' },
    { id: 'exposure', title: 'Minimal exposure', built: true, status: 'applied' },
    { id: 'firewall', title: 'Default-deny firewall', built: false, status: 'pending' },
  ];

  it('says which steps are coming in a later version, and the state of the built ones', () => {
    const { lastFrame } = render(<StepList rows={ROWS} cursor={1} width={79} color={false} />);

    expect(rowOf(lastFrame(), 'Minimal installation')).toContain('coming in a later version');
    expect(rowOf(lastFrame(), 'Default-deny firewall')).toContain('coming in a later version');
    const exposure = rowOf(lastFrame(), 'Minimal exposure');
    expect(exposure).toContain('applied');
    expect(exposure).not.toContain('coming');
  });

  it('points at the row under the cursor, numbered from 1', () => {
    const { lastFrame } = render(<StepList rows={ROWS} cursor={1} width={79} color={false} />);

    expect(rowOf(lastFrame(), 'Minimal exposure')).toMatch(/^› ✔ 2\. /);
    expect(rowOf(lastFrame(), 'Minimal installation')).toMatch(/^ {2}· 1\. /);
  });

  it('a pending built step is not shown as coming', () => {
    const pending: StepRow[] = [{ id: 'exposure', title: 'Minimal exposure', built: true, status: 'pending' }];
    const { lastFrame } = render(<StepList rows={pending} cursor={0} width={79} color={false} />);

    expect(lastFrame()).toContain('pending');
    expect(lastFrame()).not.toContain('coming in a later version');
  });

  it('stays within a narrow width', () => {
    const { lastFrame } = render(<StepList rows={ROWS} cursor={0} width={40} color={false} />);

    for (const line of rows(lastFrame())) expect(line.length).toBeLessThanOrEqual(40);
  });
});

describe('wrap and fit', () => {
  // Text as it comes from config files and messages: words, runs of spaces, tabs, blank lines, long tokens.
  const space = fc.constantFrom(' ', '  ', '\t', '\n', '\n\n', ' \t ', '\n        ');
  const word = fc.stringMatching(/^[a-z0-9=.#;/-]{1,30}$/);
  const text = fc.array(fc.tuple(space, word), { maxLength: 40 }).map((pairs) => pairs.map(([s, w]) => s + w).join(''));

  it('wrap: no line is longer than the width, and no tab is left', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 100 }), (input, width) => {
        for (const line of wrap(input, width)) {
          expect(line.length).toBeLessThanOrEqual(width);
          expect(line).not.toContain('\t');
        }
      }),
    );
  });

  it('wrap: keeps every word, in order', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 62, max: 100 }), (input, width) => {
        // Words up to 30 characters fit beside any indent (at most half the width), so none is cut.
        const words = (s: string) => s.split(/\s+/).filter(Boolean);
        expect(words(wrap(input, width).join(' '))).toEqual(words(input));
      }),
    );
  });

  it('wrap: breaks at spaces and keeps blank lines and the indent of a paragraph', () => {
    expect(wrap('the quick brown fox jumps', 10)).toEqual(['the quick', 'brown fox', 'jumps']);
    expect(wrap('one\n\ntwo', 80)).toEqual(['one', '', 'two']);
    expect(wrap('  alpha beta gamma', 12)).toEqual(['  alpha beta', '  gamma']);
  });

  it('wrap: a paragraph indented as deep as the width still ends (and fits)', () => {
    // A tab expands to 8 columns: with a width of 8 the indent alone fills the line.
    const lines = wrap('\tword', 8);
    expect(lines.join('')).toContain('word');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(8);
  });

  it('fit: cuts to exactly the width with an ellipsis, and leaves short lines alone', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[^\n]{0,200}$/), fc.integer({ min: 1, max: 120 }), (line, width) => {
        const out = fit(line, width);
        expect(out.length).toBeLessThanOrEqual(width);
        expect(out).not.toContain('\t');
      }),
    );
    expect(fit('short', 10)).toBe('short');
    expect(fit('exactly 10', 10)).toBe('exactly 10');
    expect(fit('eleven char', 10)).toBe('eleven ch…');
  });

  it('fit: expands tabs to the next multiple of 8 before measuring', () => {
    expect(fit('a\tb', 80)).toBe('a       b');
    expect(fit('port\t= 5038', 80)).toBe('port    = 5038');
    // The tab counts as the columns it takes on screen, so this 3-character line is cut at 8.
    expect(fit('a\tbcdefghij', 8)).toBe('a      …');
  });
});

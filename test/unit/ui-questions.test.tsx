// The wizard's other question kinds (yes/no, one of a few, free text), driven by key presses on a
// fake terminal: what the admin sees and what the component hands back.
import { cleanup, render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { SingleSelect } from '../../src/ui/SingleSelect.js';
import { TextInput } from '../../src/ui/TextInput.js';
import { YesNo } from '../../src/ui/YesNo.js';
import { geoblockStep, type GeoblockAnswers } from '../../steps/geoblock/index.js';

const DOWN = '\u001B[B';
const LEFT = '\u001B[D';
const ENTER = '\r';
const BACKSPACE = '\u007F';
const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

afterEach(() => cleanup());

describe('YesNo', () => {
  it('starts on the initial answer; arrows, y and n change it; Enter hands it back', async () => {
    const got: boolean[] = [];
    const { lastFrame, stdin } = render(<YesNo question={{ kind: 'boolean', key: 'rateLimit', prompt: 'Rate-limit?' }} initial={true} width={79} color={false} onSubmit={(v) => got.push(v)} />);
    expect(lastFrame()).toContain('› [Yes]');
    stdin.write(LEFT);
    await tick();
    expect(lastFrame()).toContain('› [No]');
    stdin.write(ENTER);
    await tick();
    stdin.write('y');
    stdin.write(ENTER);
    await tick();
    expect(got).toEqual([false, true]);
  });
});

describe('SingleSelect', () => {
  const question = { kind: 'choice' as const, key: 'mode', prompt: 'How should countries be used?', choices: [{ value: 'allow', label: 'allow: only these' }, { value: 'deny', label: 'deny: not these' }] };

  it('starts on the current answer and hands back the chosen value', async () => {
    const got: string[] = [];
    const { lastFrame, stdin } = render(<SingleSelect question={question} initial="allow" width={79} color={false} onSubmit={(v) => got.push(v)} />);
    expect(lastFrame()).toContain('› allow: only these');
    stdin.write(DOWN);
    stdin.write(ENTER); // back to back: the cursor moved before Enter counts
    await tick();
    expect(got).toEqual(['deny']);
  });
});

describe('TextInput with the geoblock step\'s withText', () => {
  const question = geoblockStep.questions({ firewall: { sipPorts: [], suggestions: [] } } as never).find((q) => q.kind === 'text')!;
  const answers: GeoblockAnswers = { mode: 'allow', countries: [], ports: [] };

  it('typed country codes become the answer, in capitals, without duplicates', async () => {
    const got: string[] = [];
    const { lastFrame, stdin } = render(<TextInput question={question as never} initial="" width={79} color={false} onSubmit={(v) => got.push(v)} />);
    for (const key of ['g', 'b', ' ', 'i', 'e', 'x', BACKSPACE, ',', 'g', 'b']) stdin.write(key);
    await tick();
    expect(lastFrame()).toContain('› gb ie,gb█');
    stdin.write(ENTER);
    await tick();
    expect(got).toEqual(['gb ie,gb']);
    expect(geoblockStep.withText!(answers, question, got[0]!)).toEqual({ ...answers, countries: ['GB', 'IE'] });
  });

  it('refuses what is not a list of two-letter codes, with a message the field shows', () => {
    expect(geoblockStep.withText!(answers, question, '   ')).toBe('Give at least one country code, such as GB.');
    expect(geoblockStep.withText!(answers, question, 'GB GBR 1')).toBe('Not a two-letter country code: GBR, 1.');
    const { lastFrame } = render(<TextInput question={question as never} initial="GBR" width={79} color={false} error="Not a two-letter country code: GBR." onSubmit={() => undefined} />);
    expect(lastFrame()).toContain('Not a two-letter country code: GBR.');
  });
});

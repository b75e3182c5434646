import { afterEach, describe, expect, it } from 'vitest';
import { colorDiff, colorEnabled, palette, thousands } from '../../src/output.js';

const tty = { isTTY: true } as NodeJS.WriteStream;
const pipe = { isTTY: false } as NodeJS.WriteStream;
const saved = process.env.NO_COLOR;

afterEach(() => {
  if (saved === undefined) delete process.env.NO_COLOR;
  else process.env.NO_COLOR = saved;
});

describe('colour', () => {
  it('is on for a terminal only, and off with --no-color or NO_COLOR', () => {
    delete process.env.NO_COLOR;
    expect(colorEnabled(false, tty)).toBe(true);
    expect(colorEnabled(false, pipe)).toBe(false);
    expect(colorEnabled(true, tty)).toBe(false);
    process.env.NO_COLOR = '1';
    expect(colorEnabled(false, tty)).toBe(false);
  });

  it('colours diff lines only when enabled', () => {
    const diff = '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+new\n same';
    expect(colorDiff(diff, palette(false))).toBe(diff);
    const coloured = colorDiff(diff, palette(true));
    expect(coloured).toContain('\u001b[31m-old\u001b[39m');
    expect(coloured).toContain('\u001b[32m+new\u001b[39m');
    expect(coloured).toContain(' same');
  });
});

describe('thousands', () => {
  it('groups digits as toLocaleString("en") does, without loading the locale data', () => {
    for (const n of [0, 7, 999, 1000, 65536, 1048576, 123456789, -1234567]) expect(thousands(n)).toBe(n.toLocaleString('en'));
    expect(thousands(340282366920938463463374607431768211456n)).toBe(340282366920938463463374607431768211456n.toLocaleString('en'));
  });
});

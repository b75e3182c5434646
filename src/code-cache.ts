// The code caches shipped beside the bundle (dist/bulwark-main.*.cache). Compiling the bundle's
// JavaScript is a good part of a start-up's cost, and Node 20 keeps no compiled code between runs
// for modules; V8 can, for a script: it serialises the compiled form of the functions that have
// run. So the build (scripts/build.mjs) runs this hidden command once, through the launcher that
// compiled the bundle (src/launcher.cjs): it makes a plan of every step on a fixture root and
// draws the wizard's home screen into a terminal that is not there, so that V8 has compiled what a
// start-up runs, then writes what V8 holds. At each start the launcher hands the cache to V8 along
// with the source; V8 uses it only if the same V8, with the same flags, made it from the same
// source, and otherwise compiles as usual (a Node other than the one that built bulwark simply
// starts without it).
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from './errors.js';
import { writeFileDurable } from './fsutil.js';
import { palette } from './output.js';

/** What the launcher leaves for this command: the compiled bundle's cache, as V8 has it now. */
const CACHE_HOOK = Symbol.for('bulwark.codeCache');

/**
 * What a start-up runs, in two kinds: the wizard (its home screen) and the headless commands (a
 * plan of every step). Each has its own cache: one made from both would make every start
 * deserialise code it does not run, which costs about what compiling it would.
 */
export const CODE_CACHE_KINDS = ['wizard', 'commands'] as const;
export type CodeCacheKind = (typeof CODE_CACHE_KINDS)[number];

export async function writeCodeCache(kind: CodeCacheKind, root: string, out: string): Promise<void> {
  const takeCache = (globalThis as Record<symbol, unknown>)[CACHE_HOOK] as (() => Buffer) | undefined;
  if (takeCache === undefined) throw new UserError('__code-cache: run the bundle through its launcher (node dist/bulwark.js), which compiles it and can hand V8\'s cache over.');
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'bulwark-code-cache-'));
  try {
    const { Engine } = await import('./engine.js');
    if (kind === 'commands') {
      const { planCommand } = await import('./commands.js');
      const discard = () => undefined;
      const planned = await planCommand(await Engine.open({ root, stateDir }), [], { json: false, palette: palette(true), out: discard, err: discard });
      // The fixture is a box that needs hardening: a plan with nothing to change ran less than a start-up does.
      if (planned !== 2) throw new Error(`__code-cache: the plan on ${root} exited ${planned}, expected 2 (changes)`);
    } else {
      const { drawHomeOffscreen } = await import('./ui/run.js');
      const frame = await drawHomeOffscreen(await Engine.open({ root, stateDir }));
      if (!frame.includes('Next:')) throw new Error('__code-cache: the offscreen home screen was not drawn');
    }
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
  await writeFileDurable(out, takeCache(), 0o644);
}

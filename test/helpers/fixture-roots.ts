// The scaffolding of the CLI tests on fixture roots: a fresh copy of a fixture and a state dir per
// test (and any other temp dir it asks for), all removed after the test. Call it at the top of a
// test file: it registers its own afterEach.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { materializeFixture, removeFixture, type FixtureName } from './fixture.js';

export function fixtureRoots() {
  const made: string[] = [];
  afterEach(async () => {
    for (const dir of made.splice(0)) await removeFixture(dir);
  });
  return {
    /** A copy of the fixture, and an empty state dir outside it. */
    async box(name: FixtureName): Promise<{ root: string; state: string }> {
      const root = await materializeFixture(name);
      const state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
      made.push(root, state);
      return { root, state };
    },
    async temp(prefix: string): Promise<string> {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
      made.push(dir);
      return dir;
    },
  };
}

/** --root and --state-dir for the CLI. */
export const rootArgs = (root: string, state: string) => ['--root', root, '--state-dir', state];

/** A CLI result's two streams, for assertion messages. */
export const cliOutput = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;

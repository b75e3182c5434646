// Small trees of files for unit tests that read a box through a Host: written into a fresh temp
// directory per call, removed after each test. Call it at the top of a test file: it registers its
// own afterEach.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';

export function tempRoots(prefix: string) {
  const made: string[] = [];
  afterEach(async () => {
    for (const root of made.splice(0)) await fs.rm(root, { recursive: true, force: true });
  });
  return {
    /** A root holding these files (paths relative to it, parents made), e.g. { 'etc/asterisk/sip.conf': '...' }. */
    async rootWith(files: Record<string, string>): Promise<string> {
      const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
      made.push(root);
      for (const [file, content] of Object.entries(files)) {
        await fs.mkdir(path.dirname(path.join(root, file)), { recursive: true });
        await fs.writeFile(path.join(root, file), content);
      }
      return root;
    },
  };
}

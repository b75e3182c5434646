// Small helpers for files of this machine that are not the box's (the country data bulwark keeps,
// the watchdog's own files): the local side of src/state-fs.ts, under the names the callers use.
import { localStateFs, readJsonFrom } from './state-fs.js';

/** Writes a file so that a crash leaves either the old or the new content, never a torn one. */
export function writeFileDurable(file: string, data: string | Buffer, mode = 0o600): Promise<void> {
  return localStateFs.writeDurable(file, data, mode);
}

export function readJson<T>(file: string): Promise<T | null> {
  return readJsonFrom<T>(localStateFs, file);
}

/** Creates a private directory (mode 0700) and tightens it if it already exists with looser bits. */
export function ensurePrivateDir(dir: string): Promise<void> {
  return localStateFs.ensurePrivateDir(dir);
}


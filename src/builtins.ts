// Node built-ins that only some commands need, loaded when first used. node:child_process pulls in
// net, dgram and the stream modules: compiling them costs every start a few milliseconds, and a plan
// under --root never starts a program. (host.ts imports it dynamically for the same reason; this is
// for the places that must stay synchronous.)
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export function childProcess(): typeof import('node:child_process') {
  return load('node:child_process') as typeof import('node:child_process');
}

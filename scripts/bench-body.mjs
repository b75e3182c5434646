// Shared by the benchmark sections whose measuring is TypeScript under test/bench/ (it drives
// sandbox boxes, and the sandbox helper is TypeScript): runs such a body through tsx and reads the
// one JSON object it prints; plus the table formatting the sections share.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Spawns a TypeScript body; its progress goes to stderr (kept back when `quiet`, unless it fails).
 * SIGINT/SIGTERM are passed on, and we wait for the body to clean up its boxes.
 */
export function runBody(body, args, quiet, log, label) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', body, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', quiet ? 'pipe' : 'inherit'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const forward = (signal) => {
      child.kill(signal);
      child.once('close', () => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    const done = () => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
    };
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.on('close', (code, signal) => {
      done();
      if (code !== 0) {
        if (quiet && stderr) log(stderr.trimEnd());
        reject(new Error(`${label}: ${body} exited ${code ?? signal}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout.trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`${label}: ${body} printed no JSON result:\n${stdout}`));
      }
    });
  });
}

export const pad = (text, width) => String(text).padEnd(width);
export const right = (text, width) => String(text).padStart(width);
export const ms = (value) => (value === null || value === undefined || Number.isNaN(value) ? '-' : value.toFixed(1));
export const int = (value) => value.toLocaleString('en');
export const verdict = (pass) => (pass ? 'PASS' : 'FAIL');

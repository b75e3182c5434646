// Shared by `npm start` and `npm test`: make a fresh clone ready without asking the user to know
// the steps. Installs the locked dependencies when they are missing or stale, and rebuilds the
// bundle when the sources are newer than it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A path, not a URL's pathname: a clone under a directory with a space would be %20 there.
export const repo = fileURLToPath(new URL('..', import.meta.url));

export function run(file, args, options = {}) {
  const result = spawnSync(file, args, { stdio: 'inherit', cwd: repo, ...options });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

function mustRun(file, args, options) {
  const status = run(file, args, options);
  if (status !== 0) {
    process.stderr.write(`${[file, ...args].join(' ')} failed (exit ${status}).\n`);
    process.exit(status);
  }
}

/** `npm ci` when node_modules does not match package-lock.json (a fresh clone, or a changed lock). */
export function ensureDependencies() {
  const lock = readFileSync(join(repo, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex');
  const marker = join(repo, 'node_modules', '.bulwark-lock-hash');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash) return;
  process.stderr.write('Installing dependencies (npm ci)...\n');
  mustRun('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(marker, hash);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds dist/bulwark.js when it is missing or older than the sources. */
export function ensureBuilt() {
  const bundle = join(repo, 'dist', 'bulwark.js');
  const sources = Math.max(...['src', 'steps', 'snapshots'].map((d) => newestMtime(join(repo, d))), statSync(join(repo, 'package-lock.json')).mtimeMs);
  if (!existsSync(join(repo, 'dist', 'helper.sh'))) return mustRun(process.execPath, [join(repo, 'scripts', 'build.mjs')]);
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return;
  mustRun(process.execPath, [join(repo, 'scripts', 'build.mjs')]);
}

/** Debian packages the tests drive for real. Installed only when running as root on Debian. */
export const TEST_PACKAGES = ['tmux', 'iproute2', 'util-linux', 'procps', 'openssh-server', 'openssh-client', 'rsyslog', 'iptables', 'ipset', 'ipset-persistent', 'apache2', 'curl', 'fail2ban', 'aide', 'sipvicious', 'sipsak', 'busybox', 'shellcheck', 'dash', 'time', 'ansible-core', 'unattended-upgrades', 'ssh-audit', 'lynis'];

export function ensureDebianPackages(packages) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/usr/bin/dpkg-query')) return;
  const missing = packages.filter((name) => {
    const result = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
    return result.status !== 0 || !result.stdout.includes('install ok installed');
  });
  if (missing.length === 0) return;
  process.stderr.write(`Installing Debian packages the tests use: ${missing.join(' ')}\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Installing a daemon must not start it on this machine (openssh-server would): the tests start
  // their own inside sandboxes. policy-rc.d exiting 101 tells invoke-rc.d not to start services.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    mustRun('apt-get', ['update', '-qq'], { env });
    mustRun('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

// The package as a user gets it (issue 16): `npm pack` on a copy of the sources — as a fresh clone
// has them, no dist/ — builds first and ships only what runs; installed offline into an empty prefix
// it adds nothing but itself, and the `bulwark` command works: --help, --version (with the country
// data's date), the wizard, audit and plan on a --root; `npx ./bulwark-X.tgz` too.
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { materializeFixture, removeFixture } from '../helpers/fixture.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(await fs.readFile(path.join(REPO, 'package.json'), 'utf8')) as { name: string; version: string };

let work: string;
let tarball: string;
let files: string[];
let prefix: string;
let installOutput: string;
let bin: string;
// npm must not ask the registry anything, or write outside the test's directories.
const npmEnv = () => ({ HOME: work, npm_config_cache: path.join(work, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' });

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-package-'));
  // The sources as a clone has them (tracked files and new ones not ignored), no dist/; the
  // installed dev dependencies are linked, not copied.
  const source = path.join(work, 'clone');
  const listed = String((await execa('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO })).stdout).split('\0').filter(Boolean);
  for (const rel of listed) {
    const from = path.join(REPO, rel);
    const stat = await fs.lstat(from).catch(() => null);
    if (!stat || rel.startsWith('dist/')) continue; // (deleted in the working tree, or built output)
    await fs.mkdir(path.dirname(path.join(source, rel)), { recursive: true });
    await fs.cp(from, path.join(source, rel), { verbatimSymlinks: true });
  }
  await fs.symlink(path.join(REPO, 'node_modules'), path.join(source, 'node_modules'));
  await expect(fs.access(path.join(source, 'dist'))).rejects.toThrow();

  const packed = await execa('npm', ['pack', '--json', '--pack-destination', work], { cwd: source, env: npmEnv() });
  const [info] = JSON.parse(String(packed.stdout)) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info!.filename);
  files = info!.files.map((f) => f.path).sort();

  prefix = path.join(work, 'prefix');
  const install = await execa('npm', ['install', '--global', '--offline', '--prefix', prefix, tarball], { env: npmEnv() });
  installOutput = `${String(install.stdout)}\n${String(install.stderr)}`;
  bin = path.join(prefix, 'bin', 'bulwark');
}, 240_000);

afterAll(async () => {
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('builds first and ships only what runs: the launcher, the bundle, its code caches and the password dictionaries beside it, the country data and its index, the docs, the Ansible role and playbooks, the licences', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'NOTICE', 'CHANGELOG.md', 'docs/answers.md', 'docs/safety.md', 'docs/fleet.md', 'dist/bulwark.js', 'dist/cli.cjs', 'dist/helper.sh', 'dist/geo-index.bin', 'dist/NOTICE', 'dist/geo/geo-whois-asn-country-ipv4.csv', 'dist/geo/geo-whois-asn-country-ipv6.csv', 'dist/geo/NRO_LICENSE', 'dist/geo/package.json']));
    expect(files).toEqual(expect.arrayContaining(['ansible/harden.yml', 'ansible/audit.yml', 'ansible/rollback.yml', 'ansible/inventory.example.yml', 'ansible/roles/bulwark/defaults/main.yml', 'ansible/roles/bulwark/tasks/main.yml']));
    expect(files).toEqual(expect.arrayContaining(['dist/package.json', 'dist/bulwark-main.js', 'dist/bulwark-main.wizard.cache', 'dist/bulwark-main.commands.cache', 'dist/zxcvbn/core.js', 'dist/zxcvbn/language-common.js', 'dist/zxcvbn/language-en.js']));
    expect(files.filter((f) => /^dist\/chunk-/.test(f)), 'no chunks of an older build').toEqual([]);
    const unexpected = files.filter((f) => !/^(package\.json|README\.md|LICENSE|NOTICE|CHANGELOG\.md|docs\/.+\.md|dist\/.+|ansible\/.+\.yml)$/.test(f));
    expect(unexpected, 'tests, fixtures and build sources stay out').toEqual([]);
    expect(files.filter((f) => /\.(ts|tsx)$/.test(f))).toEqual([]);
  });

  it('installs offline into an empty prefix, adding nothing but itself', async () => {
    expect(installOutput).toMatch(/added 1 package/);
    const installed = path.join(prefix, 'lib', 'node_modules', pkg.name);
    await expect(fs.access(path.join(installed, 'node_modules'))).rejects.toThrow();
    expect((await fs.readlink(bin)).endsWith(path.join('dist', 'cli.cjs'))).toBe(true);
  });
});

describe('the installed command', () => {
  it('starts from its code caches: V8 takes both for the bundle installed beside them (made by this Node at the build)', async () => {
    const dist = path.join(prefix, 'lib', 'node_modules', pkg.name, 'dist');
    const probe = `const fs = require('fs'), vm = require('vm'); const file = process.argv[1]; const source = fs.readFileSync(file, 'utf8');
      for (const kind of ['wizard', 'commands']) { const script = new vm.Script(source, { filename: file, cachedData: fs.readFileSync(file.replace(/\\.js$/, '.' + kind + '.cache')) }); console.log(kind, script.cachedDataRejected ? 'rejected' : 'accepted'); }`;
    const result = await execa(process.execPath, ['-e', probe, path.join(dist, 'bulwark-main.js')]);
    expect(result.stdout.trim().split('\n')).toEqual(['wizard accepted', 'commands accepted']);
  });

  it('--help and --version (with the date of the country data)', async () => {
    const help = await execa(bin, ['--help']);
    expect(help.stdout).toContain('Usage: bulwark');
    expect(help.stdout).toMatch(/rollback/);
    const version = await execa(bin, ['--version']);
    expect(version.stdout.trim()).toMatch(new RegExp(`^${pkg.version.replaceAll('.', '\\.')} \\(country data of \\d{4}-\\d{2}-\\d{2}\\)$`));
  });

  it('audit and plan on a --root (the country data and its index from the package itself)', async () => {
    const root = await materializeFixture('issabel-centos7');
    const state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
    const answers = path.join(state, 'answers.json');
    await fs.writeFile(answers, JSON.stringify({ geoblock: { mode: 'allow', countries: ['GB'], ports: [{ port: 5060, proto: 'udp' }] } }));
    try {
      const audit = await execa(bin, ['audit', '--root', root, '--state-dir', state], { reject: false });
      expect(audit.stdout).toMatch(/Score: \d+\/100/);
      const plan = await execa(bin, ['plan', '--root', root, '--state-dir', state, '--answers', answers, '--no-color'], { reject: false });
      expect(plan.exitCode, plan.stderr).toBe(2); // changes planned
      expect(plan.stdout).toMatch(/change\(s\) planned/);
      expect(plan.stdout).toMatch(/bulwark-geo/); // the country sets were compiled
      expect(plan.stderr).not.toMatch(/indexing the country data/); // the shipped index was used
    } finally {
      await removeFixture(root);
      await fs.rm(state, { recursive: true, force: true });
    }
  });

  it('the wizard draws its first screen and leaves with q', async () => {
    const root = await materializeFixture('elastix-centos5');
    const state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-state-'));
    try {
      const command = [bin, '--root', root, '--state-dir', state].map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
      const wizard = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm', COLUMNS: '100', LINES: '30' } });
      let screen = '';
      wizard.stdout!.on('data', (chunk: Buffer) => (screen += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => wizard.once('exit', resolve));
      const deadline = Date.now() + 20_000;
      while (!screen.includes('Minimal exposure') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(screen).toContain('Minimal exposure');
      wizard.stdin!.write('q');
      expect(await exited).toBe(0);
    } finally {
      await removeFixture(root);
      await fs.rm(state, { recursive: true, force: true });
    }
  });

  it('on a Node too old for it: one line saying which version it needs, and that a box needs none with --host', async () => {
    // (Node 20 is what there is here: the launcher is made to see an older version number.)
    const launcher = await fs.realpath(bin);
    const old = await execa(process.execPath, ['-e', `Object.defineProperty(process.versions, 'node', { value: '18.19.1' }); require(${JSON.stringify(launcher)})`], { reject: false });
    expect(old.exitCode).toBe(1);
    const lines = old.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^bulwark: needs Node\.js 20\.19 or newer, this is 18\.19\.1 /);
    expect(lines[0]).toContain('--host root@BOX');
    // and the launcher parses as ES5: an old Node meets no syntax it does not know before that line
    const { transform } = await import('esbuild');
    await expect(transform(await fs.readFile(launcher, 'utf8'), { target: 'es5', loader: 'js' })).resolves.toBeDefined();
  });

  it('npx ./bulwark-X.tgz runs it too, offline, with an empty npm cache', async () => {
    const fresh = await fs.mkdtemp(path.join(work, 'npx-'));
    const result = await execa('npx', ['--yes', '--offline', `./${path.basename(tarball)}`, '--version'], { cwd: work, env: { ...npmEnv(), npm_config_cache: path.join(fresh, 'cache') } });
    expect(result.stdout.trim()).toMatch(new RegExp(`^${pkg.version.replaceAll('.', '\\.')} \\(country data`));
  });
});

import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Host } from '../../src/host.js';
import { SnapshotStore } from '../../snapshots/store.js';

let root: string;
let state: string;
let host: Host;
let store: SnapshotStore;

async function tree(): Promise<string[]> {
  const out: string[] = [];
  async function walk(dir: string): Promise<void> {
    for (const name of (await fs.readdir(dir)).sort()) {
      const full = path.join(dir, name);
      const stat = await fs.lstat(full);
      const rel = path.relative(root, full);
      if (stat.isSymbolicLink()) out.push(`${rel} -> ${await fs.readlink(full)} ${stat.uid}:${stat.gid}`);
      else if (stat.isDirectory()) {
        out.push(`${rel}/ ${(stat.mode & 0o7777).toString(8)}`);
        await walk(full);
      } else out.push(`${rel} ${(stat.mode & 0o7777).toString(8)} ${stat.uid}:${stat.gid} ${await fs.readFile(full, 'base64')}`);
    }
  }
  await walk(root);
  return out;
}

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-store-root-'));
  state = await fs.mkdtemp(path.join(os.tmpdir(), 'bulwark-store-state-'));
  await fs.mkdir(path.join(root, 'etc/app'), { recursive: true });
  await fs.writeFile(path.join(root, 'etc/app/main.conf'), 'listen = 0.0.0.0\n');
  await fs.chmod(path.join(root, 'etc/app/main.conf'), 0o640);
  await fs.writeFile(path.join(root, 'etc/app/binary.dat'), Buffer.from([0, 1, 2, 255, 10, 13]));
  await fs.symlink('main.conf', path.join(root, 'etc/app/current.conf'));
  host = new Host(root);
  store = new SnapshotStore(path.join(state, 'bulwark'));
});

afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
  await fs.rm(state, { recursive: true, force: true });
});

describe('SnapshotStore', () => {
  it('restores content, mode, symlinks and removes files and directories that did not exist', async () => {
    const before = await tree();
    const paths = ['/etc/app/main.conf', '/etc/app/binary.dat', '/etc/app/current.conf', '/etc/app/new/added.conf'];
    const manifest = await store.capture(host, paths, { step: 'exposure', label: 'test' });

    // Given every kind of change bulwark can make...
    await host.writeAtomic('/etc/app/main.conf', 'listen = 127.0.0.1\n');
    await fs.chmod(path.join(root, 'etc/app/main.conf'), 0o600);
    await host.writeAtomic('/etc/app/binary.dat', 'text now');
    await host.symlink('/etc/app/current.conf', '/elsewhere');
    const created = await host.writeAtomic('/etc/app/new/added.conf', 'new\n');
    await store.recordWritten(host, manifest, created);
    expect(await tree()).not.toEqual(before);

    // ...restore gives back the same tree, byte for byte.
    const report = await store.restore(host, manifest);
    expect(report.failed).toEqual([]);
    expect(await tree()).toEqual(before);

    // Restoring again changes nothing and reports nothing restored.
    const again = await store.restore(host, manifest);
    expect(again.restored).toEqual([]);
    expect(await tree()).toEqual(before);
  });

  it('keeps its files private: directories 0700, objects 0600, content-addressed once', async () => {
    await store.capture(host, ['/etc/app/main.conf'], { label: 'one' });
    await store.capture(host, ['/etc/app/main.conf'], { label: 'two' });
    expect((await fs.stat(store.dir)).mode & 0o777).toBe(0o700);
    const objects = await fs.readdir(path.join(store.dir, 'objects'));
    expect(objects).toHaveLength(1);
    expect((await fs.stat(path.join(store.dir, 'objects', objects[0]!))).mode & 0o777).toBe(0o600);
  });

  it('reports a file edited after bulwark wrote it', async () => {
    const manifest = await store.capture(host, ['/etc/app/main.conf'], { label: 'test' });
    await host.writeAtomic('/etc/app/main.conf', 'listen = 127.0.0.1\n');
    await store.recordWritten(host, manifest, []);
    expect(await store.drifted(host, manifest)).toEqual([]);
    await fs.appendFile(path.join(root, 'etc/app/main.conf'), '# edited by hand\n');
    expect(await store.drifted(host, manifest)).toEqual(['/etc/app/main.conf']);
  });

  it('lists snapshots newest first, even when taken within the same millisecond', async () => {
    const taken = [];
    for (let i = 0; i < 5; i++) taken.push((await store.capture(host, ['/etc/app/main.conf'], { label: `n${i}` })).id);
    expect((await store.list()).map((m) => m.id)).toEqual([...taken].reverse());
    expect(new Set(taken).size).toBe(5);
  });
});

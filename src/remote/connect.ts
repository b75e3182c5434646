// Remote mode's entry: `--host` and `--ssh-option` turned into an open connection, the box as a
// Host, its state directory, and the lock keeper — what Engine.open takes as `remote`.
import * as path from 'node:path';
import type { RemoteBox } from '../engine.js';
import { RemoteHost } from './host.js';
import { SshTransport } from './ssh.js';
import { RemoteStateFs, startLockKeeper } from './state-fs.js';
import { parseTarget } from './target.js';

export interface RemoteConnection {
  readonly box: RemoteBox;
  readonly transport: SshTransport;
  close(): Promise<void>;
}

export async function connectRemote(spec: string, sshOptions: readonly string[], stateDir: string): Promise<RemoteConnection> {
  const transport = new SshTransport(parseTarget(spec, sshOptions));
  try {
    const session = await transport.open();
    const host = new RemoteHost(transport, undefined, true);
    host.warmUp();
    const state = new RemoteStateFs(host);
    // The journal and the guard, which every command reads first, ride the first round trip.
    state.preread([path.posix.join(stateDir, 'session.json'), path.posix.join(stateDir, 'guard.json')]);
    const box: RemoteBox = {
      host,
      state,
      sshConnection: session.sshConnection,
      user: session.user,
      // The run's helper session owns the lock (no session of its own to open); a keeper otherwise.
      lockHolder: async () => {
        const lockFile = path.posix.join(stateDir, 'lock');
        return (await host.sessionLockOwner(lockFile)) ?? startLockKeeper(host, lockFile);
      },
      proveAccess: async (port) => {
        const result = await transport.freshExec(['printenv', 'SSH_CONNECTION'], { port, timeoutMs: 20_000 });
        const seen = result.stdout.toString('utf8').trim();
        return result.code === 0 && seen.split(' ').length === 4 ? seen : null;
      },
    };
    return {
      box,
      transport,
      close: async () => {
        host.close();
        await transport.close();
      },
    };
  } catch (error) {
    await transport.close();
    throw error;
  }
}

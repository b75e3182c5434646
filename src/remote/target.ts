// The box of remote mode, as the admin names it: `--host [USER@]HOST[:PORT]` or
// `ssh://USER@HOST:PORT`, and the OpenSSH options passed through with `--ssh-option KEY=VALUE`.
// Bad input is a UserError (exit 2) naming the flag and the accepted form.
import { UserError } from '../errors.js';

export interface RemoteTarget {
  readonly user: string | null;
  /** A name, an IPv4 address or an IPv6 address (without brackets). */
  readonly host: string;
  readonly port: number | null;
  /** `-o KEY=VALUE` options for ssh, in the order given. */
  readonly options: readonly string[];
}

const HOST_FORM = 'expected [USER@]HOST[:PORT] or ssh://USER@HOST:PORT, such as root@pbx.example.com:2222 or admin@[2001:db8::5]';

export function parseTarget(spec: string, sshOptions: readonly string[] = []): RemoteTarget {
  let rest = spec.trim();
  if (rest.startsWith('ssh://')) rest = rest.slice('ssh://'.length).replace(/\/$/, '');
  let user: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(user)) throw new UserError(`--host: "${spec}": the user name "${user}" is not valid; ${HOST_FORM}.`);
  }
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if ((rest.match(/:/g) ?? []).length > 1) {
    host = rest; // a bare IPv6 address: no port
  } else {
    const [name, port] = rest.split(':');
    host = name!;
    portText = port;
    if (rest.includes(':') && port === '') throw new UserError(`--host: "${spec}": the port is missing after ":"; ${HOST_FORM}.`);
  }
  if (!/^[A-Za-z0-9]([A-Za-z0-9.:_-]*[A-Za-z0-9])?$/.test(host)) throw new UserError(`--host: "${spec}": "${host}" is not a host name or address; ${HOST_FORM}.`);
  let port: number | null = null;
  if (portText !== undefined) {
    port = Number(portText);
    if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) throw new UserError(`--host: "${spec}": the port must be from 1 to 65535; ${HOST_FORM}.`);
  }
  return { user, host, port, options: sshOptions.map(parseSshOption) };
}

// Options that would take the connection out of bulwark's hands or let ssh ask for a password.
const REFUSED_OPTIONS = new Set(['controlmaster', 'controlpath', 'controlpersist', 'batchmode', 'localcommand', 'permitlocalcommand', 'remotecommand', 'proxyusefdpass']);

function parseSshOption(text: string): string {
  const match = /^([A-Za-z][A-Za-z0-9]*)=(.+)$/s.exec(text);
  if (!match || /[\r\n]/.test(text)) throw new UserError(`--ssh-option: "${text}": expected KEY=VALUE, such as IdentityFile=~/.ssh/pbx or ProxyJump=bastion.example.com.`);
  if (REFUSED_OPTIONS.has(match[1]!.toLowerCase())) throw new UserError(`--ssh-option: ${match[1]} is set by bulwark itself (one master connection, never a password prompt) and cannot be changed.`);
  return `${match[1]}=${match[2]}`;
}

/** How the box is named in messages: user@host:port. */
export function describeTarget(target: RemoteTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.user ? `${target.user}@` : ''}${host}${target.port ? `:${target.port}` : ''}`;
}

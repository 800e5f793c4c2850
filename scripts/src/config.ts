/**
 * Where the CLI talks to and where it keeps local state. Local state (pinned safety codes,
 * highest manifest versions seen, the session) is per relay and per user, so that two
 * accounts, or one name on two relays, never share pins.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from './errors';
import { serverUrl, userName } from './validate';

/** Relay used when neither `--server` nor `CARNET_SERVER` is given. */
export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

/** Options shared by every client command. */
export interface GlobalOptions {
  server?: string | undefined;
  user?: string | undefined;
}

/** The resolved target of a client command. */
export interface Target {
  /** Relay base URL, without trailing slash. */
  server: string;
  /** Account name, when one was given. */
  user: string | undefined;
  /** Root of the CLI's local state. */
  home: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** `CARNET_HOME`, else `$XDG_CONFIG_HOME/carnet`, else `~/.config/carnet`. */
export function carnetHome(env: Env): string {
  if (env.CARNET_HOME) return env.CARNET_HOME;
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg ? xdg : join(env.HOME ?? homedir(), '.config'), 'carnet');
}

/** Resolves `--server`/`--user` against `CARNET_SERVER`/`CARNET_USER`, validating both. */
export function resolveTarget(opts: GlobalOptions, env: Env): Target {
  const server = serverUrl(opts.server ?? (env.CARNET_SERVER || DEFAULT_SERVER));
  const rawUser = opts.user ?? (env.CARNET_USER || undefined);
  const user = rawUser === undefined ? undefined : userName(rawUser);
  return { server, user, home: carnetHome(env) };
}

/** The user of `target`, or a usage error saying how to give one. */
export function requireUser(target: Target): string {
  if (target.user === undefined) {
    throw new CliError('NO_USER', 'No user given: pass --user NAME or set CARNET_USER.');
  }
  return target.user;
}

/**
 * A directory name for a relay: scheme, host, port and path with anything outside
 * `[A-Za-z0-9.-]` replaced, e.g. `http_127.0.0.1_8080`.
 */
export function serverKey(server: string): string {
  const u = new URL(server);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const path = u.pathname === '/' ? '' : u.pathname;
  const raw = `${u.protocol.slice(0, -1)}_${u.hostname}_${port}${path}`;
  return raw.replace(/[^A-Za-z0-9.-]/g, '_');
}

/** The local state directory of `user` on `server`: `<home>/<serverKey>/<user>`. */
export function profileDir(target: Target, user: string): string {
  return join(target.home, serverKey(target.server), user);
}

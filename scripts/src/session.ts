/**
 * Opening an SDK client for a command: resolve the relay and the account, read the password,
 * then resume the session saved under CARNET_HOME (one Argon2id, no login round trip) or log
 * in afresh when there is none or it expired.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CarnetClient, FileLocalStore, isApiError, tempFileSpool } from './sdk';
import { optional, type Invocation } from './command';
import { profileDir, requireUser, resolveTarget, type Target } from './config';
import { readSecret } from './prompt';

/** A client bound to one account's local state. */
export interface Bound {
  client: CarnetClient;
  target: Target;
  user: string;
  /** `<CARNET_HOME>/<server>/<user>`: the SDK's state.json and the CLI's own files. */
  dir: string;
}

/**
 * The acting account: `--as`, else `--user` (except in commands where `--user` names someone
 * else, which pass `userIsSubject`), else `CARNET_USER`.
 */
export function target(inv: Invocation, userIsSubject = false): Target {
  const user = optional(inv, 'as') ?? (userIsSubject ? undefined : optional(inv, 'user'));
  const t = resolveTarget({ server: optional(inv, 'server'), user }, inv.io.env);
  inv.context.server = t.server;
  inv.context.user = t.user;
  return t;
}

/** A client for `user` on `t.server`, its state in a private directory (mode 700). */
export async function bind(t: Target, user: string): Promise<Bound> {
  const dir = profileDir(t, user);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // The state file holds a session token and sealed secrets: keep it to the user.
  await chmod(dir, 0o700);
  const store = new FileLocalStore(join(dir, 'state.json'));
  // Large documents are staged (as ciphertext) in the temp directory: constant memory.
  const client = new CarnetClient({ relayUrl: t.server, store, spool: tempFileSpool() });
  return { client, target: t, user, dir };
}

/** Reads the account password (CARNET_PASSWORD or a prompt without echo). */
export function password(inv: Invocation, user: string, confirm = false): Promise<string> {
  return readSecret(inv.io, {
    envVar: 'CARNET_PASSWORD',
    prompt: confirm ? `New password for ${user}: ` : `Password for ${user}: `,
    confirm,
    what: 'password',
  });
}

/**
 * A client with an open session: the saved one resumed with the password, or a fresh login
 * when none is saved or it expired. A wrong password fails as `BAD_PASSWORD` either way.
 */
export async function signedIn(inv: Invocation, userIsSubject = false): Promise<Bound> {
  const t = target(inv, userIsSubject);
  const user = requireUser(t);
  const b = await bind(t, user);
  const pw = await password(inv, user);
  try {
    await b.client.unlock({ password: pw });
  } catch (e) {
    if (!isApiError(e, 'UNAUTHENTICATED')) throw e;
    await b.client.login({ userName: user, password: pw });
  }
  return b;
}

/**
 * Test helpers: a relay over a fresh temp directory with an injectable clock, a small request
 * helper over `app.request()`, and builders for accounts and folders.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { createRelay, type CreateAppOptions, type RelayInstance } from '../src/app';
import type { AppEnv } from '../src/http/types';

/** A relay in a temp dir, with a clock tests can move. */
export interface TestRelay extends RelayInstance {
  dir: string;
  clock: { t: number };
  api: Api;
  /** Closes the database and removes the directory. */
  dispose(): void;
}

/** A fresh temp directory (removed by the caller). */
export function tempDir(prefix = 'carnet-relay-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Creates a relay in a fresh temp directory. */
export function testRelay(options: Partial<CreateAppOptions> = {}): TestRelay {
  const dir = options.dataDir ?? tempDir();
  const clock = { t: 1_750_000_000_000 };
  const instance = createRelay({ now: () => clock.t, ...options, dataDir: dir });
  return {
    ...instance,
    dir,
    clock,
    api: new Api(instance.app),
    dispose() {
      instance.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A parsed answer. */
export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** Options of one request. */
export interface Req {
  token?: string | undefined;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
}

/** Thin client over `app.request()`. */
export class Api {
  constructor(readonly app: Hono<AppEnv>) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    r: Req = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { ...r.headers };
    if (r.token !== undefined) headers.authorization = `Bearer ${r.token}`;
    let body = r.body;
    if (r.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(r.json);
    }
    const res = await this.app.request(path.startsWith('/') ? path : `/api/v1/${path}`, {
      method,
      headers,
      body: body ?? null,
    });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '')
      parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = Record<string, unknown>>(path: string, token?: string): Promise<Answer<T>> {
    return this.call<T>('GET', path, { token });
  }
  post<T = Record<string, unknown>>(
    path: string,
    json: unknown,
    token?: string,
  ): Promise<Answer<T>> {
    return this.call<T>('POST', path, { json, token });
  }
  put<T = Record<string, unknown>>(
    path: string,
    json: unknown,
    token?: string,
  ): Promise<Answer<T>> {
    return this.call<T>('PUT', path, { json, token });
  }
  delete(path: string, token?: string): Promise<Answer> {
    return this.call('DELETE', path, { token });
  }
}

/** base64url of random bytes. */
export const rnd = (n: number): string => randomBytes(n).toString('base64url');
/** A fresh 22-character id. */
export const newId = (): string => rnd(16);
/** base64url of a UTF-8 string. */
export const b64 = (s: string): string => Buffer.from(s).toString('base64url');
/** Standard base64 SHA-256, as `Content-Digest` wants it. */
export const digestHeader = (data: Uint8Array): string =>
  `sha-256=:${createHash('sha256').update(data).digest('base64')}:`;

/** KDF parameters as a client would send them. */
export const kdf = () => ({
  algorithm: 'argon2id',
  memoryKiB: 65536,
  iterations: 3,
  parallelism: 1,
  salt: rnd(16),
});

/** A registered account with its secrets and a session token. */
export interface TestAccount {
  accountId: string;
  userName: string;
  authKey: string;
  recoveryAuthKey: string;
  token: string;
}

let counter = 0;

/** Registers an account (role practitioner unless given). */
export async function register(
  api: Api,
  role = 'practitioner',
  userName?: string,
): Promise<TestAccount> {
  const a = {
    accountId: newId(),
    userName:
      userName ??
      `user${++counter}.${rnd(4)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, 'x')}`,
    authKey: rnd(32),
    recoveryAuthKey: rnd(32),
  };
  const r = await api.post<{ session: { token: string } }>('accounts', {
    accountId: a.accountId,
    userName: a.userName,
    role,
    keyBundle: b64(`bundle of ${a.userName}`),
    authKey: a.authKey,
    kdf: kdf(),
    keyring: b64(`keyring of ${a.userName}`),
    recovery: { authKey: a.recoveryAuthKey, keyring: b64(`recovery keyring of ${a.userName}`) },
  });
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${JSON.stringify(r.body)}`);
  return { ...a, token: r.body.session.token };
}

/** Creates a folder owned by `owner` with the given extra members (all with wraps at epoch 1). */
export async function createFolder(
  api: Api,
  owner: TestAccount,
  others: { account: TestAccount; role: 'editor' | 'reader' }[] = [],
): Promise<string> {
  const folderId = newId();
  const members = [
    { accountId: owner.accountId, role: 'owner' },
    ...others.map((o) => ({ accountId: o.account.accountId, role: o.role })),
  ];
  const r = await api.post(
    'folders',
    {
      folderId,
      seq: 1,
      epoch: 1,
      manifest: b64('manifest 1'),
      members,
      wraps: members.map((m) => ({ accountId: m.accountId, epoch: 1, wrap: rnd(80) })),
      profile: b64('profile 1'),
    },
    owner.token,
  );
  if (r.status !== 201)
    throw new Error(`create folder failed: ${r.status} ${JSON.stringify(r.body)}`);
  return folderId;
}

/** A record version body. */
export const versionBody = (version: number, epoch = 1, blobId?: string) => ({
  version,
  epoch,
  header: rnd(120),
  signed: rnd(100),
  dataKey: rnd(72),
  ...(blobId === undefined ? {} : { blobId }),
});

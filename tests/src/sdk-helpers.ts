/**
 * Helpers for the SDK scenario tests: generated file streams (never held in memory), stream
 * digests, a hostile `fetch` that rewrites the relay's answers, direct database access to
 * tamper with stored bytes, and reconstruction of every key an account holds.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { openDatabase, type Db } from '@carnet/server';
import { expect } from 'vitest';
import { fromBase64url, toBase64url } from '@carnet/shared/core';
import { unwrapFolderKeyAsMember } from '@carnet/shared/core';
import type { AccountId, FolderId } from '@carnet/shared/core';
import { deriveLoginKeys, type KdfParams } from '@carnet/shared/core';
import { openKeyringWithPassword } from '@carnet/shared/core';
import { isCarnetError, type FetchLike } from '@carnet/shared/client';

/** A deterministic pseudo-random stream of `size` bytes, produced 1 MiB at a time. */
export function generatedStream(
  size: number,
  seed: number,
): { body: ReadableStream<Uint8Array>; sha256: Promise<string> } {
  const hash = createHash('sha256');
  let left = size;
  let x = seed >>> 0 || 1;
  let resolve!: (hex: string) => void;
  const sha256 = new Promise<string>((r) => (resolve = r));
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (left === 0) {
        resolve(hash.digest('hex'));
        c.close();
        return;
      }
      const n = Math.min(left, 1 << 20);
      const words = new Uint32Array(Math.ceil(n / 4));
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        words[i] = x >>> 0;
      }
      const chunk = new Uint8Array(words.buffer, 0, n);
      hash.update(chunk);
      left -= n;
      c.enqueue(chunk);
    },
  });
  return { body, sha256 };
}

/** SHA-256 (hex) and length of a stream, consumed chunk by chunk. */
export async function digestStream(
  body: ReadableStream<Uint8Array>,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    size += value.length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Rewrites a JSON answer: `(method, path, body) → new body` (or the same). */
export type Rewrite = (method: string, path: string, body: unknown) => unknown;

/**
 * A `fetch` in front of the real relay that behaves like a malicious relay: while `rewrite` is
 * set, JSON answers pass through it. `seen` records every JSON answer (to replay later).
 */
export function hostileFetch(): {
  fetch: FetchLike;
  rewrite: Rewrite | undefined;
  seen: { method: string; path: string; body: unknown }[];
} {
  const state: {
    fetch: FetchLike;
    rewrite: Rewrite | undefined;
    seen: { method: string; path: string; body: unknown }[];
  } = {
    rewrite: undefined,
    seen: [],
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (!(res.headers.get('content-type') ?? '').includes('application/json')) return res;
      const url = new URL(input);
      const path = url.pathname.replace(/^\/api\/v1/, '') + url.search;
      const method = init.method ?? 'GET';
      const body: unknown = await res.json();
      state.seen.push({ method, path, body: structuredClone(body) });
      const out = state.rewrite ? state.rewrite(method, path, body) : body;
      return new Response(JSON.stringify(out), {
        status: res.status,
        headers: { 'content-type': 'application/json' },
      });
    },
  };
  return state;
}

/** Opens the relay's database next to the running relay (WAL allows it), for tampering. */
export function relayDb(dataDir: string): Db {
  return openDatabase(join(dataDir, 'carnet.db'));
}

/** A copy of `bytes` with one bit flipped, as a Buffer (what SQLite binds as a BLOB). */
export function flipped(bytes: Uint8Array, at: number): Buffer {
  const out = Buffer.from(bytes);
  out[at] = (out[at] as number) ^ 0x01;
  return out;
}

/**
 * Every secret key an account holds (and, given a folder, its keys for that folder), rebuilt the way its client does (password →
 * keyring → member wraps): its identity seed, encryption key, account key and the folder key
 * of every epoch it has a wrap for. Used to prove that a removed member can open nothing new.
 */
export async function heldKeys(
  relayUrl: string,
  userName: string,
  password: string,
  folderId?: FolderId,
): Promise<{ accountId: AccountId; keys: Uint8Array[]; folderKeyEpochs: number[] }> {
  const api = `${relayUrl}/api/v1`;
  const post = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(api + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const pre = (await post('/auth/prelogin', { userName })).kdf as Record<string, unknown>;
  const kdf: KdfParams = {
    alg: 'argon2id',
    memoryKiB: pre.memoryKiB as number,
    iterations: pre.iterations as number,
    parallelism: pre.parallelism as number,
    salt: fromBase64url(pre.salt as string),
  };
  const { authKey, keyringKey } = await deriveLoginKeys(password, kdf);
  const login = await post('/auth/login', { userName, authKey: toBase64url(authKey) });
  const accountId = login.accountId as AccountId;
  const secrets = await openKeyringWithPassword(
    fromBase64url(login.keyring as string),
    keyringKey,
    accountId,
  );
  const keys: Uint8Array[] = [
    secrets.identityPrivateKey,
    secrets.encryptionPrivateKey,
    secrets.accountKey,
  ];
  const folderKeyEpochs: number[] = [];
  if (folderId === undefined) return { accountId, keys, folderKeyEpochs };
  const token = (login.session as { token: string }).token;
  const res = await fetch(`${api}/folders/${folderId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`folder: ${res.status}`);
  const folder = (await res.json()) as { wraps: { epoch: number; wrap: string }[] };
  for (const w of folder.wraps) {
    keys.push(
      await unwrapFolderKeyAsMember(secrets.encryptionPrivateKey, fromBase64url(w.wrap), {
        folderId,
        epoch: w.epoch,
        accountId,
      }),
    );
    folderKeyEpochs.push(w.epoch);
  }
  return { accountId, keys, folderKeyEpochs };
}

/** Expects `p` to reject with a CarnetError of `code` (the message is shown on failure). */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isCarnetError(e) ? e.code : e, isCarnetError(e) ? e.message : undefined).toBe(code);
}

/** Replaces the caller's wraps of `folderId` in a folder answer or a folder list. */
export function swapWraps(
  body: unknown,
  folderId: string,
  wraps: { epoch: number; wrap: string }[],
): unknown {
  const swap = (f: Record<string, unknown>): Record<string, unknown> =>
    f.folderId === folderId ? { ...f, wraps } : f;
  const b = body as Record<string, unknown>;
  if (Array.isArray(b.folders))
    return { ...b, folders: (b.folders as Record<string, unknown>[]).map(swap) };
  return swap(b);
}

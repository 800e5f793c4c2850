/**
 * The client's local state, behind one small interface so that the same SDK runs with a file
 * (CLI), IndexedDB (web app) or memory (tests). The SDK keeps here what must survive between
 * sessions because it is what lets it detect a lying relay: pinned safety codes, high-water
 * marks, the last KDF parameters seen; plus the session token and the secrets of invites it
 * issued.
 *
 * Values are strings (JSON): every backend can store them and they diff well in a text file.
 */
import { CarnetError } from '../errors';
import type { AccountId } from '../ids';
import type { HighWaterMark, HighWaterStore } from '../high-water';
import type { PinStore } from '../pinning';

/** A string key-value store owned by one device. Implementations must be durable on resolve. */
export interface LocalStore {
  /** The value of `key`, if any. */
  get(key: string): Promise<string | undefined>;
  /** Sets `key`; durable once the promise resolves. */
  set(key: string, value: string): Promise<void>;
  /** Removes `key` (no error if absent). */
  delete(key: string): Promise<void>;
}

/** A {@link LocalStore} in memory: tests, and clients that keep nothing between runs. */
export class MemoryLocalStore implements LocalStore {
  readonly #values = new Map<string, string>();

  /** {@inheritDoc LocalStore.get} */
  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.#values.get(key));
  }

  /** {@inheritDoc LocalStore.set} */
  set(key: string, value: string): Promise<void> {
    this.#values.set(key, value);
    return Promise.resolve();
  }

  /** {@inheritDoc LocalStore.delete} */
  delete(key: string): Promise<void> {
    this.#values.delete(key);
    return Promise.resolve();
  }

  /** Every key, sorted (tests inspect what was written). */
  keys(): string[] {
    return [...this.#values.keys()].sort();
  }
}

/** Key of the saved session (one per store: a store belongs to one device and relay). */
export const SESSION_KEY = 'session';

/** Key of the last KDF parameters seen for a user name (known before the account id is). */
export function kdfKey(userName: string): string {
  return `kdf/${userName}`;
}

/** Prefix of everything kept on behalf of one account, so accounts sharing a store never mix. */
export function accountPrefix(accountId: AccountId): string {
  return `account/${accountId}/`;
}

/** The pins of one account, as the core's {@link PinStore}. */
export function pinStoreFor(store: LocalStore, accountId: AccountId): PinStore {
  const prefix = `${accountPrefix(accountId)}pin/`;
  return {
    get: (id) => store.get(prefix + id),
    set: (id, code) => store.set(prefix + id, code),
  };
}

/** The high-water marks of one account, as the core's {@link HighWaterStore}. */
export function highWaterStoreFor(store: LocalStore, accountId: AccountId): HighWaterStore {
  const prefix = `${accountPrefix(accountId)}hw/`;
  return {
    async get(key): Promise<HighWaterMark | undefined> {
      const raw = await store.get(prefix + key);
      if (raw === undefined) return undefined;
      const v = parseJson(raw) as Partial<HighWaterMark> | undefined;
      // A damaged mark must not read as "never seen": that would re-open the rollback window.
      if (typeof v?.seq !== 'number' || typeof v.hash !== 'string') throw corruptStore();
      return { seq: v.seq, hash: v.hash };
    },
    set: (key, mark) => store.set(prefix + key, JSON.stringify({ seq: mark.seq, hash: mark.hash })),
  };
}

/** Parses a stored JSON value; `undefined` if it is not JSON. */
export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** The error for local state that does not parse: never silently reset a security mark. */
export function corruptStore(): CarnetError {
  return new CarnetError('FORMAT', 'The local state store is damaged.');
}

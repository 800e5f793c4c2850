/**
 * The state every part of the SDK shares: the relay API, the local store and the logged-in
 * account's keys. Internal to the SDK.
 */
import type { AccountSecrets, KeyBundle, Role } from '../account';
import type { HighWaterStore } from '../high-water';
import type { AccountId } from '../ids';
import type { PinStore } from '../pinning';
import { RelayApi } from './api';
import { notLoggedIn, type FetchLike } from './http';
import { accountPrefix, highWaterStoreFor, pinStoreFor, type LocalStore } from './store';

/** The logged-in account, keys in memory. */
export interface Session {
  accountId: AccountId;
  userName: string;
  role: Role;
  secrets: AccountSecrets;
  bundle: KeyBundle;
  safetyCode: string;
}

/** Shared SDK state. */
export class Core {
  readonly api: RelayApi;
  readonly store: LocalStore;
  readonly appUrl: string;
  readonly now: () => number;
  #session: Session | undefined;

  constructor(o: {
    relayUrl: string;
    store: LocalStore;
    fetch: FetchLike;
    appUrl: string;
    now: () => number;
  }) {
    this.api = new RelayApi(o.relayUrl, o.fetch);
    this.store = o.store;
    this.appUrl = o.appUrl.replace(/\/+$/, '');
    this.now = o.now;
  }

  /** The session, or `UNAUTHENTICATED` if there is none. */
  get session(): Session {
    if (this.#session === undefined) throw notLoggedIn();
    return this.#session;
  }

  /** Throws `UNAUTHENTICATED` unless logged in (checked before any request is sent). */
  assertLoggedIn(): void {
    if (this.#session === undefined) throw notLoggedIn();
  }

  /** The session if any. */
  get maybeSession(): Session | undefined {
    return this.#session;
  }

  /** Installs (or, with `undefined`, wipes) the session. */
  setSession(s: Session | undefined, token: string | undefined): void {
    const old = this.#session;
    if (old !== undefined && old !== s) wipe(old.secrets);
    this.#session = s;
    this.api.http.token = token;
  }

  /** My pins. */
  get pins(): PinStore {
    return pinStoreFor(this.store, this.session.accountId);
  }

  /** My high-water marks. */
  get marks(): HighWaterStore {
    return highWaterStoreFor(this.store, this.session.accountId);
  }

  /** A key in my namespace of the local store. */
  key(suffix: string): string {
    return accountPrefix(this.session.accountId) + suffix;
  }
}

/** Zeroes the private keys held in memory (best effort: JS may have copied them). */
export function wipe(s: AccountSecrets): void {
  s.identityPrivateKey.fill(0);
  s.encryptionPrivateKey.fill(0);
  s.accountKey.fill(0);
}

/**
 * Folder and account deletion with relay-signed receipts (issue 5 §2).
 *
 * The relay signs each deletion receipt with its own Ed25519 key. The client pins that key the
 * first time it sees it (`GET /relay`, trust on first use, like a colleague's safety code) and
 * fetches it *before* asking for a deletion: a relay whose key changed is refused
 * (`KEY_CHANGED`) before anything is deleted, until the user compares the new fingerprint with
 * the operator's and calls {@link DeletionClient.acceptRelayKey}.
 */
import { equalBytes, fromBase64url, toBase64url } from '../bytes';
import { CarnetError, invalidArgument } from '../errors';
import { parseId, type AccountId, type FolderId } from '../ids';
import { assertKdfNotWeaker, deriveLoginKeys } from '../kdf';
import { asKey, type IdentityPublicKey } from '../keys';
import { verifyDeletionReceipt, type DeletionReceiptFields } from '../receipt';
import { relayKeyFingerprint } from '../relay-key';
import type { ClientParts } from './client';
import { isApiError } from './http';
import { assertOwner } from './publish';
import { accountPrefix, corruptStore, kdfKey, parseJson, SESSION_KEY } from './store';
import type { FolderState } from './folder-state';
import { arr, bytes, id, int, kdfFromWire, obj, str, wireFolder, type WireFolder } from './wire';

/** A verified deletion receipt. */
export interface DeletionResult {
  /** The signed receipt, as the relay sent it (keep it: `carnet receipt verify`). */
  receipt: Uint8Array;
  /** What it says: subject, who asked, when, how much was erased. */
  fields: DeletionReceiptFields;
  /** The relay key it verified under (pinned). */
  relayKey: IdentityPublicKey;
  /** That key's fingerprint, to compare with the one the operator publishes. */
  fingerprint: string;
}

/** A folder deleted by its owner while I was a member of it. */
export interface DeletedFolder {
  folderId: FolderId;
  /** When the relay deleted it (ms). */
  deletedAt: number;
}

/** The relay's signing key and how it compares with the pinned one. */
export interface RelayKeyInfo {
  key: IdentityPublicKey;
  fingerprint: string;
  /** `first-use`: pinned just now; `unchanged`: matches the pin; `accepted`: re-pinned. */
  pin: 'first-use' | 'unchanged' | 'accepted';
}

/** Store key of the pinned relay key. A store belongs to one device and one relay. */
export const RELAY_KEY_PIN = 'relay/signing-key';

interface PinnedRelayKey {
  key: string;
  fingerprint: string;
}

/** Folder and account deletion with relay-signed receipts (issue 5 §2). */
export class DeletionClient {
  constructor(protected readonly parts: ClientParts) {}

  /**
   * Deletes a folder I own. Resolves with the relay's receipt, verified under its pinned key
   * and checked to be about this folder and this account.
   */
  async deleteFolder(folderId: string): Promise<DeletionResult> {
    const core = this.parts.core;
    const fid = parseId<FolderId>(folderId, 'folderId');
    assertOwner(core, await this.parts.loader.load(fid));
    const relay = await this.relayKey();
    const answer = obj(
      await core.api.http.json('DELETE', `/folders/${encodeURIComponent(fid)}`),
      'deletion',
    );
    // The folder's keys and history cached for this session are of no use any more.
    this.parts.loader.clear();
    return this.#checked(bytes(answer, 'receipt'), relay, {
      subject: 'folder',
      subjectId: fid,
      requestedBy: core.session.accountId,
    });
  }

  /**
   * Deletes my account and everything it owns on the relay (re-authenticating with the
   * password: `BAD_PASSWORD` if wrong), then forgets it on this device and logs out.
   * Resolves with the verified receipt.
   */
  async deleteAccount(o: { password: string }): Promise<DeletionResult> {
    if (typeof o.password !== 'string') throw invalidArgument('password', 'a string');
    const core = this.parts.core;
    const s = core.session;
    const me = await core.api.me();
    // The same checks as a login before the password is used with these parameters.
    const last = await core.store.get(kdfKey(s.userName));
    assertKdfNotWeaker(me.kdf, last === undefined ? undefined : kdfFromWire(parseJson(last)));
    const { authKey } = await deriveLoginKeys(o.password, me.kdf);
    const relay = await this.relayKey();
    let answer;
    try {
      answer = obj(
        await core.api.http.json('DELETE', '/accounts/me', { authKey: toBase64url(authKey) }),
        'deletion',
      );
    } catch (e) {
      if (isApiError(e, 'UNAUTHENTICATED')) {
        throw new CarnetError('BAD_PASSWORD', undefined, { cause: e });
      }
      throw e;
    }
    // The account is gone on the relay: forget it here whatever the receipt turns out to be.
    await this.#forget(s.accountId, s.userName);
    return this.#checked(bytes(answer, 'receipt'), relay, {
      subject: 'account',
      subjectId: s.accountId,
      requestedBy: s.accountId,
    });
  }

  /**
   * Verifies a receipt under `relayKey`, or under the pinned key of this relay (pinned now if
   * none was). `INTEGRITY` if the signature does not verify.
   */
  async verifyReceipt(receipt: Uint8Array, relayKey?: Uint8Array): Promise<DeletionReceiptFields> {
    const key =
      relayKey === undefined
        ? ((await this.pinnedRelayKey())?.key ?? (await this.relayKey()).key)
        : asKey<IdentityPublicKey>(relayKey);
    return verifyDeletionReceipt(key, receipt);
  }

  /**
   * Folders deleted by their owner while I was a member: a patient sees why a folder is no
   * longer listed. Empty from a relay that does not report deletions.
   */
  async deletedFolders(): Promise<DeletedFolder[]> {
    this.parts.core.assertLoggedIn();
    const o = obj(await this.parts.core.api.http.json('GET', '/folders?limit=1'), 'folders');
    if (o.deleted === undefined) return [];
    return arr(o, 'deleted').map((v) => {
      const d = obj(v, 'deleted');
      return { folderId: id<FolderId>(d, 'folderId'), deletedAt: int(d, 'deletedAt') };
    });
  }

  /**
   * Owner side of an account deletion: a member whose account was deleted is gone from the
   * relay's member list but still in my signed manifest, and the relay refuses any manifest
   * naming an account it no longer knows — so my next write to that folder would fail. This
   * removes each such member (a rotation to a new epoch, as {@link CarnetClient.removeMember}),
   * after the directory confirms that the account no longer exists. Resolves with what it
   * removed. Cheap when there is nothing to do: one folder listing.
   */
  async pruneDeletedMembers(
    only?: FolderId,
  ): Promise<{ folderId: FolderId; accountId: AccountId }[]> {
    const { core, loader } = this.parts;
    const me = core.session.accountId;
    const removed: { folderId: FolderId; accountId: AccountId }[] = [];
    if (only !== undefined) {
      const state = await loader.load(only);
      if (state.ownerId === me) removed.push(...(await this.#prune(state, undefined)));
      return removed;
    }
    for (const { wire, onRelay } of await this.#ownedFolders(me)) {
      // The listing's manifest, verified: no second fetch (and no second audited key fetch).
      const state = await loader.verify(wire);
      if (state.ownerId === me) removed.push(...(await this.#prune(state, onRelay)));
    }
    return removed;
  }

  /** Removes from one folder the members whose accounts no longer exist. */
  async #prune(
    state: FolderState,
    onRelay: ReadonlySet<string> | undefined,
  ): Promise<{ folderId: FolderId; accountId: AccountId }[]> {
    const { core, folders } = this.parts;
    const removed: { folderId: FolderId; accountId: AccountId }[] = [];
    for (const m of state.manifest.members) {
      if (m.accountId === core.session.accountId || onRelay?.has(m.accountId)) continue;
      try {
        await core.api.directoryById(m.accountId);
        continue; // Still exists: the relay's list is stale or lying; leave it to the owner.
      } catch (e) {
        if (!isApiError(e, 'NOT_FOUND')) throw e;
      }
      await folders.remove(state.folderId, m.accountId);
      removed.push({ folderId: state.folderId, accountId: m.accountId });
    }
    return removed;
  }

  /** Folders I own with the relay's member list of each (every page of `GET /folders`). */
  async #ownedFolders(me: AccountId): Promise<{ wire: WireFolder; onRelay: Set<string> }[]> {
    const out: { wire: WireFolder; onRelay: Set<string> }[] = [];
    let after = '';
    for (;;) {
      const q = after === '' ? '' : `&after=${encodeURIComponent(after)}`;
      const o = obj(
        await this.parts.core.api.http.json('GET', `/folders?limit=2000${q}`),
        'folders',
      );
      for (const v of arr(o, 'folders')) {
        const f = obj(v, 'folder');
        if (f.status !== 'member' || f.ownerId !== me) continue;
        const members = arr(f, 'members').map((m) => str(obj(m, 'member'), 'accountId'));
        out.push({ wire: wireFolder(v), onRelay: new Set(members) });
      }
      if (typeof o.next !== 'string' || o.next <= after) return out;
      after = o.next;
    }
  }

  /**
   * The relay's signing key, checked against the pin (pinned on first use). A different key
   * than the pinned one: `KEY_CHANGED`.
   */
  async relayKey(): Promise<RelayKeyInfo> {
    const served = await this.#served();
    const pinned = await this.pinnedRelayKey();
    if (pinned === undefined) {
      await this.#pin(served);
      return { ...served, pin: 'first-use' };
    }
    if (!equalBytes(pinned.key, served.key)) {
      throw new CarnetError(
        'KEY_CHANGED',
        `The relay's signing key changed: pinned ${pinned.fingerprint}, now ${served.fingerprint}. ` +
          'Compare the new fingerprint with the one its operator publishes before accepting it.',
      );
    }
    return { ...served, pin: 'unchanged' };
  }

  /** Re-pins the relay's key after its fingerprint was compared out of band. */
  async acceptRelayKey(fingerprint: string): Promise<RelayKeyInfo> {
    const served = await this.#served();
    if (fingerprint.replace(/\s+/g, '') !== served.fingerprint.replace(/\s+/g, '')) {
      throw new CarnetError(
        'KEY_UNVERIFIED',
        `The relay's signing key has fingerprint ${served.fingerprint}, not the one given.`,
      );
    }
    await this.#pin(served);
    return { ...served, pin: 'accepted' };
  }

  /** The pinned relay key, if any (no network). */
  async pinnedRelayKey(): Promise<{ key: IdentityPublicKey; fingerprint: string } | undefined> {
    const raw = await this.parts.core.store.get(RELAY_KEY_PIN);
    if (raw === undefined) return undefined;
    const v = parseJson(raw) as Partial<PinnedRelayKey> | undefined;
    if (typeof v?.key !== 'string' || typeof v.fingerprint !== 'string') throw corruptStore();
    let key: Uint8Array;
    try {
      key = fromBase64url(v.key);
    } catch {
      throw corruptStore();
    }
    if (key.length !== 32) throw corruptStore();
    return { key: asKey<IdentityPublicKey>(key), fingerprint: v.fingerprint };
  }

  async #served(): Promise<{ key: IdentityPublicKey; fingerprint: string }> {
    const o = obj(await this.parts.core.api.http.json('GET', '/relay'), 'relay');
    const raw = bytes(o, 'signingKey');
    if (raw.length !== 32) throw new CarnetError('FORMAT', "The relay's signing key is malformed.");
    const key = asKey<IdentityPublicKey>(raw);
    const fingerprint = relayKeyFingerprint(key);
    // The fingerprint is computed here; the relay's own is only checked for consistency.
    if (str(o, 'fingerprint') !== fingerprint) {
      throw new CarnetError('FORMAT', "The relay's key fingerprint does not match its key.");
    }
    return { key, fingerprint };
  }

  async #pin(k: { key: IdentityPublicKey; fingerprint: string }): Promise<void> {
    const v: PinnedRelayKey = { key: toBase64url(k.key), fingerprint: k.fingerprint };
    await this.parts.core.store.set(RELAY_KEY_PIN, JSON.stringify(v));
  }

  async #checked(
    receipt: Uint8Array,
    relay: { key: IdentityPublicKey; fingerprint: string },
    expected: { subject: 'folder' | 'account'; subjectId: string; requestedBy: AccountId },
  ): Promise<DeletionResult> {
    let fields: DeletionReceiptFields;
    try {
      fields = await verifyDeletionReceipt(relay.key, receipt, expected);
    } catch (e) {
      if (!(e instanceof CarnetError)) throw e;
      throw new CarnetError(
        e.code,
        `The ${expected.subject} was deleted, but the relay's receipt does not check out ` +
          `(${e.message})`,
        { cause: e },
      );
    }
    return { receipt, fields, relayKey: relay.key, fingerprint: relay.fingerprint };
  }

  /**
   * Forgets a deleted account on this device: its saved session, its KDF parameters and, where
   * the store can list its keys, everything under the account's prefix (pins, high-water
   * marks, invite secrets). Then logs out in memory.
   */
  async #forget(accountId: AccountId, userName: string): Promise<void> {
    const { core, loader, contacts } = this.parts;
    const store = core.store as typeof core.store & { keys?: () => string[] };
    await store.delete(SESSION_KEY);
    await store.delete(kdfKey(userName));
    if (typeof store.keys === 'function') {
      const prefix = accountPrefix(accountId);
      for (const k of store.keys()) if (k.startsWith(prefix)) await store.delete(k);
    }
    core.setSession(undefined, undefined);
    loader.clear();
    contacts.clear();
  }
}

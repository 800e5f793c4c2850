/**
 * Loading a folder from the relay and verifying it: the owner's manifest signature under the
 * owner's pinned key, the hash chain of manifests, the high-water mark (`ROLLBACK`), my own
 * membership in the *signed* manifest, and my folder keys (one symmetric unwrap per folder once
 * its key was re-sealed under my account key; lineage for older epochs).
 */
import { fromBase64url, toBase64url } from '../bytes';
import { CarnetError } from '../errors';
import {
  checkFolderKey,
  openFolderKeyForAccount,
  sealFolderKeyForAccount,
  unwrapFolderKeyAsMember,
  walkLineage,
} from '../folder';
import { manifestMarkKey } from '../high-water';
import type { AccountId, FolderId } from '../ids';
import type { FolderKey, IdentityPublicKey } from '../keys';
import {
  acceptManifest,
  manifestHash,
  verifyManifestChain,
  type ManifestBody,
  type ManifestMember,
} from '../manifest';
import { fromHex } from '../bytes';
import type { Contacts } from './contacts';
import type { Core } from './core';
import type { WireFolder, WireManifest } from './wire';

/** A folder whose manifest verified and of which I am a signed member. */
export interface FolderState {
  folderId: FolderId;
  ownerId: AccountId;
  ownerKey: IdentityPublicKey;
  /** The latest manifest, verified. */
  manifest: ManifestBody;
  manifestBytes: Uint8Array;
  /** My entry in the signed manifest. */
  me: ManifestMember;
  /** The relay's folder record this state was built from (wraps, lineage, profile). */
  wire: WireFolder;
}

/** The verified chain of a folder's manifests, oldest first. */
interface History {
  bodies: ManifestBody[];
  last: Uint8Array;
}

/** Loads and verifies folders; caches manifest histories and opened keys for the session. */
export class FolderLoader {
  readonly #histories = new Map<FolderId, History>();
  readonly #keys = new Map<string, FolderKey>();

  constructor(
    private readonly core: Core,
    private readonly contacts: Contacts,
  ) {}

  /** Forgets everything cached (on logout). */
  clear(): void {
    for (const k of this.#keys.values()) k.fill(0);
    this.#keys.clear();
    this.#histories.clear();
  }

  /** Fetches and verifies one folder. A pending invitation is `NOT_FOUND` from the relay. */
  async load(folderId: FolderId): Promise<FolderState> {
    this.core.assertLoggedIn();
    const wire = await this.core.api.getFolder(folderId);
    if (wire.folderId !== folderId) throw new CarnetError('CONTEXT_MISMATCH');
    return this.verify(wire);
  }

  /**
   * Verifies a folder as the relay listed it. The owner's signature, the chain from the last
   * manifest this device saw, and the high-water mark are all checked before anything in it is
   * used.
   */
  async verify(wire: WireFolder): Promise<FolderState> {
    const served = wire.manifest;
    if (wire.status !== 'member' || served === undefined) {
      throw new CarnetError('ACL_UNSIGNED', 'This folder is not shared with you yet.');
    }
    const ownerKey = await this.ownerKey(wire.ownerId);
    const expected = { folderId: wire.folderId, ownerId: wire.ownerId };
    await this.checkChainFromMark(wire.folderId, ownerKey, served);
    // Signature, then high-water mark (`ROLLBACK` for an older or forked manifest).
    const manifest = await acceptManifest(this.core.marks, ownerKey, served.data, expected);
    if (manifest.seq !== served.seq || manifest.epoch !== served.epoch) {
      throw new CarnetError('CONTEXT_MISMATCH');
    }
    const me = manifest.members.find((m) => m.accountId === this.core.session.accountId);
    if (me === undefined) {
      throw new CarnetError(
        'ACL_UNSIGNED',
        'You are not a member of this folder in its signed manifest.',
      );
    }
    return {
      folderId: wire.folderId,
      ownerId: wire.ownerId,
      ownerKey,
      manifest,
      manifestBytes: served.data,
      me,
      wire,
    };
  }

  /** Every manifest of the folder, verified as one chain from seq 1 to the state's manifest. */
  async history(state: FolderState): Promise<ManifestBody[]> {
    const after = this.#histories.get(state.folderId)?.bodies.at(-1)?.seq ?? 0;
    if (after < state.manifest.seq) {
      await this.extendHistory(state, await this.core.api.manifests(state.folderId, after));
    }
    return this.historyUpTo(state);
  }

  /**
   * Extends the cached history with manifests fetched in bulk (every stored manifest of the
   * folder, or those after the cached ones), verified exactly as {@link history} verifies
   * what it fetches itself.
   */
  async primeHistory(state: FolderState, served: readonly WireManifest[]): Promise<void> {
    const after = this.#histories.get(state.folderId)?.bodies.at(-1)?.seq ?? 0;
    if (after >= state.manifest.seq) return;
    await this.extendHistory(
      state,
      served.filter((m) => m.seq > after),
    );
  }

  private async extendHistory(state: FolderState, fresh: readonly WireManifest[]): Promise<void> {
    const cached = this.#histories.get(state.folderId);
    const after = cached?.bodies.at(-1)?.seq ?? 0;
    if (fresh.length === 0) {
      throw new CarnetError('RECORD_MISSING', 'The folder history is missing manifests.');
    }
    const bodies = await verifyManifestChain(
      state.ownerKey,
      fresh.map((m) => m.data),
      {
        folderId: state.folderId,
        ownerId: state.ownerId,
        ...(cached ? { anchor: { seq: after, hash: manifestHash(cached.last) } } : {}),
      },
    );
    if (bodies[0]?.seq !== after + 1) throw new CarnetError('RECORD_MISSING');
    const all = [...(cached?.bodies ?? []), ...bodies];
    this.#histories.set(state.folderId, { bodies: all, last: fresh.at(-1)!.data });
  }

  private historyUpTo(state: FolderState): ManifestBody[] {
    const target = state.manifest.seq;
    const h = this.#histories.get(state.folderId);
    const at = h?.bodies.find((b) => b.seq === target);
    // The chain must pass through the very manifest we verified (no fork).
    if (
      h === undefined ||
      at === undefined ||
      toBase64url(manifestHash(state.manifestBytes)) !== toBase64url(hashOf(h, target))
    ) {
      throw new CarnetError('ROLLBACK', 'The relay served a forked folder history.');
    }
    return h.bodies.filter((b) => b.seq <= target);
  }

  /** The folder key of the current epoch. */
  async currentKey(state: FolderState): Promise<FolderKey> {
    return this.keyFor(state, state.manifest.epoch);
  }

  /** The folder key of `epoch` (current, or older through the lineage). */
  async keyFor(state: FolderState, epoch: number): Promise<FolderKey> {
    const current = state.manifest.epoch;
    if (epoch > current) throw new CarnetError('CONTEXT_MISMATCH');
    const hit = this.#keys.get(keyId(state.folderId, epoch));
    if (hit !== undefined) return hit;
    const top = await this.openCurrent(state);
    if (epoch === current) return top;
    const links = new Map(state.wire.lineage.map((l) => [l.epoch, l.data]));
    const keys = await walkLineage(top, current, epoch, state.folderId, (e) => links.get(e));
    for (const [e, k] of keys) this.#keys.set(keyId(state.folderId, e), k);
    return keys.get(epoch)!;
  }

  /**
   * Keeps a folder key I just created or received, sealed under my account key. It is not
   * used from memory: the next use opens it and checks it against the signed manifest.
   */
  async remember(folderId: FolderId, epoch: number, fk: FolderKey): Promise<void> {
    const { accountKey } = this.core.session.secrets;
    const sealed = sealFolderKeyForAccount(accountKey, fk, folderId, epoch);
    await this.core.store.set(this.core.key(`fk/${folderId}/${epoch}`), toBase64url(sealed));
  }

  /**
   * The key of the current epoch: from the copy sealed under my account key (symmetric), else
   * from my member wrap (HPKE, once), which is then re-sealed for next time.
   */
  private async openCurrent(state: FolderState): Promise<FolderKey> {
    const { folderId } = state;
    const epoch = state.manifest.epoch;
    const { accountKey, encryptionPrivateKey } = this.core.session.secrets;
    const local = await this.core.store.get(this.core.key(`fk/${folderId}/${epoch}`));
    if (local !== undefined) {
      const fk = openFolderKeyForAccount(accountKey, fromBase64url(local), folderId, epoch);
      // A key from an invite is kept here too: it must be the one the owner signed for.
      checkFolderKey(fk, folderId, epoch, state.manifest.folderKeyCommitment);
      this.#keys.set(keyId(folderId, epoch), fk);
      return fk;
    }
    const wrap = state.wire.wraps.find((w) => w.epoch === epoch);
    if (wrap === undefined) {
      throw new CarnetError('RECORD_MISSING', 'Your key for this folder is missing.');
    }
    const fk = await unwrapFolderKeyAsMember(encryptionPrivateKey, wrap.wrap, {
      folderId,
      epoch,
      accountId: this.core.session.accountId,
    });
    // HPKE does not authenticate the sender: only the owner-signed commitment says this is
    // the folder's key and not one the relay wrapped to me.
    checkFolderKey(fk, folderId, epoch, state.manifest.folderKeyCommitment);
    await this.remember(folderId, epoch, fk);
    this.#keys.set(keyId(folderId, epoch), fk);
    return fk;
  }

  private async ownerKey(ownerId: AccountId): Promise<IdentityPublicKey> {
    const s = this.core.session;
    if (ownerId === s.accountId) return s.bundle.identityPublicKey;
    return (await this.contacts.get(ownerId)).bundle.identityPublicKey;
  }

  /**
   * A manifest newer than the last one this device accepted must link back to it through the
   * relay's stored chain (`ROLLBACK` for a fork, `RECORD_MISSING` for a gap).
   */
  private async checkChainFromMark(
    folderId: FolderId,
    ownerKey: IdentityPublicKey,
    served: WireManifest,
  ): Promise<void> {
    const mark = await this.core.marks.get(manifestMarkKey(folderId));
    if (mark !== undefined && served.seq > mark.seq) {
      const fresh = await this.core.api.manifests(folderId, mark.seq);
      const upTo = fresh.filter((m) => m.seq <= served.seq);
      if (upTo.length === 0) {
        throw new CarnetError('RECORD_MISSING', 'The folder history is missing manifests.');
      }
      await verifyManifestChain(
        ownerKey,
        upTo.map((m) => m.data),
        {
          folderId,
          anchor: { seq: mark.seq, hash: fromHex(mark.hash) },
        },
      );
      const last = upTo.at(-1);
      if (last === undefined || toBase64url(last.data) !== toBase64url(served.data)) {
        throw new CarnetError('ROLLBACK', 'The relay served a forked folder history.');
      }
    }
  }
}

function keyId(folderId: FolderId, epoch: number): string {
  return `${folderId}:${epoch}`;
}

function hashOf(h: History, seq: number): Uint8Array {
  // Only the last manifest's bytes are kept; earlier ones are linked by prevManifestHash.
  const next = h.bodies.find((b) => b.seq === seq + 1);
  return next === undefined ? manifestHash(h.last) : next.prevManifestHash;
}

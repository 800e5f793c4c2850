/**
 * Folders: creation, listing, the encrypted patient profile, and membership changes (share
 * with a verified colleague; remove a member, which rotates to a new epoch).
 */
import { equalBytes } from '../bytes';
import { CarnetError, invalidArgument, isCarnetError } from '../errors';
import {
  FIRST_EPOCH,
  folderKeyCommitment,
  newFolderKey,
  openProfile,
  sealLineage,
  sealProfile,
  wrapFolderKeyToMember,
  type PatientProfile,
} from '../folder';
import { checkAndAdvance } from '../high-water';
import { newId, type AccountId, type FolderId } from '../ids';
import type { EncryptionPublicKey, FolderKey } from '../keys';
import { recordListDigest, signManifest, type ManifestMember } from '../manifest';
import { sha256 } from '../primitives/sha2';
import type { WrapOut } from './api';
import type { Contacts } from './contacts';
import type { Core } from './core';
import type { FolderLoader, FolderState } from './folder-state';
import { isConflict } from './http';
import { assertOwner, publishManifest } from './publish';
import type { RecordReader } from './records';
import type { FolderDetails, FolderSummary } from './types';
import type { WireFolder } from './wire';

/** Folder operations. */
export class Folders {
  constructor(
    private readonly core: Core,
    private readonly loader: FolderLoader,
    private readonly contacts: Contacts,
    private readonly records: RecordReader,
  ) {}

  /**
   * Creates a folder with its first key, signed manifest and encrypted profile. `folderId` is
   * fresh unless given (an adopted import names its folder after itself, so that adoption can
   * resume after a crash).
   */
  async create(
    profile: PatientProfile,
    folderId: FolderId = newId<FolderId>(),
  ): Promise<FolderDetails> {
    const s = this.core.session;
    const epoch = FIRST_EPOCH;
    const fk = newFolderKey();
    const sealedProfile = sealProfile(fk, profile, folderId, epoch);
    const members: ManifestMember[] = [
      { accountId: s.accountId, fingerprint: s.safetyCode, role: 'owner' },
    ];
    const manifest = await signManifest(s.secrets.identityPrivateKey, {
      folderId,
      ownerId: s.accountId,
      seq: 1,
      epoch,
      prevManifestHash: new Uint8Array(32),
      recordListDigest: recordListDigest([]),
      folderKeyCommitment: folderKeyCommitment(fk, folderId, epoch),
      members,
    });
    const wrap = await wrapFolderKeyToMember(s.bundle.encryptionPublicKey, fk, {
      folderId,
      epoch,
      accountId: s.accountId,
    });
    const wire = await this.core.api.createFolder(
      folderId,
      {
        seq: 1,
        epoch,
        manifest,
        members: [{ accountId: s.accountId, role: 'owner' }],
        wraps: [{ accountId: s.accountId, epoch, wrap }],
      },
      sealedProfile,
    );
    await this.loader.remember(folderId, epoch, fk);
    return this.details(await this.loader.verify(wire));
  }

  /** Every folder I belong to, verified, profiles opened; pending invitations as such. */
  async list(): Promise<FolderSummary[]> {
    const wires = await this.core.api.listFolders();
    const out: FolderSummary[] = [];
    for (const wire of wires) {
      if (wire.status === 'pending') out.push(pendingSummary(wire));
      else out.push(await this.summary(await this.loader.verify(wire)));
    }
    return out;
  }

  /** One folder with its signed member list. */
  async get(folderId: FolderId): Promise<FolderDetails> {
    return this.details(await this.loader.load(folderId));
  }

  /** Replaces the profile (compare-and-swap on its version). */
  async updateProfile(
    folderId: FolderId,
    profile: PatientProfile,
    expectedVersion?: number,
  ): Promise<FolderDetails> {
    const state = await this.loader.load(folderId);
    const fk = await this.loader.currentKey(state);
    const data = sealProfile(fk, profile, folderId, state.manifest.epoch);
    const expected = expectedVersion ?? state.wire.profile?.version ?? 0;
    const version = await this.core.api.putProfile(folderId, expected, data);
    await checkAndAdvance(this.core.marks, profileMarkKey(folderId), version, sha256(data));
    return this.get(folderId);
  }

  /**
   * Adds a colleague whose safety code the user compared out of band: a mismatch is
   * `KEY_UNVERIFIED`, a pinned key that changed `KEY_CHANGED`.
   */
  async share(folderId: FolderId, userName: string, safetyCode: string): Promise<FolderDetails> {
    const state = await this.loader.load(folderId);
    assertOwner(this.core, state);
    const contact = await this.contacts.get(userName, safetyCode);
    if (contact.bundle.role !== 'practitioner') {
      throw invalidArgument('userName', 'a practitioner account (patients join by invite)');
    }
    const accountId = contact.entry.accountId;
    if (state.manifest.members.some((m) => m.accountId === accountId)) return this.details(state);
    const member: ManifestMember = {
      accountId,
      fingerprint: contact.safetyCode,
      role: 'practitioner',
    };
    return this.details(
      await this.admit(state, [{ member, key: contact.bundle.encryptionPublicKey }]),
    );
  }

  /**
   * Adds members to the manifest at the current epoch, each with a wrap of the current key.
   * Resolves with the new verified state.
   */
  async admit(
    state: FolderState,
    newcomers: { member: ManifestMember; key: EncryptionPublicKey }[],
  ): Promise<FolderState> {
    const epoch = state.manifest.epoch;
    const fk = await this.loader.currentKey(state);
    const wraps: WrapOut[] = [];
    for (const { member, key } of newcomers) {
      const ctx = { folderId: state.folderId, epoch, accountId: member.accountId };
      wraps.push({ ...ctx, wrap: await wrapFolderKeyToMember(key, fk, ctx) });
    }
    return publishManifest(this.core, this.loader, state, {
      members: [...state.manifest.members, ...newcomers.map((n) => n.member)],
      epoch,
      wraps,
      recordListDigest: await this.records.currentDigest(state),
      folderKeyCommitment: state.manifest.folderKeyCommitment,
    });
  }

  /**
   * Removes a member: a new epoch with a fresh folder key, the old key sealed under it
   * (lineage), wraps for the remaining members only, and the profile re-sealed under it.
   * The removed member holds no key to anything written afterwards.
   */
  async remove(folderId: FolderId, accountId: AccountId): Promise<FolderDetails> {
    const state = await this.loader.load(folderId);
    assertOwner(this.core, state);
    if (accountId === state.ownerId)
      throw invalidArgument('accountId', 'a member other than the owner');
    if (!state.manifest.members.some((m) => m.accountId === accountId)) {
      throw invalidArgument('accountId', 'a member of the folder');
    }
    const remaining = state.manifest.members.filter((m) => m.accountId !== accountId);
    const next = await this.nextEpoch(state, remaining);
    const { epoch, fk, profile } = next;
    const published = await publishManifest(this.core, this.loader, state, {
      members: remaining,
      epoch,
      wraps: next.wraps,
      lineage: next.lineage,
      recordListDigest: await this.records.currentDigest(state),
      folderKeyCommitment: next.folderKeyCommitment,
    });
    await this.loader.remember(folderId, epoch, fk);
    if (profile !== undefined) {
      const version = await this.core.api.putProfile(folderId, profile.version, profile.data);
      await checkAndAdvance(
        this.core.marks,
        profileMarkKey(folderId),
        version,
        sha256(profile.data),
      );
      return this.get(folderId);
    }
    return this.details(published);
  }

  /**
   * The keys of the folder's next epoch for `members` (member removal, and rotation when a
   * support grant ends): a fresh folder key wrapped to each member's verified key, the current
   * key sealed under it (lineage), its commitment, and the profile re-sealed under it
   * (`profile.version` is the one it replaces). Nothing is sent.
   */
  async nextEpoch(state: FolderState, members: readonly ManifestMember[]): Promise<NextEpoch> {
    const { folderId } = state;
    const epoch = state.manifest.epoch + 1;
    const oldFk = await this.loader.currentKey(state);
    const opened = await this.openProfile(state);
    const fk = newFolderKey();
    const wraps: WrapOut[] = [];
    for (const m of members) {
      const ctx = { folderId, epoch, accountId: m.accountId };
      wraps.push({
        ...ctx,
        wrap: await wrapFolderKeyToMember(await this.encryptionKey(m), fk, ctx),
      });
    }
    return {
      epoch,
      fk,
      wraps,
      lineage: sealLineage(fk, oldFk, folderId, epoch),
      folderKeyCommitment: folderKeyCommitment(fk, folderId, epoch),
      ...(opened === undefined
        ? {}
        : {
            profile: {
              version: opened.version,
              data: sealProfile(fk, opened.profile, folderId, epoch),
            },
          }),
    };
  }

  /**
   * Re-signs the manifest if its record-list digest no longer covers the latest versions (owner
   * only). A concurrent manifest change is retried once on the fresh state.
   */
  async refreshDigest(state: FolderState, retry = true): Promise<void> {
    const digest = await this.records.currentDigest(state);
    if (equalBytes(digest, state.manifest.recordListDigest)) return;
    try {
      await publishManifest(this.core, this.loader, state, {
        members: state.manifest.members,
        epoch: state.manifest.epoch,
        wraps: [],
        recordListDigest: digest,
        folderKeyCommitment: state.manifest.folderKeyCommitment,
      });
    } catch (e) {
      if (!retry || !isConflict(e)) throw e;
      await this.refreshDigest(await this.loader.load(state.folderId), false);
    }
  }

  /** The summary of a verified folder, its profile opened. */
  async summary(state: FolderState): Promise<FolderSummary> {
    const profile = await this.openProfile(state);
    return {
      folderId: state.folderId,
      ownerId: state.ownerId,
      status: 'member',
      myRole: state.me.role,
      epoch: state.manifest.epoch,
      manifestSeq: state.manifest.seq,
      ...(profile ? { profile: profile.profile, profileVersion: profile.version } : {}),
    };
  }

  /** Summary plus the signed member list. */
  async details(state: FolderState): Promise<FolderDetails> {
    return {
      ...(await this.summary(state)),
      members: state.manifest.members.map((m) => ({
        accountId: m.accountId,
        role: m.role,
        safetyCode: m.fingerprint,
      })),
    };
  }

  /**
   * Opens the profile, then checks its version against the high-water mark (`ROLLBACK`).
   */
  private async openProfile(
    state: FolderState,
  ): Promise<{ profile: PatientProfile; version: number } | undefined> {
    const stored = state.wire.profile;
    if (stored === undefined) return undefined;
    const profile = await this.decryptProfile(state, stored.data);
    // The mark advances only for a profile that decrypted under this folder's key: a relay
    // sending garbage under a huge version number must not lock the real profile out.
    await checkAndAdvance(
      this.core.marks,
      profileMarkKey(state.folderId),
      stored.version,
      sha256(stored.data),
    );
    return { profile, version: stored.version };
  }

  /** Opens the profile under the newest folder key that opens it (it may predate a rotation). */
  private async decryptProfile(state: FolderState, data: Uint8Array): Promise<PatientProfile> {
    for (let epoch = state.manifest.epoch; epoch >= FIRST_EPOCH; epoch--) {
      let fk: FolderKey;
      try {
        fk = await this.loader.keyFor(state, epoch);
      } catch (e) {
        if (epoch < state.manifest.epoch && isCarnetError(e, 'RECORD_MISSING')) break;
        throw e;
      }
      try {
        return openProfile(fk, data, state.folderId, epoch);
      } catch (e) {
        if (!isCarnetError(e, 'INTEGRITY')) throw e;
      }
    }
    throw new CarnetError('INTEGRITY');
  }

  /** A remaining member's encryption key, checked against the safety code in the manifest. */
  private async encryptionKey(m: ManifestMember): Promise<EncryptionPublicKey> {
    const s = this.core.session;
    if (m.accountId === s.accountId) return s.bundle.encryptionPublicKey;
    return (await this.contacts.member(m.accountId, m.fingerprint)).bundle.encryptionPublicKey;
  }
}

/** What {@link Folders.nextEpoch} prepares for a new epoch. */
export interface NextEpoch {
  epoch: number;
  fk: FolderKey;
  wraps: WrapOut[];
  lineage: Uint8Array;
  folderKeyCommitment: Uint8Array;
  /** The profile sealed under the new key, and the version it replaces. */
  profile?: { version: number; data: Uint8Array };
}

/** High-water key of a folder's profile. */
export function profileMarkKey(folderId: FolderId): string {
  return `profile:${folderId}`;
}

function pendingSummary(wire: WireFolder): FolderSummary {
  return { folderId: wire.folderId, ownerId: wire.ownerId, status: 'pending' };
}

/**
 * Publishing a new manifest (owner only): the next link of the signed chain, sent with the
 * wraps and lineage it needs in one compare-and-swap (`expectedSeq`), then re-verified like
 * anything else that comes back from the relay.
 */
import { CarnetError } from '../errors';
import { signManifest, manifestHash, type ManifestMember, type MemberRole } from '../manifest';
import type { RelayMemberRole, WrapOut } from './api';
import type { Core } from './core';
import type { FolderLoader, FolderState } from './folder-state';

/** What changes in the next manifest. */
export interface ManifestChange {
  /** The full new member list (owner included). */
  members: ManifestMember[];
  epoch: number;
  /** Wraps of the folder key for new members, or for everyone at a new epoch. */
  wraps: WrapOut[];
  /** Required with a new epoch: the previous key sealed under the new one. */
  lineage?: Uint8Array;
  /** Digest of the record list this manifest vouches for. */
  recordListDigest: Uint8Array;
  /** `folderKeyCommitment` of the key of `epoch`. */
  folderKeyCommitment: Uint8Array;
}

/** The relay's access-control role for a manifest role: patients may add their own documents. */
export function relayRole(role: MemberRole): RelayMemberRole {
  return role === 'owner' ? 'owner' : 'editor';
}

/** Throws `INVALID_ARGUMENT` unless I own the folder. */
export function assertOwner(core: Core, state: FolderState): void {
  if (state.ownerId !== core.session.accountId) {
    throw new CarnetError('INVALID_ARGUMENT', 'Only the owner of the folder can do this.');
  }
}

/** Signs and publishes the manifest after `state`'s; resolves with the verified new state. */
export async function publishManifest(
  core: Core,
  loader: FolderLoader,
  state: FolderState,
  change: ManifestChange,
): Promise<FolderState> {
  assertOwner(core, state);
  const seq = state.manifest.seq + 1;
  const manifest = await signManifest(core.session.secrets.identityPrivateKey, {
    folderId: state.folderId,
    ownerId: state.ownerId,
    seq,
    epoch: change.epoch,
    prevManifestHash: manifestHash(state.manifestBytes),
    recordListDigest: change.recordListDigest,
    folderKeyCommitment: change.folderKeyCommitment,
    members: change.members,
  });
  const wire = await core.api.putManifest(
    state.folderId,
    state.manifest.seq,
    {
      seq,
      epoch: change.epoch,
      manifest,
      members: change.members.map((m) => ({ accountId: m.accountId, role: relayRole(m.role) })),
      wraps: change.wraps,
    },
    change.lineage,
  );
  return loader.verify(wire);
}

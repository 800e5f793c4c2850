/**
 * Rotation when support grants end: every folder an ended grant covered moves to a new epoch
 * (fresh folder key, same members, wraps for each of them, lineage, new signed manifest,
 * profile re-sealed), so nothing written afterwards opens with any key the agent held.
 *
 * Folders are prepared locally, then sent through `POST /rotations` in batches of up to 200,
 * each batch one transaction on the relay. A batch that loses a race (409: someone changed a
 * manifest or profile meanwhile) is redone folder by folder from freshly loaded state, the way
 * `Folders.remove` rotates.
 */
import { CarnetError } from '../errors';
import { checkAndAdvance, manifestMarkKey } from '../high-water';
import type { FolderId } from '../ids';
import { manifestHash, signManifest } from '../manifest';
import { sha256 } from '../primitives/sha2';
import type { ClientParts } from './client';
import { profileMarkKey, type NextEpoch } from './folders';
import type { FolderState } from './folder-state';
import type { GrantApi, RotationOut } from './grant-wire';
import { isApiError } from './http';
import { publishManifest, relayRole } from './publish';
import type { SignedRecord } from './records';
import type { WireManifest } from './wire';

/** Largest batch `POST /rotations` accepts. */
export const ROTATION_BATCH = 200;
/**
 * Folders prepared at once (record lists fetched and verified, keys wrapped): enough requests
 * in flight to hide a distant relay's round trips.
 */
const PREPARE_CONCURRENCY = 16;
/** Below this many folders, each is fetched on its own rather than listing every folder. */
const LIST_THRESHOLD = 20;

interface Prepared {
  state: FolderState;
  next: NextEpoch;
  out: RotationOut;
}

/**
 * Rotates folders I own whose current epoch is at most a given epoch (the newest epoch an
 * ended grant had a key for). Folders already rotated past it, deleted or no longer mine are
 * skipped: their keys are already out of the agent's reach, or there is nothing left to protect.
 */
export class FolderRotator {
  constructor(
    private readonly parts: ClientParts,
    private readonly api: GrantApi,
  ) {}

  /**
   * Rotates every folder of `targets` (folder → highest epoch to leave behind). Resolves with
   * the folders rotated now.
   */
  async rotate(targets: ReadonlyMap<FolderId, number>): Promise<FolderId[]> {
    if (targets.size === 0) return [];
    const states = (await this.load(targets)).filter((s) => this.needs(s, targets));
    // Signed version objects of every folder, 200 folders a request: the record-list digests
    // are recomputed from them without one listing (and one audited key fetch) per folder.
    const versions = new Map<FolderId, { records: SignedRecord[]; manifests: WireManifest[] }>();
    for (let i = 0; i < states.length; i += ROTATION_BATCH) {
      const ids = states.slice(i, i + ROTATION_BATCH).map((s) => s.folderId);
      for (const [f, r] of await this.api.recordVersions(ids)) versions.set(f, r);
    }
    const prepared = await pool(states, PREPARE_CONCURRENCY, (s) =>
      this.prepare(s, versions.get(s.folderId)),
    );
    const rotated: FolderId[] = [];
    for (let i = 0; i < prepared.length; i += ROTATION_BATCH) {
      const batch = prepared.slice(i, i + ROTATION_BATCH);
      let answer: Awaited<ReturnType<GrantApi['rotate']>>;
      try {
        answer = await this.api.rotate(batch.map((p) => p.out));
      } catch (e) {
        // A concurrent change (409), or a folder deleted meanwhile (404): nothing of the batch
        // was written. Redo it folder by folder from fresh state.
        if (!isApiError(e, 'CONFLICT') && !isApiError(e, 'NOT_FOUND')) throw e;
        for (const p of batch) {
          if (await this.rotateOne(p.state.folderId, targets.get(p.state.folderId)!)) {
            rotated.push(p.state.folderId);
          }
        }
        continue;
      }
      await this.commit(batch, answer);
      rotated.push(...batch.map((p) => p.state.folderId));
    }
    return rotated;
  }

  private needs(state: FolderState, targets: ReadonlyMap<FolderId, number>): boolean {
    const limit = targets.get(state.folderId);
    return (
      limit !== undefined &&
      state.ownerId === this.parts.core.session.accountId &&
      state.manifest.epoch <= limit
    );
  }

  /** Verified states of the target folders that still exist and that I belong to. */
  private async load(targets: ReadonlyMap<FolderId, number>): Promise<FolderState[]> {
    const { core, loader } = this.parts;
    const out: FolderState[] = [];
    if (targets.size > LIST_THRESHOLD) {
      for (const wire of await core.api.listFolders()) {
        if (targets.has(wire.folderId) && wire.status === 'member')
          out.push(await loader.verify(wire));
      }
      return out;
    }
    for (const folderId of targets.keys()) {
      const state = await this.loadOne(folderId);
      if (state !== undefined) out.push(state);
    }
    return out;
  }

  private async loadOne(folderId: FolderId): Promise<FolderState | undefined> {
    try {
      return await this.parts.loader.load(folderId);
    } catch (e) {
      // Deleted, or I am no longer in it: the grant's keys open nothing that will be written.
      if (isApiError(e, 'NOT_FOUND') || isApiError(e, 'FOLDER_DELETED')) return undefined;
      throw e;
    }
  }

  /** The next epoch of a folder, same members, signed, ready to send. */
  private async prepare(
    state: FolderState,
    listed: { records: SignedRecord[]; manifests: WireManifest[] } | undefined,
  ): Promise<Prepared> {
    if (listed === undefined) {
      throw new CarnetError('RECORD_MISSING', 'The relay did not list the folder’s records.');
    }
    // The manifest history (who could write at which epoch) from the same bulk answer,
    // verified as a chain as if fetched on its own.
    await this.parts.loader.primeHistory(state, listed.manifests);
    const records = listed.records;
    const { core, reader, folders } = this.parts;
    const s = core.session;
    // The digest is recomputed, not carried over: a version another member wrote since the
    // last manifest would otherwise be left at an epoch the record-list check no longer peels.
    const members = state.manifest.members;
    // Independent: verifying the record list overlaps the new key's wraps.
    const [digest, next] = await Promise.all([
      reader.digestOfVersions(state, records),
      folders.nextEpoch(state, members),
    ]);
    const seq = state.manifest.seq + 1;
    const manifest = await signManifest(s.secrets.identityPrivateKey, {
      folderId: state.folderId,
      ownerId: state.ownerId,
      seq,
      epoch: next.epoch,
      prevManifestHash: manifestHash(state.manifestBytes),
      recordListDigest: digest,
      folderKeyCommitment: next.folderKeyCommitment,
      members,
    });
    const out: RotationOut = {
      folderId: state.folderId,
      expectedSeq: state.manifest.seq,
      seq,
      epoch: next.epoch,
      manifest,
      members: members.map((m) => ({ accountId: m.accountId, role: relayRole(m.role) })),
      wraps: next.wraps,
      lineage: next.lineage,
      ...(next.profile
        ? { profile: { expectedVersion: next.profile.version, data: next.profile.data } }
        : {}),
    };
    return { state, next, out };
  }

  /** After a batch was stored: keep the new keys and move the marks to what was written. */
  private async commit(
    batch: readonly Prepared[],
    answer: Awaited<ReturnType<GrantApi['rotate']>>,
  ): Promise<void> {
    const { core, loader } = this.parts;
    const byId = new Map(answer.map((a) => [a.folderId, a]));
    for (const { state, next, out } of batch) {
      const a = byId.get(state.folderId);
      if (a === undefined || a.seq !== out.seq || a.epoch !== out.epoch) {
        throw new CarnetError('CONTEXT_MISMATCH', 'The relay answered for another rotation.');
      }
      await loader.remember(state.folderId, next.epoch, next.fk);
      await checkAndAdvance(
        core.marks,
        manifestMarkKey(state.folderId),
        out.seq,
        manifestHash(out.manifest),
      );
      if (next.profile !== undefined && a.profileVersion !== null) {
        await checkAndAdvance(
          core.marks,
          profileMarkKey(state.folderId),
          a.profileVersion,
          sha256(next.profile.data),
        );
      }
    }
  }

  /**
   * One folder rotated on its own (`PUT /folders/:id/manifest`, then the profile), from freshly
   * loaded state. False if it no longer needs it.
   */
  private async rotateOne(folderId: FolderId, limit: number): Promise<boolean> {
    const { core, loader, reader, folders } = this.parts;
    const state = await this.loadOne(folderId);
    if (state === undefined || !this.needs(state, new Map([[folderId, limit]]))) return false;
    const next = await folders.nextEpoch(state, state.manifest.members);
    await publishManifest(core, loader, state, {
      members: state.manifest.members,
      epoch: next.epoch,
      wraps: next.wraps,
      lineage: next.lineage,
      recordListDigest: await reader.currentDigest(state),
      folderKeyCommitment: next.folderKeyCommitment,
    });
    await loader.remember(folderId, next.epoch, next.fk);
    if (next.profile !== undefined) {
      try {
        const version = await core.api.putProfile(
          folderId,
          next.profile.version,
          next.profile.data,
        );
        await checkAndAdvance(
          core.marks,
          profileMarkKey(folderId),
          version,
          sha256(next.profile.data),
        );
      } catch (e) {
        // Someone replaced the profile meanwhile: theirs stays. Written before this rotation it
        // is sealed under the previous key (docs/grants.md, "the window before rotation");
        // the next profile update seals it under the new one.
        if (!isApiError(e, 'CONFLICT')) throw e;
      }
    }
    return true;
  }
}

/** Maps `items` through `f`, at most `n` at a time, keeping the order. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

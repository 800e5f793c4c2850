/**
 * The support agent's side of a read grant: reading a practitioner's in-scope folders and
 * records with the keys wrapped to the grant.
 *
 * The relay stops serving a grant at expiry or revocation, but the agent's client does not rely
 * on it. Before anything is used, and again right before anything is returned, the grant is
 * verified under the practitioner's pinned key (`verifyGrant`: signature, this agent and its
 * safety code, the time by the client's clock, the right, the scope): a relay that keeps serving
 * an expired grant is refused with `GRANT_EXPIRED`, an out-of-scope record with `GRANT_SCOPE`.
 * Then, as for a member: the folder's manifests are verified as one chain signed by the
 * practitioner (who must own the folder), a folder key from the grant must match the owner's
 * commitment (anyone can wrap a key to the grant's public key), record versions are verified
 * (signatures by members of their epoch, chains, header hashes), and headers and bodies are
 * decrypted under data keys bound to their context.
 */
import { equalBytes, toHex } from '../bytes';
import { CarnetError } from '../errors';
import { checkFolderKey, openProfile, walkLineage, type PatientProfile } from '../folder';
import {
  unwrapGrantPrivateKeyAsAgent,
  unwrapKeyAsGrant,
  verifyGrant,
  type GrantFields,
} from '../grant';
import { checkAndAdvance, manifestMarkKey } from '../high-water';
import type { AccountId, FolderId, GrantId, RecordId } from '../ids';
import type { DataKey, FolderKey, GrantPrivateKey, IdentityPublicKey } from '../keys';
import { acceptManifest, manifestHash, verifyManifestChain, type ManifestBody } from '../manifest';
import { sha256 } from '../primitives/sha2';
import { x25519PublicKey } from '../primitives/x25519';
import { openDataKey, openRecordHeader } from '../record';
import type { AuditClient } from './audit';
import type { ClientParts } from './client';
import { profileMarkKey } from './folders';
import type { GrantApi, GrantFolderWire, GrantWrap } from './grant-wire';
import { decryptBody, summaryOf, viewOf } from './records';
import {
  AuthorPolicy,
  advanceRecordMark,
  checkStoredVersion,
  matchRecordDigest,
  verifyChain,
  type VerifiedVersion,
} from './record-verify';
import type { RecordSummary, RecordView } from './types';
import type { WireVersion } from './wire';

/** A folder as seen through a grant. */
export interface GrantFolderView {
  folderId: FolderId;
  ownerId: AccountId;
  /** The folder's current epoch. */
  epoch: number;
  /** The epoch of the folder key the grant holds (folder scope). */
  grantEpoch?: number;
  /** The patient profile (folder scope only), if the grant's key opens it. */
  profile?: PatientProfile;
  /** The records the grant names in this folder (record scope). */
  records?: RecordId[];
}

/** A verified grant in use, with the practitioner's key. */
interface InUse {
  fields: GrantFields;
  grant: Uint8Array;
  practitionerKey: IdentityPublicKey;
}

/** A verified folder within a grant. */
interface GrantFolder {
  wire: GrantFolderWire;
  manifest: ManifestBody;
  history: ManifestBody[];
  authors: AuthorPolicy;
}

/** Keys opened from a grant's wraps, for one folder. */
interface FolderKeys {
  /** Folder scope: the folder keys by epoch, from the grant's epoch down. */
  folder: Map<number, FolderKey>;
  /** Record scope: data keys by `recordId/version`. */
  data: Map<string, DataKey>;
}

/** An opened version within a grant. */
interface Opened {
  view: RecordView;
  verified: VerifiedVersion;
  stored: WireVersion;
  dek: DataKey;
}

/** Reads within read grants, as the agent. */
export class GrantReader {
  constructor(
    private readonly parts: ClientParts,
    private readonly api: GrantApi,
    private readonly audit: AuditClient,
  ) {}

  /** The folder (profile for a folder scope, the granted record ids for a record scope). */
  async folder(grantId: GrantId, folderId: FolderId): Promise<GrantFolderView> {
    const g = await this.check(grantId, folderId);
    const { keys, f } = await this.folderAndKeys(g, folderId);
    const out: GrantFolderView = {
      folderId,
      ownerId: f.wire.ownerId,
      epoch: f.manifest.epoch,
    };
    const scope = g.fields.scope;
    if ('folders' in scope) {
      out.grantEpoch = Math.max(...keys.folder.keys());
      const profile = await this.openProfile(f.wire, keys);
      if (profile !== undefined) out.profile = profile;
    } else {
      out.records = scope.records.filter((r) => r.folderId === folderId).map((r) => r.recordId);
    }
    await this.recheck(g, folderId);
    return out;
  }

  /** The latest readable version of every in-scope record of a folder, headers opened. */
  async listRecords(grantId: GrantId, folderId: FolderId): Promise<RecordSummary[]> {
    const g = await this.check(grantId, folderId);
    const { keys, f } = await this.folderAndKeys(g, folderId);
    const listed = await this.api.records(grantId, folderId);
    const scope = g.fields.scope;
    const wanted =
      'folders' in scope
        ? undefined
        : new Set(scope.records.filter((r) => r.folderId === folderId).map((r) => r.recordId));
    const chains = new Map<RecordId, VerifiedVersion[]>();
    const latest = new Map<RecordId, WireVersion>();
    for (const r of listed) {
      // Out of scope: never shown, whatever the relay serves.
      if (wanted !== undefined && !wanted.has(r.recordId)) continue;
      if (chains.has(r.recordId)) throw new CarnetError('FORMAT', 'A record is listed twice.');
      const chain = await verifyChain(folderId, r.recordId, r.versions, f.authors);
      const top = chain.at(-1)!;
      const topSigned = r.versions.find((v) => v.version === top.fields.version)!.signed;
      checkStoredVersion(r.latest, top, topSigned);
      await advanceRecordMark(this.parts.core, folderId, r.recordId, top);
      chains.set(r.recordId, chain);
      latest.set(r.recordId, r.latest);
    }
    if (wanted === undefined) {
      // A folder scope sees the whole list: it must match the owner-signed digest.
      const digest = matchRecordDigest(f.manifest.recordListDigest, chains, {
        epoch: f.manifest.epoch,
        members: new Set(f.manifest.members.map((m) => m.accountId)),
      });
      if (digest === undefined) {
        throw new CarnetError(
          'RECORD_MISSING',
          'The record list does not match the signed manifest.',
        );
      }
    } else {
      // A record scope names its records: the relay must serve every one of them.
      for (const id of wanted) {
        if (!chains.has(id)) {
          throw new CarnetError('RECORD_MISSING', 'A record of the grant is missing.');
        }
      }
    }
    const out: RecordSummary[] = [];
    for (const [recordId, chain] of chains) {
      const opened = await this.openNewestReadable(g, folderId, keys, recordId, chain, [
        latest.get(recordId)!,
      ]);
      if (opened !== undefined) out.push(summaryOf(opened.view));
    }
    await this.recheck(g, folderId);
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.recordId < b.recordId ? -1 : 1));
  }

  /** One version of a record (default: the newest the grant can open), verified and opened. */
  async readRecord(
    grantId: GrantId,
    folderId: FolderId,
    recordId: RecordId,
    version?: number,
  ): Promise<RecordView> {
    const { g, opened } = await this.openRecord(grantId, folderId, recordId, version);
    await this.recheck(g, folderId, recordId);
    await this.viewed(g, folderId, recordId, opened.view.version);
    return opened.view;
  }

  /**
   * A document's content, decrypted while it downloads; the stream errors rather than ends if
   * the content is not the signed one. The grant is checked before the stream is returned.
   */
  async openDocument(
    grantId: GrantId,
    folderId: FolderId,
    recordId: RecordId,
    version?: number,
  ): Promise<{ record: RecordView; body: ReadableStream<Uint8Array> }> {
    const { g, opened } = await this.openRecord(grantId, folderId, recordId, version);
    const { view, stored, verified, dek } = opened;
    if (view.kind !== 'document') throw new CarnetError('INVALID_ARGUMENT', 'Not a document.');
    if (stored.blobId === undefined) {
      throw new CarnetError('RECORD_MISSING', 'The document body is missing.');
    }
    const ciphertext = await this.api.blob(grantId, stored.blobId);
    await this.recheck(g, folderId, recordId);
    await this.viewed(g, folderId, recordId, view.version);
    return { record: view, body: decryptBody(ciphertext, dek, folderId, view, verified) };
  }

  private async openRecord(
    grantId: GrantId,
    folderId: FolderId,
    recordId: RecordId,
    version: number | undefined,
  ): Promise<{ g: InUse; opened: Opened }> {
    const g = await this.check(grantId, folderId, recordId);
    const { keys, f } = await this.folderAndKeys(g, folderId);
    const stored = [...(await this.api.record(grantId, folderId, recordId))].sort(
      (a, b) => a.version - b.version,
    );
    const chain = await verifyChain(folderId, recordId, stored, f.authors);
    await advanceRecordMark(this.parts.core, folderId, recordId, chain.at(-1)!);
    if (version !== undefined) {
      const v = chain[version - 1];
      const s = stored[version - 1];
      if (v === undefined || s === undefined) {
        throw new CarnetError('INVALID_ARGUMENT', 'No such version of this record.');
      }
      const opened = await this.open(g, folderId, keys, v, s);
      if (opened === undefined) throw beyondGrant();
      return { g, opened };
    }
    const opened = await this.openNewestReadable(g, folderId, keys, recordId, chain, stored);
    if (opened === undefined) throw beyondGrant();
    return { g, opened };
  }

  /**
   * The newest version the grant's keys open, from `stored` (full versions the caller has),
   * fetching the record's history when none of them opens.
   */
  private async openNewestReadable(
    g: InUse,
    folderId: FolderId,
    keys: FolderKeys,
    recordId: RecordId,
    chain: VerifiedVersion[],
    stored: WireVersion[],
  ): Promise<Opened | undefined> {
    const tryAll = async (from: WireVersion[]): Promise<Opened | undefined> => {
      for (const s of [...from].sort((a, b) => b.version - a.version)) {
        const v = chain[s.version - 1];
        if (v === undefined) throw new CarnetError('CONTEXT_MISMATCH');
        const opened = await this.open(g, folderId, keys, v, s);
        if (opened !== undefined) return opened;
      }
      return undefined;
    };
    const first = await tryAll(stored);
    if (first !== undefined || stored.length >= chain.length) return first;
    return tryAll(await this.api.record(g.fields.grantId, folderId, recordId));
  }

  /** Opens a verified version if the grant holds its key; `undefined` if it does not. */
  private async open(
    g: InUse,
    folderId: FolderId,
    keys: FolderKeys,
    verified: VerifiedVersion,
    stored: WireVersion,
  ): Promise<Opened | undefined> {
    checkStoredVersion(stored, verified, stored.signed);
    const { recordId, version, epoch, authorId } = verified.fields;
    if (stored.epoch !== epoch) throw new CarnetError('CONTEXT_MISMATCH');
    let dek: DataKey | undefined;
    if ('folders' in g.fields.scope) {
      const fk = keys.folder.get(epoch);
      if (fk === undefined) return undefined;
      dek = openDataKey(fk, stored.dataKey, { folderId, recordId, version, epoch });
    } else {
      dek = keys.data.get(`${recordId}/${version}`);
      if (dek === undefined) return undefined;
    }
    const header = openRecordHeader(dek, stored.header, { folderId, recordId, version });
    return { view: viewOf(recordId, version, epoch, authorId, header), verified, stored, dek };
  }

  /**
   * Fetches and verifies the grant for a use on `folderId` (and `recordId`). A folder alone is
   * in a record scope when the grant names at least one of its records (to list them).
   */
  private async check(grantId: GrantId, folderId: FolderId, recordId?: RecordId): Promise<InUse> {
    const { core, contacts } = this.parts;
    core.assertLoggedIn();
    const entry = await this.api.get(grantId);
    const practitioner = await contacts.get(entry.practitionerId);
    if (practitioner.bundle.role !== 'practitioner') throw new CarnetError('KEY_UNVERIFIED');
    const signed = { grant: entry.grant, practitionerKey: practitioner.bundle.identityPublicKey };
    const fields = await this.verify(signed, entry.practitionerId, folderId, recordId);
    if (fields.grantId !== grantId) throw new CarnetError('CONTEXT_MISMATCH');
    // The relay's word can only end a grant early, never extend it: when it says the grant is
    // over (revoked, or expired by its clock), it will serve nothing more; say so plainly.
    if (entry.revokedAt !== null || entry.status === 'revoked') {
      throw new CarnetError('GRANT_EXPIRED', 'This support grant was revoked.');
    }
    if (entry.status === 'expired') throw new CarnetError('GRANT_EXPIRED');
    return { ...signed, fields };
  }

  /** The grant checks again, right before something is returned (it may have just expired). */
  private async recheck(g: InUse, folderId: FolderId, recordId?: RecordId): Promise<void> {
    await this.verify(g, g.fields.practitionerId, folderId, recordId);
  }

  private async verify(
    g: Pick<InUse, 'grant' | 'practitionerKey'>,
    practitionerId: AccountId,
    folderId: FolderId,
    recordId: RecordId | undefined,
  ): Promise<GrantFields> {
    const s = this.parts.core.session;
    const fields = await verifyGrant(g.practitionerKey, g.grant, {
      agentId: s.accountId,
      agentFingerprint: s.safetyCode,
      now: this.parts.core.now(),
      right: 'read',
      practitionerId,
      ...(recordId === undefined ? {} : { folderId, recordId }),
    });
    if (recordId === undefined && !covers(fields, folderId)) throw new CarnetError('GRANT_SCOPE');
    return fields;
  }

  /** The verified folder and the keys the grant holds for it, checked against it. */
  private async folderAndKeys(
    g: InUse,
    folderId: FolderId,
  ): Promise<{ keys: FolderKeys; f: GrantFolder }> {
    const keys = await this.keysFor(g, folderId);
    const f = await this.loadFolder(g, folderId);
    await this.extendFolderKeys(f, keys, folderId);
    return { keys, f };
  }

  /** The keys the grant holds for `folderId`, unwrapped (the grant's private key first). */
  private async keysFor(g: InUse, folderId: FolderId): Promise<FolderKeys> {
    const s = this.parts.core.session;
    const { grantId } = g.fields;
    const served = await this.api.keys(grantId);
    const priv = await unwrapGrantPrivateKeyAsAgent(
      s.secrets.encryptionPrivateKey,
      served.privateWrap,
      { grantId, agentId: s.accountId },
    );
    try {
      // Not strictly needed (every key it opens is checked), but a substituted grant key pair
      // is a relay lying, and is reported as such.
      if (!equalBytes(await x25519PublicKey(priv), g.fields.grantPublicKey)) {
        throw new CarnetError('INTEGRITY', 'The grant key does not match the signed grant.');
      }
      return await this.openWraps(
        priv,
        g,
        folderId,
        served.keyWraps.filter((w) => w.folderId === folderId),
      );
    } finally {
      priv.fill(0);
    }
  }

  private async openWraps(
    priv: GrantPrivateKey,
    g: InUse,
    folderId: FolderId,
    wraps: GrantWrap[],
  ): Promise<FolderKeys> {
    const { grantId } = g.fields;
    const keys: FolderKeys = { folder: new Map(), data: new Map() };
    if ('folders' in g.fields.scope) {
      const w = wraps.find((x) => x.recordId === null && x.version === null);
      if (w === undefined) throw new CarnetError('RECORD_MISSING', 'The grant has no key here.');
      const fk = await unwrapKeyAsGrant(priv, w.wrap, { grantId, folderId, epoch: w.epoch });
      keys.folder.set(w.epoch, fk);
      return keys;
    }
    for (const w of wraps) {
      if (w.recordId === null || w.version === null) continue;
      const dek = await unwrapKeyAsGrant(priv, w.wrap, {
        grantId,
        folderId,
        recordId: w.recordId,
        version: w.version,
        epoch: w.epoch,
      });
      keys.data.set(`${w.recordId}/${w.version}`, dek);
    }
    return keys;
  }

  /**
   * The folder, its manifest history verified as one chain signed by the practitioner, who
   * must own it; the high-water mark of this device moves forward (`ROLLBACK` otherwise); a
   * folder key from the grant is checked against the commitment of its epoch and older keys
   * are reached through the lineage.
   */
  private async loadFolder(g: InUse, folderId: FolderId): Promise<GrantFolder> {
    const { core, contacts } = this.parts;
    const ownerId = g.fields.practitionerId;
    const wire = await this.api.folder(g.fields.grantId, folderId);
    if (wire.folderId !== folderId || wire.ownerId !== ownerId) {
      throw new CarnetError('CONTEXT_MISMATCH');
    }
    const expected = { folderId, ownerId };
    const all = await this.api.manifests(g.fields.grantId, folderId, 0);
    if (all.length === 0) throw new CarnetError('RECORD_MISSING');
    const history = await verifyManifestChain(
      g.practitionerKey,
      all.map((m) => m.data),
      expected,
    );
    if (history[0]!.seq !== 1) throw new CarnetError('RECORD_MISSING');
    const last = all.at(-1)!;
    if (!equalBytes(last.data, wire.manifest.data)) {
      throw new CarnetError('ROLLBACK', 'The relay served a forked folder history.');
    }
    // The chain must pass through the manifest this device last accepted (no fork below it).
    const mark = await core.marks.get(manifestMarkKey(folderId));
    if (mark !== undefined) {
      const seen = all.find((m) => m.seq === mark.seq);
      if (seen !== undefined && toHex(manifestHash(seen.data)) !== mark.hash) {
        throw new CarnetError('ROLLBACK', 'The relay served a forked folder history.');
      }
    }
    const manifest = await acceptManifest(
      core.marks,
      g.practitionerKey,
      wire.manifest.data,
      expected,
    );
    if (manifest.seq !== wire.manifest.seq || manifest.epoch !== wire.manifest.epoch) {
      throw new CarnetError('CONTEXT_MISMATCH');
    }
    const f: GrantFolder = {
      wire,
      manifest,
      history,
      authors: new AuthorPolicy(history, core, contacts),
    };
    return f;
  }

  /** Checks the folder key against the owner's commitment, then adds older keys (lineage). */
  private async extendFolderKeys(
    f: GrantFolder,
    keys: FolderKeys,
    folderId: FolderId,
  ): Promise<void> {
    const [epoch, fk] = [...keys.folder][0] ?? [];
    if (epoch === undefined || fk === undefined) return;
    const signed = f.history.find((m) => m.epoch === epoch);
    if (signed === undefined) throw new CarnetError('CONTEXT_MISMATCH');
    checkFolderKey(fk, folderId, epoch, signed.folderKeyCommitment);
    const links = new Map(f.wire.lineage.map((l) => [l.epoch, l.data]));
    if (epoch > 1) {
      for (const [e, k] of await walkLineage(fk, epoch, 1, folderId, (n) => links.get(n))) {
        keys.folder.set(e, k);
      }
    }
  }

  /** The profile, under the newest key the grant holds that opens it; high-water checked. */
  private async openProfile(
    wire: GrantFolderWire,
    keys: FolderKeys,
  ): Promise<PatientProfile | undefined> {
    const stored = wire.profile;
    if (stored === undefined) return undefined;
    for (const [epoch, fk] of [...keys.folder].sort((a, b) => b[0] - a[0])) {
      try {
        const profile = openProfile(fk, stored.data, wire.folderId, epoch);
        await checkAndAdvance(
          this.parts.core.marks,
          profileMarkKey(wire.folderId),
          stored.version,
          sha256(stored.data),
        );
        return profile;
      } catch (e) {
        if (!(e instanceof CarnetError) || e.code !== 'INTEGRITY') throw e;
      }
    }
    // Sealed under a key of a later epoch (rotated during the grant): out of the grant's reach.
    return undefined;
  }

  /**
   * Records a signed "viewed" event for what was just read (the relay keeps it verbatim in the
   * folder's chain). Through the audit client's outbox: a relay that cannot take it now gets it
   * later, and the read itself is not failed by it (the relay logged `grant.read` anyway).
   */
  private async viewed(
    g: InUse,
    folderId: FolderId,
    recordId: RecordId,
    version: number,
  ): Promise<void> {
    await this.audit.recordViewed({ folderId, recordId, version, grantId: g.fields.grantId });
  }
}

/** Does the grant reach `folderId` at all (whole folder, or some of its records)? */
function covers(fields: GrantFields, folderId: FolderId): boolean {
  const scope = fields.scope;
  if ('folders' in scope) return scope.folders.includes(folderId);
  return scope.records.some((r) => r.folderId === folderId);
}

function beyondGrant(): CarnetError {
  return new CarnetError(
    'GRANT_SCOPE',
    'This version was written after the grant was given: the grant holds no key for it.',
  );
}

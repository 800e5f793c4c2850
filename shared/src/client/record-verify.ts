/**
 * Verification of what the relay says about a folder's records, before any of it is
 * decrypted or shown:
 *
 * - each version is signed by an author who is a member of the folder, in the signed manifest
 *   history, at the epoch the version was written in (`UNAUTHORIZED_AUTHOR`), and whose key
 *   bundle carries the safety code the owner signed for them;
 * - the versions of a record form a hash chain from version 1 (`prevVersionHash`);
 * - the latest version's sealed header is the one the signature commits to;
 * - no record or version goes backwards from what this device saw (`ROLLBACK`), and no record
 *   this device saw disappears (`RECORD_MISSING`);
 * - the record list matches the digest in the manifest, allowing for versions written after
 *   that manifest was signed (`RECORD_MISSING` otherwise).
 */
import { equalBytes } from '../bytes';
import { CarnetError } from '../errors';
import { checkAndAdvance, recordMarkKey } from '../high-water';
import type { AccountId, FolderId, RecordId } from '../ids';
import type { IdentityPublicKey } from '../keys';
import { recordListDigest, type ManifestBody, type RecordListEntry } from '../manifest';
import {
  headerHash,
  recordVersionHash,
  verifyRecordVersion,
  type RecordVersionFields,
} from '../record';
import type { Contacts } from './contacts';
import type { Core } from './core';
import { parseJson, corruptStore } from './store';
import type { WireVersion } from './wire';

/** A version whose signature and chain link verified. */
export interface VerifiedVersion {
  fields: RecordVersionFields;
  /** `recordVersionHash` of the signed object. */
  hash: Uint8Array;
  /** The relay's timestamp (not signed; used only to order candidates, never trusted). */
  createdAt: number;
}

/** A signed version as the relay lists it. */
export interface SignedVersionIn {
  version: number;
  epoch: number;
  createdAt: number;
  signed: Uint8Array;
}

/** Who may sign at which epoch, from the verified manifest history. */
export class AuthorPolicy {
  readonly #byEpoch = new Map<number, Map<AccountId, string>>();

  constructor(
    history: readonly ManifestBody[],
    private readonly core: Core,
    private readonly contacts: Contacts,
  ) {
    for (const m of history) {
      let members = this.#byEpoch.get(m.epoch);
      if (members === undefined) this.#byEpoch.set(m.epoch, (members = new Map()));
      for (const x of m.members) members.set(x.accountId, x.fingerprint);
    }
  }

  /** The identity key of `authorId` if they were a member at `epoch`, else `undefined`. */
  async keyOf(authorId: AccountId, epoch: number): Promise<IdentityPublicKey | undefined> {
    const code = this.#byEpoch.get(epoch)?.get(authorId);
    if (code === undefined) return undefined;
    const s = this.core.session;
    if (authorId === s.accountId) return s.bundle.identityPublicKey;
    return (await this.contacts.member(authorId, code)).bundle.identityPublicKey;
  }
}

/**
 * Verifies the full version chain of one record, oldest first: versions 1..n, each signed by
 * an allowed author and linked to the previous one. Returns the verified versions.
 */
export async function verifyChain(
  folderId: FolderId,
  recordId: RecordId,
  versions: readonly SignedVersionIn[],
  authors: AuthorPolicy,
): Promise<VerifiedVersion[]> {
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  const out: VerifiedVersion[] = [];
  let prev: Uint8Array = new Uint8Array(32);
  for (const [i, v] of sorted.entries()) {
    if (v.version !== i + 1) {
      throw new CarnetError('RECORD_MISSING', 'A version is missing from the record history.');
    }
    const fields = await verifyRecordVersion((author) => authors.keyOf(author, v.epoch), v.signed, {
      folderId,
      recordId,
      version: v.version,
      epoch: v.epoch,
      prevVersionHash: prev,
    });
    prev = recordVersionHash(v.signed);
    out.push({ fields, hash: prev, createdAt: v.createdAt });
  }
  if (out.length === 0) throw new CarnetError('RECORD_MISSING');
  return out;
}

/**
 * Checks a full stored version (header, data key, blob) against its verified signed object:
 * same signed bytes, header hash committed by the signature.
 */
export function checkStoredVersion(
  stored: WireVersion,
  verified: VerifiedVersion,
  signed: Uint8Array,
): void {
  if (stored.version !== verified.fields.version || !equalBytes(stored.signed, signed)) {
    throw new CarnetError('CONTEXT_MISMATCH');
  }
  if (!equalBytes(headerHash(stored.header), verified.fields.headerHash)) {
    throw new CarnetError('INTEGRITY');
  }
}

/** Advances the per-record high-water mark to the latest verified version (`ROLLBACK`). */
export async function advanceRecordMark(
  core: Core,
  folderId: FolderId,
  recordId: RecordId,
  latest: VerifiedVersion,
): Promise<void> {
  await checkAndAdvance(
    core.marks,
    recordMarkKey(folderId, recordId),
    latest.fields.version,
    latest.hash,
  );
}

/** The record ids this device has seen in a folder (so that a dropped one is noticed). */
export async function seenRecords(core: Core, folderId: FolderId): Promise<Set<RecordId>> {
  const raw = await core.store.get(core.key(`seen/${folderId}`));
  if (raw === undefined) return new Set();
  const v = parseJson(raw);
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw corruptStore();
  return new Set(v as RecordId[]);
}

/** Adds record ids to the seen set of a folder. */
export async function markSeen(
  core: Core,
  folderId: FolderId,
  ids: Iterable<RecordId>,
): Promise<void> {
  const seen = await seenRecords(core, folderId);
  const before = seen.size;
  for (const id of ids) seen.add(id);
  if (seen.size !== before)
    await core.store.set(core.key(`seen/${folderId}`), JSON.stringify([...seen]));
}

/**
 * Throws `RECORD_MISSING` if a record this device saw is absent from `present`, then records
 * `present` as seen.
 */
export async function checkNothingDropped(
  core: Core,
  folderId: FolderId,
  present: ReadonlySet<RecordId>,
): Promise<void> {
  for (const id of await seenRecords(core, folderId)) {
    if (!present.has(id)) {
      throw new CarnetError(
        'RECORD_MISSING',
        'A record you saw before is missing from the folder.',
      );
    }
  }
  await markSeen(core, folderId, present);
}

/** The record list entries of the latest versions. */
export function latestEntries(
  records: ReadonlyMap<RecordId, readonly VerifiedVersion[]>,
): RecordListEntry[] {
  return [...records].map(([recordId, vs]) => {
    const v = vs.at(-1)!;
    return { recordId, version: v.fields.version, versionHash: v.hash };
  });
}

/** The epoch and members of the current verified manifest. */
export interface CurrentMembership {
  epoch: number;
  members: ReadonlySet<AccountId>;
}

/**
 * Does the manifest's record-list digest describe these records, as they were when it was
 * signed? Versions written since then are peeled off newest first (by the relay's timestamps,
 * which only guide the search: a match is still a SHA-256 equality). Returns `'current'` if
 * the digest covers the latest versions, `'older'` if it covers an earlier state, `undefined`
 * if no state matches.
 */
export function matchRecordDigest(
  digest: Uint8Array,
  records: ReadonlyMap<RecordId, readonly VerifiedVersion[]>,
  current: CurrentMembership,
): 'current' | 'older' | undefined {
  const top = new Map<RecordId, number>();
  for (const [id, vs] of records) top.set(id, vs.length);
  const state = (): RecordListEntry[] => {
    const out: RecordListEntry[] = [];
    for (const [recordId, n] of top) {
      if (n === 0) continue;
      const v = records.get(recordId)![n - 1]!;
      out.push({ recordId, version: v.fields.version, versionHash: v.hash });
    }
    return out;
  };
  if (equalBytes(recordListDigest(state()), digest)) return 'current';
  const newestFirst = [...records]
    .flatMap(([recordId, vs]) => vs.map((v) => ({ recordId, v })))
    .sort((a, b) => b.v.createdAt - a.v.createdAt || b.v.fields.version - a.v.fields.version);
  for (const { recordId, v } of newestFirst) {
    // Only the top version of a record can be peeled; anything else means timestamps lie.
    if (top.get(recordId) !== v.fields.version) continue;
    // A version the manifest does not cover must have been written at the current epoch by a
    // current member. Otherwise a removed member, who still holds the old folder keys, could
    // sign a version at an old epoch and have the relay date it after the manifest.
    if (v.fields.epoch !== current.epoch || !current.members.has(v.fields.authorId)) continue;
    top.set(recordId, v.fields.version - 1);
    if (equalBytes(recordListDigest(state()), digest)) return 'older';
  }
  return undefined;
}

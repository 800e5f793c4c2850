/**
 * Folder keys, their epochs and lineage, and the encrypted patient profile.
 *
 * A folder (one patient at one practitioner) has one 32-byte folder key per epoch, epochs
 * counting from 1. The key of epoch e reaches a member by HPKE (`MEMBER_WRAP`); once opened,
 * the member's client re-seals it under its account key (`ACCOUNT_FOLDER_KEY`) so that later
 * unlocks are symmetric. Rotating to epoch e+1 seals FK_e under FK_{e+1} (`LINEAGE`): a member
 * of the newest epoch can walk down to every older key, while a removed member, who holds only
 * older keys, learns nothing newer.
 */
import { concatBytes, equalBytes, u32, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { AccountId, FolderId } from './ids';
import { openEnvelope, sealEnvelope } from './envelope';
import { asKey } from './keys';
import type { AccountKey, EncryptionPrivateKey, EncryptionPublicKey, FolderKey } from './keys';
import { encodeObjectId, isU32 } from './object-codec';
import { decodePaddedJson, encodePaddedJson, type JsonValue } from './padded-json';
import { randomBytes } from './primitives/random';
import { hmacSha256 } from './primitives/sha2';
import { KIND } from './registry';
import { unwrapWithPrivateKey, wrapToPublicKey } from './wrap';

/** The first epoch of every folder. */
export const FIRST_EPOCH = 1;

/** A fresh random folder key (for a new folder, or a new epoch). */
export function newFolderKey(): FolderKey {
  return asKey<FolderKey>(randomBytes(32));
}

/** Throws `INVALID_ARGUMENT` unless `epoch` is a u32 ≥ 1. */
export function checkEpoch(epoch: number, param = 'epoch'): void {
  if (!isU32(epoch) || epoch < FIRST_EPOCH) throw invalidArgument(param, 'a u32 ≥ 1');
}

function checkFolder(folderId: FolderId): void {
  encodeObjectId(folderId, 'folderId');
}

const COMMITMENT_DOMAIN = utf8('carnet/v1/folder-key/commitment');

/**
 * Commitment to the folder key of an epoch, published in the owner-signed manifest:
 * `HMAC-SHA256(fk, "carnet/v1/folder-key/commitment" ‖ folderId 16 ‖ u32(epoch))`. A PRF output
 * under the key itself, so it reveals nothing of the key, and no other key (nor the same key for
 * another folder or epoch) gives the same value.
 */
export function folderKeyCommitment(fk: FolderKey, folderId: FolderId, epoch: number): Uint8Array {
  checkEpoch(epoch);
  asKey<FolderKey>(fk);
  return hmacSha256(
    fk,
    concatBytes(COMMITMENT_DOMAIN, encodeObjectId(folderId, 'folderId'), u32(epoch)),
  );
}

/**
 * Checks a folder key obtained from a wrap or an invite against the commitment of the verified
 * manifest; `INTEGRITY` if it is not the folder's key of that epoch (constant-time comparison).
 */
export function checkFolderKey(
  fk: FolderKey,
  folderId: FolderId,
  epoch: number,
  commitment: Uint8Array,
): void {
  if (!equalBytes(folderKeyCommitment(fk, folderId, epoch), commitment))
    throw new CarnetError('INTEGRITY');
}

// ---------------------------------------------------------------------------------------------
// Under the account key

/** Re-seals an opened folder key under the holder's account key (`ACCOUNT_FOLDER_KEY`). */
export function sealFolderKeyForAccount(
  accountKey: AccountKey,
  fk: FolderKey,
  folderId: FolderId,
  epoch: number,
): Uint8Array {
  checkFolder(folderId);
  checkEpoch(epoch);
  asKey<FolderKey>(fk);
  return sealEnvelope(KIND.ACCOUNT_FOLDER_KEY, accountKey, fk, { folderId, epoch });
}

/** Opens a folder key sealed under the account key; `INTEGRITY` if it is not that folder's key of that epoch. */
export function openFolderKeyForAccount(
  accountKey: AccountKey,
  sealed: Uint8Array,
  folderId: FolderId,
  epoch: number,
): FolderKey {
  checkFolder(folderId);
  checkEpoch(epoch);
  return asKey<FolderKey>(
    openEnvelope(KIND.ACCOUNT_FOLDER_KEY, accountKey, sealed, { folderId, epoch }),
  );
}

// ---------------------------------------------------------------------------------------------
// To a member (HPKE)

/** Where a member wrap belongs: the folder, the epoch of the key, and the member it is for. */
export interface MemberWrapContext {
  folderId: FolderId;
  epoch: number;
  accountId: AccountId;
}

/**
 * HPKE-wraps a folder key to a member's X25519 key (`MEMBER_WRAP`). The member's account id is
 * bound into the HPKE info along with the folder and epoch, so a wrap for Alice presented to
 * Bob, or a wrap of epoch 2 presented as epoch 3, does not open.
 */
export function wrapFolderKeyToMember(
  memberEncPub: EncryptionPublicKey,
  fk: FolderKey,
  ctx: MemberWrapContext,
): Promise<Uint8Array> {
  checkMemberContext(ctx);
  asKey<FolderKey>(fk);
  return wrapToPublicKey(KIND.MEMBER_WRAP, memberEncPub, fk, memberAd(ctx));
}

/**
 * Opens a member wrap with the member's X25519 private key; `INTEGRITY` on any mismatch. Anyone
 * can wrap *a* key to a member, so before first use the caller checks the result with
 * {@link checkFolderKey} against the verified manifest's `folderKeyCommitment`.
 */
export async function unwrapFolderKeyAsMember(
  encPriv: EncryptionPrivateKey,
  wrapped: Uint8Array,
  ctx: MemberWrapContext,
): Promise<FolderKey> {
  checkMemberContext(ctx);
  return asKey<FolderKey>(
    await unwrapWithPrivateKey(KIND.MEMBER_WRAP, encPriv, wrapped, memberAd(ctx)),
  );
}

function checkMemberContext(ctx: MemberWrapContext): void {
  checkFolder(ctx.folderId);
  checkEpoch(ctx.epoch);
  encodeObjectId(ctx.accountId, 'accountId');
}

function memberAd(ctx: MemberWrapContext): MemberWrapContext {
  return { folderId: ctx.folderId, epoch: ctx.epoch, accountId: ctx.accountId };
}

// ---------------------------------------------------------------------------------------------
// Lineage

/** Seals the folder key of epoch `newerEpoch − 1` under the key of `newerEpoch` (`LINEAGE`). */
export function sealLineage(
  newerFk: FolderKey,
  olderFk: FolderKey,
  folderId: FolderId,
  newerEpoch: number,
): Uint8Array {
  checkFolder(folderId);
  checkLineageEpoch(newerEpoch);
  asKey<FolderKey>(olderFk);
  return sealEnvelope(KIND.LINEAGE, newerFk, olderFk, { folderId, epoch: newerEpoch });
}

/** Opens a lineage link: the key of epoch `newerEpoch − 1`. `INTEGRITY` if the link belongs elsewhere. */
export function openLineage(
  newerFk: FolderKey,
  sealed: Uint8Array,
  folderId: FolderId,
  newerEpoch: number,
): FolderKey {
  checkFolder(folderId);
  checkLineageEpoch(newerEpoch);
  return asKey<FolderKey>(
    openEnvelope(KIND.LINEAGE, newerFk, sealed, { folderId, epoch: newerEpoch }),
  );
}

function checkLineageEpoch(newerEpoch: number): void {
  // Epoch 1 has no predecessor, so a link "from epoch 1" cannot exist.
  if (!isU32(newerEpoch) || newerEpoch < FIRST_EPOCH + 1)
    throw invalidArgument('newerEpoch', 'a u32 ≥ 2');
}

/**
 * Finds the lineage link sealed under the key of `newerEpoch` (from a cache or the relay);
 * `undefined` if there is none.
 */
export type LineageSource = (
  newerEpoch: number,
) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/**
 * Walks the lineage from the key of `fromEpoch` down to `toEpoch` and returns every key on the
 * way, `toEpoch` to `fromEpoch` inclusive. A missing link is `RECORD_MISSING` (the relay
 * dropped it); a link that does not open is `INTEGRITY`.
 */
export async function walkLineage(
  fk: FolderKey,
  fromEpoch: number,
  toEpoch: number,
  folderId: FolderId,
  links: LineageSource,
): Promise<Map<number, FolderKey>> {
  checkFolder(folderId);
  checkEpoch(fromEpoch, 'fromEpoch');
  checkEpoch(toEpoch, 'toEpoch');
  if (toEpoch > fromEpoch)
    throw invalidArgument('toEpoch', 'at most fromEpoch: lineage only leads to older keys');
  const keys = new Map<number, FolderKey>([[fromEpoch, fk]]);
  let current = fk;
  for (let e = fromEpoch; e > toEpoch; e--) {
    const link = await links(e);
    if (link === undefined)
      throw new CarnetError('RECORD_MISSING', `The key lineage link of epoch ${e} is missing.`);
    current = openLineage(current, link, folderId, e);
    keys.set(e - 1, current);
  }
  return keys;
}

/** The folder key of `toEpoch`, reached from the key of `fromEpoch` by {@link walkLineage}. */
export async function folderKeyForEpoch(
  fk: FolderKey,
  fromEpoch: number,
  toEpoch: number,
  folderId: FolderId,
  links: LineageSource,
): Promise<FolderKey> {
  const keys = await walkLineage(fk, fromEpoch, toEpoch, folderId, links);
  return keys.get(toEpoch) as FolderKey;
}

// ---------------------------------------------------------------------------------------------
// Patient profile

/** Administrative sex, as in FHIR `Patient.gender`. */
export const SEXES = ['female', 'male', 'other', 'unknown'] as const;
/** One of {@link SEXES}. */
export type Sex = (typeof SEXES)[number];

/** The patient of a folder. Encrypted under the folder key; the relay never sees it. */
export interface PatientProfile {
  /** Display name, as the practitioner writes it. Required, non-empty. */
  name: string;
  /** `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (FHIR `date`). */
  birthDate?: string;
  sex?: Sex;
  /** A national or practice identifier (e.g. a social security number). */
  identifier?: string;
  phone?: string;
  email?: string;
  address?: string;
  note?: string;
}

const PROFILE_STRINGS = ['birthDate', 'identifier', 'phone', 'email', 'address', 'note'] as const;
const PROFILE_KEYS = new Set<string>(['name', 'sex', ...PROFILE_STRINGS]);
const BIRTH_DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;

/**
 * Seals a patient profile under the folder key of `epoch` (`FOLDER_PROFILE`), as padded
 * canonical JSON: any name shorter than about 200 bytes gives the same 256-byte plaintext.
 */
export function sealProfile(
  fk: FolderKey,
  profile: PatientProfile,
  folderId: FolderId,
  epoch: number,
): Uint8Array {
  checkFolder(folderId);
  checkEpoch(epoch);
  const json = profileJson(profile, (f, e) => invalidArgument(`profile.${f}`, e));
  return sealEnvelope(KIND.FOLDER_PROFILE, fk, encodePaddedJson(json), { folderId, epoch });
}

/** Opens a patient profile: `INTEGRITY` if it does not decrypt in this context, `FORMAT` if malformed. */
export function openProfile(
  fk: FolderKey,
  sealed: Uint8Array,
  folderId: FolderId,
  epoch: number,
): PatientProfile {
  checkFolder(folderId);
  checkEpoch(epoch);
  const v = decodePaddedJson(openEnvelope(KIND.FOLDER_PROFILE, fk, sealed, { folderId, epoch }));
  const fail = (f: string, e: string): CarnetError =>
    new CarnetError('FORMAT', `The profile's "${f}" must be ${e}.`);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('profile', 'an object');
  // Checked field by field by profileJson, which refuses anything unexpected.
  const p = v as unknown as PatientProfile;
  profileJson(p, fail);
  return p;
}

function profileJson(
  p: PatientProfile,
  fail: (field: string, expected: string) => CarnetError,
): Record<string, JsonValue> {
  if (typeof p !== 'object' || p === null) throw fail('profile', 'an object');
  for (const k of Object.keys(p)) if (!PROFILE_KEYS.has(k)) throw fail(k, 'absent (unknown field)');
  if (typeof p.name !== 'string' || p.name.trim() === '') throw fail('name', 'a non-empty string');
  const out: Record<string, JsonValue> = { name: p.name };
  for (const k of PROFILE_STRINGS) {
    const v = p[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw fail(k, 'a string');
    out[k] = v;
  }
  if (p.birthDate !== undefined && !BIRTH_DATE.test(p.birthDate))
    throw fail('birthDate', 'YYYY, YYYY-MM or YYYY-MM-DD');
  if (p.sex !== undefined) {
    if (!(SEXES as readonly string[]).includes(p.sex)) throw fail('sex', SEXES.join(', '));
    out.sex = p.sex;
  }
  return out;
}

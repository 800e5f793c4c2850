/**
 * Records: per-version data keys, encrypted record headers and signed record versions.
 *
 * A record version is three objects: its data key sealed under the folder key of the epoch it
 * was written in (`DATA_KEY`), its header sealed under that data key (`RECORD_HEADER`), and a
 * version object signed by its author (`RECORD_VERSION`) that chains to the previous version
 * and commits to the sealed header and to the file body's digest.
 */
import { concatBytes, equalBytes, u32 } from './bytes';
import { encodeObjectId, isU32, readSigned, signatureMessage, SIGNATURE_LEN } from './object-codec';
import { openEnvelope, sealEnvelope } from './envelope';
import { CarnetError, invalidArgument } from './errors';
import type { AccountId, FolderId, RecordId } from './ids';
import { asKey } from './keys';
import type { DataKey, FolderKey, IdentityPrivateKey, IdentityPublicKey } from './keys';
import { decodePaddedJson, encodePaddedJson, isJsonValue, type JsonValue } from './padded-json';
import { ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { randomBytes } from './primitives/random';
import { sha256 } from './primitives/sha2';
import { FORMAT, KIND } from './registry';

// ---------------------------------------------------------------------------------------------
// Data keys

/** Where a data key belongs: the record version it encrypts and the epoch of its folder key. */
export interface DataKeyContext {
  folderId: FolderId;
  recordId: RecordId;
  version: number;
  epoch: number;
}

/** A fresh random data key for one record version. */
export function newDataKey(): DataKey {
  return asKey<DataKey>(randomBytes(32));
}

/** Seals a record version's data key under the folder key of `ctx.epoch` (`DATA_KEY`). */
export function sealDataKey(fk: FolderKey, dek: DataKey, ctx: DataKeyContext): Uint8Array {
  checkVersionContext(ctx);
  asKey<DataKey>(dek);
  return sealEnvelope(KIND.DATA_KEY, fk, dek, dataKeyAd(ctx));
}

/**
 * Opens a sealed data key. A wrong key, a tampered byte or a key sealed for another record,
 * version, folder or epoch all fail with `INTEGRITY`.
 */
export function openDataKey(fk: FolderKey, sealed: Uint8Array, ctx: DataKeyContext): DataKey {
  checkVersionContext(ctx);
  return asKey<DataKey>(openEnvelope(KIND.DATA_KEY, fk, sealed, dataKeyAd(ctx)));
}

function dataKeyAd(ctx: DataKeyContext): DataKeyContext {
  return { folderId: ctx.folderId, recordId: ctx.recordId, version: ctx.version, epoch: ctx.epoch };
}

// ---------------------------------------------------------------------------------------------
// Record headers

/** What a record is. Encrypted: the relay never learns it. */
export const RECORD_KINDS = [
  'note',
  'observation',
  'condition',
  'allergy',
  'medication',
  'document',
  'profile',
  'encounter',
  'fhir',
] as const;

/** A record kind. */
export type RecordKind = (typeof RECORD_KINDS)[number];

/** Everything about a record version except its file body. Sealed under the version's DEK. */
export interface RecordHeader {
  kind: RecordKind;
  title: string;
  /** Free text (a note's body, a comment). */
  text?: string;
  /** Structured content (an observation's code and value, a medication's dosage…). */
  structured?: JsonValue;
  fileName?: string;
  mimeType?: string;
  /** Size in bytes of the original, unpadded file. */
  size?: number;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
}

/** Context of a record header: the version whose data key seals it. */
export interface RecordHeaderContext {
  folderId: FolderId;
  recordId: RecordId;
  version: number;
}

/**
 * Seals a record header under its version's data key (`RECORD_HEADER`). The header is encoded
 * as canonical JSON and padded (see `padded-json.ts`) so that a title's or file name's length
 * leaks only its size bucket.
 */
export function sealRecordHeader(
  dek: DataKey,
  header: RecordHeader,
  ctx: RecordHeaderContext,
): Uint8Array {
  checkHeaderContext(ctx);
  const plain = encodePaddedJson(headerToJson(header, invalidArgumentFor));
  return sealEnvelope(KIND.RECORD_HEADER, dek, plain, headerAd(ctx));
}

/**
 * Opens a sealed record header: `INTEGRITY` if it does not decrypt under `dek` in `ctx`,
 * `FORMAT` if it decrypts to something that is not a valid header.
 */
export function openRecordHeader(
  dek: DataKey,
  sealed: Uint8Array,
  ctx: RecordHeaderContext,
): RecordHeader {
  checkHeaderContext(ctx);
  const plain = openEnvelope(KIND.RECORD_HEADER, dek, sealed, headerAd(ctx));
  return headerFromJson(decodePaddedJson(plain));
}

function headerAd(ctx: RecordHeaderContext): RecordHeaderContext {
  return { folderId: ctx.folderId, recordId: ctx.recordId, version: ctx.version };
}

type Fail = (field: string, expected: string) => CarnetError;
const invalidArgumentFor: Fail = (field, expected) => invalidArgument(`header.${field}`, expected);
const formatFor: Fail = (field, expected) =>
  new CarnetError('FORMAT', `The record header's "${field}" must be ${expected}.`);

const HEADER_KEYS = new Set([
  'kind',
  'title',
  'text',
  'structured',
  'fileName',
  'mimeType',
  'size',
  'createdAt',
]);

/** Validates a header and returns the plain JSON object to encode (absent fields omitted). */
function headerToJson(h: RecordHeader, fail: Fail): Record<string, JsonValue> {
  if (typeof h !== 'object' || h === null) throw fail('header', 'an object');
  for (const k of Object.keys(h)) {
    if (!HEADER_KEYS.has(k)) throw fail(k, 'absent (unknown field)');
  }
  if (!(RECORD_KINDS as readonly string[]).includes(h.kind))
    throw fail('kind', RECORD_KINDS.join(', '));
  if (typeof h.title !== 'string') throw fail('title', 'a string');
  if (!isTimestamp(h.createdAt)) throw fail('createdAt', 'a safe non-negative integer');
  const out: Record<string, JsonValue> = { kind: h.kind, title: h.title, createdAt: h.createdAt };
  for (const k of ['text', 'fileName', 'mimeType'] as const) {
    const v = h[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw fail(k, 'a string');
    out[k] = v;
  }
  if (h.size !== undefined) {
    if (!isTimestamp(h.size)) throw fail('size', 'a safe non-negative integer');
    out.size = h.size;
  }
  if (h.structured !== undefined) {
    if (!isJsonValue(h.structured)) throw fail('structured', 'a JSON value');
    out.structured = h.structured;
  }
  return out;
}

function headerFromJson(v: JsonValue): RecordHeader {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw formatFor('header', 'an object');
  // The cast is checked field by field by headerToJson, which rejects anything unexpected.
  const h = v as unknown as RecordHeader;
  headerToJson(h, formatFor);
  return h;
}

function isTimestamp(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

// ---------------------------------------------------------------------------------------------
// Signed record versions

/** Length of a signed record version object. */
export const RECORD_VERSION_LEN = 2 + 16 + 16 + 4 + 4 + 16 + 32 + 32 + 32 + SIGNATURE_LEN;

/** What an author signs for each record version. */
export interface RecordVersionFields {
  folderId: FolderId;
  recordId: RecordId;
  /** u32, from 1. */
  version: number;
  /** `recordVersionHash` of the previous version; 32 zero bytes for version 1. */
  prevVersionHash: Uint8Array;
  /** SHA-256 of the sealed header bytes (`sealRecordHeader`'s output). */
  headerHash: Uint8Array;
  /** SHA-256 of the file content from the file-stream code; 32 zero bytes if no body. */
  bodyDigest: Uint8Array;
  /** Epoch of the folder key the version's data key is sealed under. */
  epoch: number;
  authorId: AccountId;
}

/**
 * The author's public key, or a function that finds the key of an author id among those allowed
 * to write (typically the members of the verified manifest); `undefined` means not allowed.
 */
export type AuthorKeyResolver = (
  authorId: AccountId,
) => IdentityPublicKey | undefined | Promise<IdentityPublicKey | undefined>;

const ZERO32 = new Uint8Array(32);

/** Domain string of record version signatures. */
export const RECORD_VERSION_SIGNATURE_DOMAIN = 'carnet/v1/record-version/signature';

/** SHA-256 of a sealed header, the `headerHash` of its version. */
export function headerHash(sealedHeader: Uint8Array): Uint8Array {
  return sha256(sealedHeader);
}

/**
 * Signs a record version. Returns the object bytes:
 * `01 0b | folderId 16 | recordId 16 | version u32 | epoch u32 | authorId 16 |
 * prevVersionHash 32 | headerHash 32 | bodyDigest 32 | Ed25519 signature 64`, the signature
 * covering `lp(RECORD_VERSION_SIGNATURE_DOMAIN) ‖ every byte before it`.
 */
export async function signRecordVersion(
  authorSeed: IdentityPrivateKey,
  fields: RecordVersionFields,
): Promise<Uint8Array> {
  checkVersionFields(fields, invalidArgumentFor);
  const tbs = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.RECORD_VERSION]),
    encodeObjectId(fields.folderId, 'folderId'),
    encodeObjectId(fields.recordId, 'recordId'),
    u32(fields.version),
    u32(fields.epoch),
    encodeObjectId(fields.authorId, 'authorId'),
    fields.prevVersionHash,
    fields.headerHash,
    fields.bodyDigest,
  );
  return concatBytes(
    tbs,
    await ed25519Sign(authorSeed, signatureMessage(RECORD_VERSION_SIGNATURE_DOMAIN, tbs)),
  );
}

/**
 * Verifies a signed record version and returns its fields.
 *
 * Errors, in the order checked: `TRUNCATED` / `DOWNGRADE` / `FORMAT` (malformed bytes, or a
 * version 1 with a previous hash, or a later version without one); `UNAUTHORIZED_AUTHOR` (the
 * resolver knows no key for the author, or `expected.authorId` differs); `INTEGRITY` (the
 * signature does not verify under the author's key: tampered or forged); `CONTEXT_MISMATCH`
 * (a validly signed version of another folder, record, version, epoch, previous version, header
 * or body than `expected`).
 */
export async function verifyRecordVersion(
  authorPub: IdentityPublicKey | AuthorKeyResolver,
  bytes: Uint8Array,
  expected: Partial<RecordVersionFields> = {},
): Promise<RecordVersionFields> {
  const { reader, tbs, signature } = readSigned(bytes, KIND.RECORD_VERSION, RECORD_VERSION_LEN);
  const fields: RecordVersionFields = {
    folderId: reader.id<FolderId>(),
    recordId: reader.id<RecordId>(),
    version: reader.u32(),
    epoch: reader.u32(),
    authorId: reader.id<AccountId>(),
    prevVersionHash: reader.take(32),
    headerHash: reader.take(32),
    bodyDigest: reader.take(32),
  };
  reader.end();
  checkVersionFields(
    fields,
    (f, e) => new CarnetError('FORMAT', `The record version's "${f}" must be ${e}.`),
  );
  if (expected.authorId !== undefined && expected.authorId !== fields.authorId) {
    throw new CarnetError('UNAUTHORIZED_AUTHOR');
  }
  const pub = typeof authorPub === 'function' ? await authorPub(fields.authorId) : authorPub;
  if (pub === undefined) throw new CarnetError('UNAUTHORIZED_AUTHOR');
  if (
    !(await ed25519Verify(pub, signatureMessage(RECORD_VERSION_SIGNATURE_DOMAIN, tbs), signature))
  ) {
    throw new CarnetError('INTEGRITY');
  }
  for (const k of ['folderId', 'recordId', 'version', 'epoch'] as const) {
    if (expected[k] !== undefined && expected[k] !== fields[k])
      throw new CarnetError('CONTEXT_MISMATCH');
  }
  for (const k of ['prevVersionHash', 'headerHash', 'bodyDigest'] as const) {
    const e = expected[k];
    if (e !== undefined && !equalBytes(e, fields[k])) throw new CarnetError('CONTEXT_MISMATCH');
  }
  return fields;
}

/**
 * The hash a next version puts in `prevVersionHash`, and the hash listed in the manifest's
 * record list: SHA-256 of the signed part (everything but the signature), so that the chain
 * commits to content and not to one particular signature encoding.
 */
export function recordVersionHash(bytes: Uint8Array): Uint8Array {
  const { tbs } = readSigned(bytes, KIND.RECORD_VERSION, RECORD_VERSION_LEN);
  return sha256(tbs);
}

function checkVersionFields(f: RecordVersionFields, fail: Fail): void {
  if (!isU32(f.version) || f.version < 1) throw fail('version', 'a u32 ≥ 1');
  if (!isU32(f.epoch) || f.epoch < 1) throw fail('epoch', 'a u32 ≥ 1');
  for (const k of ['prevVersionHash', 'headerHash', 'bodyDigest'] as const) {
    const v = f[k];
    if (!(v instanceof Uint8Array) || v.length !== 32) throw fail(k, '32 bytes');
  }
  const first = f.version === 1;
  if (first !== equalBytes(f.prevVersionHash, ZERO32)) {
    throw fail('prevVersionHash', 'zero for version 1 and only for version 1');
  }
}

function checkVersionContext(ctx: DataKeyContext): void {
  checkHeaderContext(ctx);
  if (!isU32(ctx.epoch) || ctx.epoch < 1) throw invalidArgument('epoch', 'a u32 ≥ 1');
}

function checkHeaderContext(ctx: RecordHeaderContext): void {
  encodeObjectId(ctx.folderId, 'folderId');
  encodeObjectId(ctx.recordId, 'recordId');
  if (!isU32(ctx.version) || ctx.version < 1) throw invalidArgument('version', 'a u32 ≥ 1');
}

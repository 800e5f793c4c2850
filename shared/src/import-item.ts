/**
 * Staged imports: what a support agent uploads under an `import` grant for the practitioner to
 * review and adopt, without being able to read anything back.
 *
 * Each item has a fresh data key (DEK). The agent:
 * - wraps the DEK to the practitioner's verified encryption key (`IMPORT_KEY_WRAP`, HPKE);
 * - seals a small header (file name, type, size…) under the DEK (`IMPORT_HEADER`);
 * - encrypts the content as an ordinary file stream under the DEK, in the context
 *   {@link importStreamContext};
 * - signs an item object (`IMPORT_ITEM`) that binds the grant, the import batch, the item
 *   number, both accounts, and hashes of the wrap, the sealed header and the plaintext content.
 *
 * The practitioner verifies the signature under the agent's pinned key and the hashes before
 * opening anything, so the relay can neither swap items between imports, nor pass off its own
 * content as the agent's (it could wrap a key of its own to the practitioner: HPKE base mode
 * does not authenticate the sender; the signed `keyWrapHash` does).
 */
import { concatBytes, equalBytes, lp, toBase64url, u32, u64, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import { openEnvelope, sealEnvelope } from './envelope';
import type { AccountId, FolderId, GrantId, RecordId } from './ids';
import { asKey } from './keys';
import type {
  DataKey,
  EncryptionPrivateKey,
  EncryptionPublicKey,
  IdentityPrivateKey,
  IdentityPublicKey,
} from './keys';
import { encodeObjectId, isU32, readSigned, signatureMessage, SIGNATURE_LEN } from './object-codec';
import { decodePaddedJson, encodePaddedJson, type JsonValue } from './padded-json';
import { ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { sha256 } from './primitives/sha2';
import { FORMAT, KIND } from './registry';
import type { FileStreamContext } from './stream/format';
import { unwrapWithPrivateKey, wrapToPublicKey } from './wrap';

/** The signed content of a staged import item. */
export interface ImportItemFields {
  grantId: GrantId;
  /** The import batch: a fresh folder id named in the grant's scope. */
  importId: FolderId;
  /** u32 item number within the import, from 1. */
  item: number;
  agentId: AccountId;
  practitionerId: AccountId;
  /** SHA-256 of the sealed header ({@link sealImportHeader}'s output). */
  headerHash: Uint8Array;
  /** SHA-256 of the plaintext content; 32 zero bytes if the item has none. */
  contentDigest: Uint8Array;
  /** SHA-256 of the key wrap ({@link wrapImportKey}'s output). */
  keyWrapHash: Uint8Array;
  /** Milliseconds since the Unix epoch, by the agent's clock. */
  at: number;
}

/** Where an item belongs: what the wrap, and the item object, are bound to. */
export interface ImportItemContext {
  grantId: GrantId;
  importId: FolderId;
  item: number;
  practitionerId: AccountId;
}

/** Where an item's header belongs. */
export interface ImportHeaderContext {
  importId: FolderId;
  item: number;
}

/** What an item is, sealed under its DEK. */
export interface ImportHeader {
  /** A FHIR bundle (JSON) or any other file. */
  type: 'fhir' | 'file';
  fileName: string;
  mimeType?: string;
  /** Size in bytes of the plaintext content. */
  size: number;
  /** Whom the item is about, as the agent knows it (shown to the practitioner for review). */
  patientName?: string;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
}

/** Domain string of import item signatures. */
export const IMPORT_ITEM_SIGNATURE_DOMAIN = 'carnet/v1/import/item';
/** Length of a signed import item. */
export const IMPORT_ITEM_LEN = 2 + 16 + 16 + 4 + 16 + 16 + 32 * 3 + 8 + SIGNATURE_LEN;

const STREAM_RECORD_DOMAIN = lp(utf8('carnet/v1/import/stream-record'));
type Fail = (field: string, expected: string) => CarnetError;
const itemFormat: Fail = (f, e) =>
  new CarnetError('FORMAT', `The import item's "${f}" must be ${e}.`);
const headerFormat: Fail = (f, e) =>
  new CarnetError('FORMAT', `The import header's "${f}" must be ${e}.`);

/**
 * Signs an import item. Layout (fixed, 238 bytes): `01 13 | grantId 16 | importId 16 |
 * item u32 | agentId 16 | practitionerId 16 | headerHash 32 | contentDigest 32 |
 * keyWrapHash 32 | at u64 | signature 64`, the signature covering
 * `lp(IMPORT_ITEM_SIGNATURE_DOMAIN) ‖ every byte before it`. `INVALID_ARGUMENT` for a malformed
 * field.
 */
export async function signImportItem(
  agentSeed: IdentityPrivateKey,
  f: ImportItemFields,
): Promise<Uint8Array> {
  checkItemFields(f, (field, e) => invalidArgument(field, e));
  const tbs = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.IMPORT_ITEM]),
    encodeObjectId(f.grantId, 'grantId'),
    encodeObjectId(f.importId, 'importId'),
    u32(f.item),
    encodeObjectId(f.agentId, 'agentId'),
    encodeObjectId(f.practitionerId, 'practitionerId'),
    f.headerHash,
    f.contentDigest,
    f.keyWrapHash,
    u64(f.at),
  );
  return concatBytes(
    tbs,
    await ed25519Sign(agentSeed, signatureMessage(IMPORT_ITEM_SIGNATURE_DOMAIN, tbs)),
  );
}

/**
 * Parses an import item's structure without checking its signature (for the relay, which
 * checks the ids against the grant and the session). `TRUNCATED` (including a stripped
 * signature) / `DOWNGRADE` / `FORMAT` / `CONTEXT_MISMATCH` (another kind).
 */
export function inspectImportItem(bytes: Uint8Array): ImportItemFields {
  return parseItem(bytes).fields;
}

/** What the practitioner expects of an item; the optional parts are checked when given. */
export interface ImportItemExpectation extends ImportItemContext {
  /** The agent named in the verified grant. */
  agentId?: AccountId;
  /** The sealed header as served: its SHA-256 must be the signed `headerHash`. */
  header?: Uint8Array;
  /** The key wrap as served: its SHA-256 must be the signed `keyWrapHash`. */
  keyWrap?: Uint8Array;
}

/**
 * Verifies an import item under the agent's key. Structure errors as in
 * {@link inspectImportItem}; `INTEGRITY` if the signature does not verify; `CONTEXT_MISMATCH`
 * for an item of another grant, import, item number, practitioner or agent, or whose served
 * header or key wrap is not the one signed.
 */
export async function verifyImportItem(
  agentPub: IdentityPublicKey,
  bytes: Uint8Array,
  expected: ImportItemExpectation,
): Promise<ImportItemFields> {
  checkContext(expected);
  const { fields, tbs, signature } = parseItem(bytes);
  if (
    !(await ed25519Verify(agentPub, signatureMessage(IMPORT_ITEM_SIGNATURE_DOMAIN, tbs), signature))
  ) {
    throw new CarnetError('INTEGRITY');
  }
  for (const k of ['grantId', 'importId', 'item', 'practitionerId'] as const) {
    if (expected[k] !== fields[k]) throw new CarnetError('CONTEXT_MISMATCH');
  }
  if (expected.agentId !== undefined && expected.agentId !== fields.agentId)
    throw new CarnetError('CONTEXT_MISMATCH');
  const hashMismatch = (b: Uint8Array | undefined, h: Uint8Array): boolean =>
    b !== undefined && !equalBytes(sha256(b), h);
  if (
    hashMismatch(expected.header, fields.headerHash) ||
    hashMismatch(expected.keyWrap, fields.keyWrapHash)
  ) {
    throw new CarnetError('CONTEXT_MISMATCH');
  }
  return fields;
}

function parseItem(bytes: Uint8Array): {
  fields: ImportItemFields;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const { reader, tbs, signature } = readSigned(bytes, KIND.IMPORT_ITEM, IMPORT_ITEM_LEN);
  const fields: ImportItemFields = {
    grantId: reader.id<GrantId>(),
    importId: reader.id<FolderId>(),
    item: reader.u32(),
    agentId: reader.id<AccountId>(),
    practitionerId: reader.id<AccountId>(),
    headerHash: reader.take(32),
    contentDigest: reader.take(32),
    keyWrapHash: reader.take(32),
    at: reader.u64(),
  };
  reader.end();
  checkItemFields(fields, itemFormat);
  return { fields, tbs, signature };
}

function checkItemFields(f: ImportItemFields, fail: Fail): void {
  if (typeof f !== 'object' || f === null) throw fail('fields', 'an object');
  for (const k of ['grantId', 'importId', 'agentId', 'practitionerId'] as const) {
    try {
      encodeObjectId(f[k], k);
    } catch {
      throw fail(k, 'a 22-character id');
    }
  }
  if (!isU32(f.item) || f.item < 1) throw fail('item', 'a u32 ≥ 1');
  for (const k of ['headerHash', 'contentDigest', 'keyWrapHash'] as const) {
    const v = f[k];
    if (!(v instanceof Uint8Array) || v.length !== 32) throw fail(k, '32 bytes');
  }
  if (typeof f.at !== 'number' || !Number.isSafeInteger(f.at) || f.at < 0)
    throw fail('at', 'a safe non-negative integer (ms)');
}

function checkContext(ctx: ImportItemContext): void {
  if (typeof ctx !== 'object' || ctx === null) throw invalidArgument('ctx', 'an object');
  encodeObjectId(ctx.grantId, 'grantId');
  encodeObjectId(ctx.importId, 'importId');
  encodeObjectId(ctx.practitionerId, 'practitionerId');
  if (!isU32(ctx.item) || ctx.item < 1) throw invalidArgument('item', 'a u32 ≥ 1');
}

// ---------------------------------------------------------------------------------------------
// Key wrap

/**
 * The AD context of an item's key wrap: the generic context fields, with the import in
 * `folderId`, the item number in `version` and the practitioner in `accountId`.
 */
function wrapAd(ctx: ImportItemContext): {
  grantId: GrantId;
  folderId: FolderId;
  version: number;
  accountId: AccountId;
} {
  checkContext(ctx);
  return {
    grantId: ctx.grantId,
    folderId: ctx.importId,
    version: ctx.item,
    accountId: ctx.practitionerId,
  };
}

/**
 * HPKE-wraps an item's data key to the practitioner's verified encryption key
 * (`IMPORT_KEY_WRAP`), bound to the grant, import, item number and practitioner.
 */
export function wrapImportKey(
  practitionerEncPub: EncryptionPublicKey,
  dek: DataKey,
  ctx: ImportItemContext,
): Promise<Uint8Array> {
  asKey<DataKey>(dek);
  return wrapToPublicKey(KIND.IMPORT_KEY_WRAP, practitionerEncPub, dek, wrapAd(ctx));
}

/**
 * Opens an item's data key as the practitioner; `INTEGRITY` if it was wrapped for another
 * grant, import, item or practitioner, or altered. Check the signed item first
 * ({@link verifyImportItem} with `keyWrap`): only the signature says the agent wrapped it.
 */
export async function unwrapImportKey(
  practitionerEncPriv: EncryptionPrivateKey,
  wrapped: Uint8Array,
  ctx: ImportItemContext,
): Promise<DataKey> {
  return asKey<DataKey>(
    await unwrapWithPrivateKey(KIND.IMPORT_KEY_WRAP, practitionerEncPriv, wrapped, wrapAd(ctx)),
  );
}

// ---------------------------------------------------------------------------------------------
// Header

function headerAd(ctx: ImportHeaderContext): { folderId: FolderId; version: number } {
  if (typeof ctx !== 'object' || ctx === null) throw invalidArgument('ctx', 'an object');
  encodeObjectId(ctx.importId, 'importId');
  if (!isU32(ctx.item) || ctx.item < 1) throw invalidArgument('item', 'a u32 ≥ 1');
  return { folderId: ctx.importId, version: ctx.item };
}

const HEADER_KEYS = new Set(['type', 'fileName', 'mimeType', 'size', 'patientName', 'createdAt']);

function headerToJson(h: ImportHeader, fail: Fail): Record<string, JsonValue> {
  if (typeof h !== 'object' || h === null) throw fail('header', 'an object');
  for (const k of Object.keys(h)) if (!HEADER_KEYS.has(k)) throw fail(k, 'absent (unknown field)');
  if (h.type !== 'fhir' && h.type !== 'file') throw fail('type', 'fhir or file');
  if (typeof h.fileName !== 'string') throw fail('fileName', 'a string');
  const count = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!count(h.size)) throw fail('size', 'a safe non-negative integer');
  if (!count(h.createdAt)) throw fail('createdAt', 'a safe non-negative integer');
  const out: Record<string, JsonValue> = {
    type: h.type,
    fileName: h.fileName,
    size: h.size,
    createdAt: h.createdAt,
  };
  for (const k of ['mimeType', 'patientName'] as const) {
    const v = h[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw fail(k, 'a string');
    out[k] = v;
  }
  return out;
}

/**
 * Seals an item's header under its DEK (`IMPORT_HEADER`), as padded canonical JSON like record
 * headers, bound to the import and item number. `INVALID_ARGUMENT` for a malformed header.
 */
export function sealImportHeader(
  dek: DataKey,
  header: ImportHeader,
  ctx: ImportHeaderContext,
): Uint8Array {
  const ad = headerAd(ctx);
  const plain = encodePaddedJson(headerToJson(header, (f, e) => invalidArgument(`header.${f}`, e)));
  return sealEnvelope(KIND.IMPORT_HEADER, dek, plain, ad);
}

/**
 * Opens an item's header: `INTEGRITY` if it does not decrypt under `dek` for this import and
 * item, `FORMAT` if it decrypts to something that is not a valid header.
 */
export function openImportHeader(
  dek: DataKey,
  sealed: Uint8Array,
  ctx: ImportHeaderContext,
): ImportHeader {
  const plain = openEnvelope(KIND.IMPORT_HEADER, dek, sealed, headerAd(ctx));
  const v = decodePaddedJson(plain);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw headerFormat('header', 'an object');
  // The cast is checked field by field by headerToJson, which rejects anything unexpected.
  const h = v as unknown as ImportHeader;
  headerToJson(h, headerFormat);
  return h;
}

// ---------------------------------------------------------------------------------------------
// Content stream

/**
 * The file-stream context of an item's content: the stream binds a (folder, record, version)
 * triple, here `(importId, streamRecordId, item)` where `streamRecordId` is the first 16 bytes of
 * `SHA-256(lp("carnet/v1/import/stream-record") ‖ importId 16 ‖ item u32)`. Use it with
 * `createFileEncryptor(dek, …)` / `createFileDecryptor(dek, …)`. The DEK is fresh per item, so
 * the context only has to keep one item's stream from passing for another's.
 */
export function importStreamContext(importId: FolderId, item: number): FileStreamContext {
  const idBytes = encodeObjectId(importId, 'importId');
  if (!isU32(item) || item < 1) throw invalidArgument('item', 'a u32 ≥ 1');
  const recordId = toBase64url(
    sha256(concatBytes(STREAM_RECORD_DOMAIN, idBytes, u32(item))).subarray(0, 16),
  ) as RecordId;
  return { folderId: importId, recordId, version: item };
}

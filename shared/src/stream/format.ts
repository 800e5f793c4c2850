/**
 * The large-file format (`KIND.FILE_STREAM`), format v1: constants, header, key schedule,
 * nonces and sizes. The byte-level description is docs/protocol-parts/30-file-stream.md.
 *
 *     header  = format u8 ‖ kind u8 ‖ cipher u8 ‖ chunkSize u32 BE ‖ salt[32] ‖ commitment[32]
 *     file    = header ‖ chunk_0 ‖ … ‖ chunk_{n-1}
 *     chunk_i = AES-256-GCM(fileKey, prefix[7] ‖ i u32 BE ‖ last u8, SHA-256(header), pt_i) ‖ tag
 *     pt      = contentLength u64 BE ‖ content ‖ zeros, |pt| = padme(8 + contentLength)
 *
 * Every chunk but the last holds exactly `chunkSize` plaintext bytes; the last holds 1 to
 * `chunkSize`. The chunking is a function of the content length alone, so the ciphertext size
 * reveals nothing beyond the Padmé length.
 */
import { concatBytes, equalBytes, u32, utf8 } from '../bytes';
import { encodeAssociatedData } from '../context';
import { CarnetError, integrityError, invalidArgument } from '../errors';
import type { FolderId, RecordId } from '../ids';
import type { DataKey } from '../keys';
import { padme } from '../padme';
import { randomBytes } from '../primitives/random';
import { hkdfSha256, sha256 } from '../primitives/sha2';
import { FORMAT, KIND, checkPrefix } from '../registry';

/** Where a file body belongs: the record version whose data key encrypts it. */
export interface FileStreamContext {
  folderId: FolderId;
  recordId: RecordId;
  /** Record version number (non-negative safe integer). */
  version: number;
}

/** Options of the encryptor. */
export interface FileStreamOptions {
  /** Plaintext bytes per chunk, {@link MIN_CHUNK_SIZE}..{@link MAX_CHUNK_SIZE}; default 1 MiB. */
  chunkSize?: number;
}

/** Cipher ids of the file format. Format v1 has exactly one; a new cipher is a new format. */
export const FILE_CIPHER = {
  AES_256_GCM: 0x01,
} as const;

/**
 * Default plaintext chunk size: 1 MiB. Measured against 64 KiB on the reference VM (see the
 * protocol document): WebCrypto's per-call cost dominates at 64 KiB, which ran at roughly half
 * the throughput.
 */
export const DEFAULT_CHUNK_SIZE = 1 << 20;
/** Smallest accepted chunk size: chunk 0 must hold the 8-byte length. Tests and vectors use it. */
export const MIN_CHUNK_SIZE = 16;
/** Largest accepted chunk size; bounds what a hostile header can make the decryptor allocate. */
export const MAX_CHUNK_SIZE = 1 << 24;
/** Length of the header salt. */
export const SALT_LEN = 32;
/** Length of the key commitment. */
export const COMMITMENT_LEN = 32;
/** Header length: format, kind, cipher, chunk size, salt, commitment. */
export const HEADER_LEN = 3 + 4 + SALT_LEN + COMMITMENT_LEN;
/** AES-GCM tag length. */
export const TAG_LEN = 16;
/** Length of the u64 content-length prefix of the plaintext stream. */
export const LENGTH_PREFIX_LEN = 8;
/** Length of the per-file nonce prefix. */
export const NONCE_PREFIX_LEN = 7;
/** Chunks per file: the nonce counter is a u32. */
export const MAX_CHUNKS = 2 ** 32;

const PARAMS_LEN = 7;
const KDF_LABEL = utf8('carnet/v1/file-stream');
const AES_KEY_LEN = 32;

/** Checks a chunk size given by the caller. */
export function checkChunkSize(chunkSize: number): void {
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw invalidArgument('chunkSize', `an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}`);
  }
}

/** Length of the padded plaintext stream (length prefix, content, zeros) for `contentLength`. */
export function paddedPlaintextLength(contentLength: number): number {
  if (!Number.isSafeInteger(contentLength) || contentLength < 0) {
    throw invalidArgument('contentLength', 'a non-negative safe integer');
  }
  return padme(LENGTH_PREFIX_LEN + contentLength);
}

/** Number of chunks of a padded plaintext stream (always ≥ 1: it holds at least the prefix). */
export function chunkCount(plaintextLength: number, chunkSize: number): number {
  return Math.ceil(plaintextLength / chunkSize);
}

/**
 * Exact size of the encrypted file for `contentLength` bytes of content, so that an uploader
 * can announce it (and a relay can check it) before the first byte is encrypted.
 */
export function paddedFileSize(
  contentLength: number,
  chunkSize: number = DEFAULT_CHUNK_SIZE,
): number {
  checkChunkSize(chunkSize);
  const p = paddedPlaintextLength(contentLength);
  const n = chunkCount(p, chunkSize);
  if (n > MAX_CHUNKS) throw invalidArgument('contentLength', 'at most 2^32 chunks');
  return HEADER_LEN + p + n * TAG_LEN;
}

/** Validates a context and encodes it as the format's associated data. */
export function fileAssociatedData(ctx: FileStreamContext): Uint8Array {
  if (typeof ctx !== 'object' || ctx === null) throw invalidArgument('ctx', 'an object');
  const { folderId, recordId, version } = ctx;
  if (folderId === undefined || recordId === undefined || version === undefined) {
    throw invalidArgument('ctx', 'a folderId, a recordId and a version');
  }
  // Only the three fields are passed on: the AD of a file body is exactly (folder, record,
  // version), whatever else the caller's object carries.
  return encodeAssociatedData(FORMAT.V1, KIND.FILE_STREAM, { folderId, recordId, version });
}

/** Checks a data key's type and length. */
export function checkDataKey(key: DataKey): void {
  if (!(key instanceof Uint8Array) || key.length !== AES_KEY_LEN) {
    throw invalidArgument('key', '32 bytes');
  }
}

/** What the key schedule yields for one file. */
export interface FileKeys {
  /** Raw AES-256 key; imported into WebCrypto then wiped. */
  aesKey: Uint8Array<ArrayBuffer>;
  commitment: Uint8Array;
  noncePrefix: Uint8Array;
}

/**
 * `okm = HKDF-SHA256(ikm = DEK, salt = header salt, info = "carnet/v1/file-stream" ‖
 * header[0..7] ‖ AD, 71)`, split into AES key (32) ‖ commitment (32) ‖ nonce prefix (7).
 * `header[0..7]` (format, kind, cipher, chunk size) and the AD (folder, record, version) have
 * fixed or self-delimiting encodings, so the info string is unambiguous. A fresh random salt per
 * file gives a fresh key and prefix per file: nonces never repeat across files under one DEK.
 * Exported for the vector generator and tests; not part of the package API.
 */
export function deriveFileKeys(
  key: Uint8Array,
  params: Uint8Array,
  salt: Uint8Array,
  ad: Uint8Array,
): FileKeys {
  const okm = hkdfSha256(
    key,
    salt,
    concatBytes(KDF_LABEL, params, ad),
    AES_KEY_LEN + COMMITMENT_LEN + NONCE_PREFIX_LEN,
  );
  const aesKey = new Uint8Array(AES_KEY_LEN);
  aesKey.set(okm.subarray(0, AES_KEY_LEN));
  const commitment = okm.slice(AES_KEY_LEN, AES_KEY_LEN + COMMITMENT_LEN);
  const noncePrefix = okm.slice(AES_KEY_LEN + COMMITMENT_LEN);
  okm.fill(0);
  return { aesKey, commitment, noncePrefix };
}

/** The first 7 header bytes: format, kind, cipher, chunk size. */
function encodeParams(chunkSize: number): Uint8Array {
  return concatBytes(
    new Uint8Array([FORMAT.V1, KIND.FILE_STREAM, FILE_CIPHER.AES_256_GCM]),
    u32(chunkSize),
  );
}

/** A file's header and the secrets derived with it. */
export interface FileSetup {
  header: Uint8Array;
  chunkSize: number;
  keys: FileKeys;
  /** SHA-256 of the header: the AD of every chunk. */
  chunkAd: Uint8Array<ArrayBuffer>;
}

function chunkAdOf(header: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(32);
  out.set(sha256(header));
  return out;
}

/** Builds a new file's header (fresh salt) and keys. `salt` is a parameter for test vectors. */
export function newFileSetup(
  key: DataKey,
  ctx: FileStreamContext,
  chunkSize: number,
  salt: Uint8Array = randomBytes(SALT_LEN),
): FileSetup {
  checkDataKey(key);
  checkChunkSize(chunkSize);
  if (!(salt instanceof Uint8Array) || salt.length !== SALT_LEN)
    throw invalidArgument('salt', '32 bytes');
  const ad = fileAssociatedData(ctx);
  const params = encodeParams(chunkSize);
  const keys = deriveFileKeys(key, params, salt, ad);
  const header = concatBytes(params, salt, keys.commitment);
  return { header, chunkSize, keys, chunkAd: chunkAdOf(header) };
}

/**
 * Parses a received header and checks its commitment before anything is decrypted.
 * Unknown format, kind, cipher or chunk size: `DOWNGRADE`/`FORMAT`/`CONTEXT_MISMATCH`;
 * wrong key, wrong context or any altered byte: `INTEGRITY`.
 */
export function openFileSetup(key: DataKey, ad: Uint8Array, header: Uint8Array): FileSetup {
  if (header.length !== HEADER_LEN) throw new CarnetError('TRUNCATED');
  checkPrefix(header, KIND.FILE_STREAM);
  if (header[2] !== FILE_CIPHER.AES_256_GCM) {
    throw new CarnetError('FORMAT', `Unknown file cipher 0x${(header[2] ?? 0).toString(16)}.`);
  }
  const chunkSize = new DataView(header.buffer, header.byteOffset + 3, 4).getUint32(0, false);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new CarnetError('FORMAT', 'File chunk size out of range.');
  }
  const params = header.subarray(0, PARAMS_LEN);
  const salt = header.subarray(PARAMS_LEN, PARAMS_LEN + SALT_LEN);
  const stored = header.subarray(PARAMS_LEN + SALT_LEN, HEADER_LEN);
  const keys = deriveFileKeys(key, params, salt, ad);
  if (!equalBytes(keys.commitment, stored)) {
    keys.aesKey.fill(0);
    throw integrityError();
  }
  return { header: header.slice(), chunkSize, keys, chunkAd: chunkAdOf(header) };
}

/** The 12-byte nonce of chunk `index`: prefix ‖ index u32 BE ‖ last-chunk flag. */
export function chunkNonce(
  prefix: Uint8Array,
  index: number,
  last: boolean,
): Uint8Array<ArrayBuffer> {
  const iv = new Uint8Array(12);
  iv.set(prefix, 0);
  new DataView(iv.buffer).setUint32(NONCE_PREFIX_LEN, index, false);
  iv[11] = last ? 1 : 0;
  return iv;
}

/** WebCrypto's SubtleCrypto, or `UNSUPPORTED`. */
export function subtleCrypto(): SubtleCrypto {
  const subtle = globalThis.crypto?.subtle;
  if (subtle === undefined)
    throw new CarnetError(
      'UNSUPPORTED',
      'WebCrypto is not available (a secure context is required).',
    );
  return subtle;
}

/** Imports the file key into WebCrypto (non-extractable) and wipes the raw bytes. */
export async function importFileKey(
  keys: FileKeys,
  usage: 'encrypt' | 'decrypt',
): Promise<CryptoKey> {
  try {
    return await subtleCrypto().importKey('raw', keys.aesKey, { name: 'AES-GCM' }, false, [usage]);
  } catch (e) {
    if (e instanceof CarnetError) throw e;
    throw new CarnetError('UNSUPPORTED', 'WebCrypto refused the AES-GCM key.', { cause: e });
  } finally {
    keys.aesKey.fill(0);
  }
}

/**
 * Key-committing symmetric envelopes for small objects (keys, headers, profiles, keyrings).
 *
 *     [format u8][kind u8][nonce 24][commitment 32][ciphertext ‖ tag 16]
 *
 * From the key and the random nonce, HKDF-SHA256 derives a one-time subkey and a commitment
 * that also covers the associated data. The commitment is compared (constant time) before
 * anything is decrypted, so a ciphertext opens under exactly one (key, context): Poly1305
 * alone would let whoever knows two keys craft one ciphertext valid under both (the
 * "invisible salamanders" / partitioning-oracle attacks).
 */
import { concatBytes, equalBytes, utf8 } from './bytes';
import { encodeAssociatedData } from './context';
import type { ObjectContext } from './context';
import { CarnetError, integrityError, invalidArgument } from './errors';
import {
  AEAD_KEY_LEN,
  AEAD_TAG_LEN,
  XNONCE_LEN,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
} from './primitives/aead';
import { randomBytes } from './primitives/random';
import { hkdfExpandSha256, hkdfExtractSha256, sha256 } from './primitives/sha2';
import { FORMAT, KIND, checkPrefix } from './registry';
import type { FormatByte, KindByte } from './registry';

/** Length of the key commitment. */
export const COMMITMENT_LEN = 32;
/** Bytes before the ciphertext: format, kind, nonce, commitment. */
export const ENVELOPE_HEADER_LEN = 2 + XNONCE_LEN + COMMITMENT_LEN;
/** Smallest well-formed envelope (empty plaintext). */
export const ENVELOPE_MIN_LEN = ENVELOPE_HEADER_LEN + AEAD_TAG_LEN;

const INFO_KEY = utf8('carnet/v1/envelope/key');
const INFO_COMMIT = utf8('carnet/v1/envelope/commitment');
const KIND_VALUES = new Set<number>(Object.values(KIND));

/**
 * `prk = HKDF-Extract(salt = nonce, ikm = key)`; `subkey = Expand(prk, INFO_KEY, 32)`;
 * `commitment = Expand(prk, INFO_COMMIT ‖ SHA-256(ad), 32)`. Exported for the vector generator
 * and the protocol document's worked example; not part of the package API.
 */
export function deriveEnvelopeKeys(
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
): { subkey: Uint8Array; commitment: Uint8Array } {
  const prk = hkdfExtractSha256(key, nonce);
  return {
    subkey: hkdfExpandSha256(prk, INFO_KEY, AEAD_KEY_LEN),
    commitment: hkdfExpandSha256(prk, concatBytes(INFO_COMMIT, sha256(ad)), COMMITMENT_LEN),
  };
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LEN)
    throw invalidArgument('key', '32 bytes');
}

/** Seals `plaintext` under `key`, bound to `kind` and `ctx`, with a fresh random nonce. */
export function sealEnvelope(
  kind: KindByte,
  key: Uint8Array,
  plaintext: Uint8Array,
  ctx: ObjectContext,
): Uint8Array {
  checkKey(key);
  if (!KIND_VALUES.has(kind)) throw invalidArgument('kind', 'a registered kind byte');
  if (!(plaintext instanceof Uint8Array)) throw invalidArgument('plaintext', 'a Uint8Array');
  const format: FormatByte = FORMAT.V1;
  const ad = encodeAssociatedData(format, kind, ctx);
  const nonce = randomBytes(XNONCE_LEN);
  const { subkey, commitment } = deriveEnvelopeKeys(key, nonce, ad);
  const ct = xchacha20poly1305Seal(subkey, nonce, plaintext, ad);
  subkey.fill(0);
  return concatBytes(new Uint8Array([format, kind]), nonce, commitment, ct);
}

/**
 * Opens an envelope. The prefix is checked first (`TRUNCATED`, `DOWNGRADE`, `FORMAT`,
 * `CONTEXT_MISMATCH` for another kind); an envelope too short to hold a tag is `TRUNCATED`;
 * every cryptographic failure (wrong key, wrong context, any altered byte) is `INTEGRITY`.
 */
export function openEnvelope(
  kind: KindByte,
  key: Uint8Array,
  envelope: Uint8Array,
  ctx: ObjectContext,
): Uint8Array {
  checkKey(key);
  if (!(envelope instanceof Uint8Array)) throw invalidArgument('envelope', 'a Uint8Array');
  const format = checkPrefix(envelope, kind);
  if (envelope.length < ENVELOPE_MIN_LEN) throw new CarnetError('TRUNCATED');
  const ad = encodeAssociatedData(format, kind, ctx);
  const nonce = envelope.subarray(2, 2 + XNONCE_LEN);
  const stored = envelope.subarray(2 + XNONCE_LEN, ENVELOPE_HEADER_LEN);
  const { subkey, commitment } = deriveEnvelopeKeys(key, nonce, ad);
  try {
    if (!equalBytes(commitment, stored)) throw integrityError();
    return xchacha20poly1305Open(subkey, nonce, envelope.subarray(ENVELOPE_HEADER_LEN), ad);
  } finally {
    subkey.fill(0);
  }
}

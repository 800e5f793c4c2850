/**
 * Typed asymmetric wraps: a secret (folder key, data key, grant private key) HPKE-sealed to
 * an X25519 public key.
 *
 *     [format u8][kind u8][enc 32][ciphertext ‖ tag 16]
 *
 * HPKE base mode, ChaCha20-Poly1305. `info = "carnet/v1/wrap" ‖ AD(format, kind, ctx) ‖ pkR`
 * binds purpose, context and recipient into the key schedule; `aad` is the 2-byte prefix.
 * Base mode does not authenticate the sender: anyone can wrap *some* key to a member, so what
 * a wrap yields must be checked against signed state (manifest, grant) by the caller.
 */
import { concatBytes, utf8 } from './bytes';
import { encodeAssociatedData } from './context';
import type { ObjectContext } from './context';
import { CarnetError, invalidArgument } from './errors';
import { hpkeSeal, hpkeSetupReceiver, HPKE_AEAD } from './hpke';
import { AEAD_TAG_LEN } from './primitives/aead';
import { X25519_LEN, x25519PublicKey } from './primitives/x25519';
import { FORMAT, KIND, checkPrefix } from './registry';
import type { FormatByte, KindByte } from './registry';

/** Bytes before the HPKE ciphertext: format, kind, enc. */
export const WRAP_HEADER_LEN = 2 + X25519_LEN;
/** Smallest well-formed wrap (empty secret). */
export const WRAP_MIN_LEN = WRAP_HEADER_LEN + AEAD_TAG_LEN;

const WRAP_DOMAIN = utf8('carnet/v1/wrap');
const KIND_VALUES = new Set<number>(Object.values(KIND));

/** The HPKE `info` of a wrap. Exported for the vector generator and the protocol document. */
export function wrapInfo(
  format: FormatByte,
  kind: KindByte,
  ctx: ObjectContext,
  recipientPublicKey: Uint8Array,
): Uint8Array {
  return concatBytes(WRAP_DOMAIN, encodeAssociatedData(format, kind, ctx), recipientPublicKey);
}

/** HPKE-wraps `secret` to `recipientPublicKey`, bound to `kind` and `ctx`. */
export async function wrapToPublicKey(
  kind: KindByte,
  recipientPublicKey: Uint8Array,
  secret: Uint8Array,
  ctx: ObjectContext,
): Promise<Uint8Array> {
  if (!KIND_VALUES.has(kind)) throw invalidArgument('kind', 'a registered kind byte');
  if (!(recipientPublicKey instanceof Uint8Array) || recipientPublicKey.length !== X25519_LEN) {
    throw invalidArgument('recipientPublicKey', '32 bytes');
  }
  if (!(secret instanceof Uint8Array)) throw invalidArgument('secret', 'a Uint8Array');
  const format: FormatByte = FORMAT.V1;
  const prefix = new Uint8Array([format, kind]);
  const { enc, ciphertext } = await hpkeSeal({
    recipientPublicKey,
    info: wrapInfo(format, kind, ctx, recipientPublicKey),
    aad: prefix,
    plaintext: secret,
  });
  return concatBytes(prefix, enc, ciphertext);
}

/**
 * Unwraps with the recipient's private key. Prefix errors as for envelopes (`TRUNCATED`,
 * `DOWNGRADE`, `FORMAT`, `CONTEXT_MISMATCH`); every cryptographic failure is `INTEGRITY`.
 */
export async function unwrapWithPrivateKey(
  kind: KindByte,
  recipientPrivateKey: Uint8Array,
  wrapped: Uint8Array,
  ctx: ObjectContext,
): Promise<Uint8Array> {
  if (!(recipientPrivateKey instanceof Uint8Array) || recipientPrivateKey.length !== X25519_LEN) {
    throw invalidArgument('recipientPrivateKey', '32 bytes');
  }
  if (!(wrapped instanceof Uint8Array)) throw invalidArgument('wrapped', 'a Uint8Array');
  const format = checkPrefix(wrapped, kind);
  if (wrapped.length < WRAP_MIN_LEN) throw new CarnetError('TRUNCATED');
  // Encoded before any asymmetric work so that a bad context fails fast, as INVALID_ARGUMENT.
  encodeAssociatedData(format, kind, ctx);
  const recipientPublicKey = await x25519PublicKey(recipientPrivateKey);
  const context = await hpkeSetupReceiver({
    aead: HPKE_AEAD.CHACHA20POLY1305,
    recipientPrivateKey,
    recipientPublicKey,
    enc: wrapped.subarray(2, WRAP_HEADER_LEN),
    info: wrapInfo(format, kind, ctx, recipientPublicKey),
  });
  return context.open(wrapped.subarray(0, 2), wrapped.subarray(WRAP_HEADER_LEN));
}

/**
 * Ed25519 (RFC 8032, pure) through WebCrypto where available, noble otherwise.
 *
 * noble verifies with `zip215: false` (RFC 8032 / strict encodings), so that both backends
 * refuse the same Wycheproof-invalid signatures: a signature one client accepts and another
 * refuses would let a malicious signer show different histories to different members.
 */
import { ed25519 as nobleEd25519 } from '@noble/curves/ed25519.js';
import { fromBase64url, toHex } from '../bytes';
import { integrityError, invalidArgument } from '../errors';
import { randomBytes } from './random';
import { bufferOf, importPrivateKey, pkcs8, resolveSubtle } from './backend';

/** Length of an Ed25519 seed and public key. */
export const ED25519_KEY_LEN = 32;
/** Length of an Ed25519 signature. */
export const ED25519_SIG_LEN = 64;

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_KEY_LEN) {
    throw invalidArgument('seed', '32 bytes');
  }
}

/** A fresh Ed25519 key pair; the private key is the 32-byte RFC 8032 seed. */
export async function ed25519Keygen(): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  // The seed is drawn here rather than by WebCrypto so both backends produce the same kind of
  // secret, and WebCrypto never needs an extractable private key.
  const privateKey = randomBytes(ED25519_KEY_LEN);
  return { privateKey, publicKey: await ed25519PublicKey(privateKey) };
}

/** The public key of a 32-byte seed. */
export async function ed25519PublicKey(seed: Uint8Array): Promise<Uint8Array> {
  checkSeed(seed);
  const subtle = await resolveSubtle('Ed25519');
  if (subtle === undefined) return nobleEd25519.getPublicKey(seed);
  const key = await subtle.importKey('pkcs8', pkcs8('Ed25519', seed), { name: 'Ed25519' }, true, [
    'sign',
  ]);
  const jwk = await subtle.exportKey('jwk', key);
  if (typeof jwk.x !== 'string') throw integrityError();
  return fromBase64url(jwk.x);
}

/** Signs `msg` (deterministic: same seed and message, same signature on both backends). */
export async function ed25519Sign(seed: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  checkSeed(seed);
  const subtle = await resolveSubtle('Ed25519');
  if (subtle === undefined) return nobleEd25519.sign(msg, seed);
  const { key } = await importPrivateKey(subtle, 'Ed25519', seed);
  return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, bufferOf(msg)));
}

/** Public keys already checked by {@link isStrictPublicKey}; bounded so it cannot grow forever. */
const strictKeyCache = new Map<string, boolean>();
const STRICT_KEY_CACHE_MAX = 16_384;

/**
 * A public key is acceptable only if it is a canonical encoding of a point that is not of small
 * order. OpenSSL's Ed25519 (Node's WebCrypto) accepts the small-order key `01 00…00` with the
 * identity signature on any message; noble in strict mode refuses it. Checking here makes both
 * backends agree, whatever the caller verified the key against. Cached: the same owner keys are
 * verified thousands of times when a practice opens.
 */
function isStrictPublicKey(publicKey: Uint8Array): boolean {
  const hex = toHex(publicKey);
  const known = strictKeyCache.get(hex);
  if (known !== undefined) return known;
  let ok: boolean;
  try {
    ok = !nobleEd25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    ok = false;
  }
  if (strictKeyCache.size >= STRICT_KEY_CACHE_MAX) strictKeyCache.clear();
  strictKeyCache.set(hex, ok);
  return ok;
}

/** Imported WebCrypto verify keys by public key: a practice verifies the same owner keys thousands of times. */
const verifyKeyCache = new Map<string, Promise<CryptoKey>>();

function importVerifyKey(subtle: SubtleCrypto, publicKey: Uint8Array): Promise<CryptoKey> {
  const hex = toHex(publicKey);
  let key = verifyKeyCache.get(hex);
  if (key === undefined) {
    if (verifyKeyCache.size >= STRICT_KEY_CACHE_MAX) verifyKeyCache.clear();
    key = subtle.importKey('raw', bufferOf(publicKey), { name: 'Ed25519' }, false, ['verify']);
    // A failed import must not stay cached as a rejected promise.
    key.catch(() => verifyKeyCache.delete(hex));
    verifyKeyCache.set(hex, key);
  }
  return key;
}

/**
 * Verifies a signature. Public keys of small order or in non-canonical encoding are refused on
 * both backends. Never throws on malformed input (wrong lengths, invalid point
 * encodings, non-canonical S): the answer is simply `false`.
 */
export async function ed25519Verify(
  publicKey: Uint8Array,
  msg: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  if (
    !(publicKey instanceof Uint8Array) ||
    !(msg instanceof Uint8Array) ||
    !(sig instanceof Uint8Array) ||
    publicKey.length !== ED25519_KEY_LEN ||
    sig.length !== ED25519_SIG_LEN
  ) {
    return false;
  }
  if (!isStrictPublicKey(publicKey)) return false;
  try {
    const subtle = await resolveSubtle('Ed25519');
    if (subtle === undefined) return nobleEd25519.verify(sig, msg, publicKey, { zip215: false });
    const key = await importVerifyKey(subtle, publicKey);
    return await subtle.verify({ name: 'Ed25519' }, key, bufferOf(sig), bufferOf(msg));
  } catch {
    return false;
  }
}

/**
 * X25519 (RFC 7748) through WebCrypto where available, noble otherwise (see `backend.ts`).
 *
 * Both paths refuse low-order public keys with `INTEGRITY`: WebCrypto fails the derivation and
 * noble rejects the point before the ladder. An all-zero shared secret would make every
 * "secret" derived from it public, so it is never returned.
 */
import { x25519 as nobleX25519 } from '@noble/curves/ed25519.js';
import { integrityError, invalidArgument } from '../errors';
import { bufferOf, importPrivateKey, resolveSubtle } from './backend';
import { randomBytes } from './random';

/** Length of X25519 private keys, public keys and shared secrets. */
export const X25519_LEN = 32;

function checkKey(param: string, k: Uint8Array): void {
  if (!(k instanceof Uint8Array) || k.length !== X25519_LEN)
    throw invalidArgument(param, '32 bytes');
}

/** u = 9, the base point: deriving against it yields the public key of a non-extractable key. */
const BASE_POINT = new Uint8Array(32);
BASE_POINT[0] = 9;
let basePointKey: Promise<CryptoKey> | undefined;

async function webPublicKey(subtle: SubtleCrypto, privateKey: Uint8Array): Promise<Uint8Array> {
  const entry = await importPrivateKey(subtle, 'X25519', privateKey);
  if (entry.publicKey === undefined) {
    basePointKey ??= subtle.importKey('raw', BASE_POINT, { name: 'X25519' }, false, []);
    const bits = await subtle.deriveBits(
      { name: 'X25519', public: await basePointKey },
      entry.key,
      256,
    );
    entry.publicKey = new Uint8Array(bits);
  }
  return Uint8Array.from(entry.publicKey);
}

/** A fresh X25519 key pair from the platform CSPRNG. */
export async function x25519Keygen(): Promise<{ privateKey: Uint8Array; publicKey: Uint8Array }> {
  // Any 32 random bytes are a valid private key (clamping happens at use). Drawing them here
  // keeps both backends alike and never needs WebCrypto to export a private key.
  const privateKey = randomBytes(X25519_LEN);
  return { privateKey, publicKey: await x25519PublicKey(privateKey) };
}

/** The public key of an X25519 private key (clamping is applied, as RFC 7748 requires). */
export async function x25519PublicKey(privateKey: Uint8Array): Promise<Uint8Array> {
  checkKey('privateKey', privateKey);
  const subtle = await resolveSubtle('X25519');
  if (subtle === undefined) return nobleX25519.getPublicKey(privateKey);
  return webPublicKey(subtle, privateKey);
}

/**
 * The X25519 shared secret. A low-order public key (all-zero result) is `INTEGRITY`, since it
 * comes from the other party, usually an attacker; wrong lengths are `INVALID_ARGUMENT`.
 */
export async function x25519(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  checkKey('privateKey', privateKey);
  checkKey('publicKey', publicKey);
  const subtle = await resolveSubtle('X25519');
  let shared: Uint8Array;
  if (subtle === undefined) {
    try {
      shared = nobleX25519.getSharedSecret(privateKey, publicKey);
    } catch {
      throw integrityError();
    }
  } else {
    const { key: sk } = await importPrivateKey(subtle, 'X25519', privateKey);
    try {
      const pk = await subtle.importKey('raw', bufferOf(publicKey), { name: 'X25519' }, false, []);
      shared = new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pk }, sk, 256));
    } catch {
      throw integrityError();
    }
  }
  // Belt and braces: both backends already refuse low-order points, but the RFC 7748 §6.1
  // check costs nothing and does not depend on either library's internals.
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw integrityError();
  return shared;
}

/**
 * Ephemeral-static X25519 for HPKE encapsulation: a fresh key pair and its shared secret with
 * `peerPublicKey`. On WebCrypto the ephemeral private key is generated inside WebCrypto and
 * never exported, which also spares the PKCS#8 import of a key used only once.
 */
export async function x25519Ephemeral(
  peerPublicKey: Uint8Array,
): Promise<{ publicKey: Uint8Array; shared: Uint8Array }> {
  checkKey('publicKey', peerPublicKey);
  const subtle = await resolveSubtle('X25519');
  if (subtle === undefined) {
    const { privateKey, publicKey } = await x25519Keygen();
    return { publicKey, shared: await x25519(privateKey, peerPublicKey) };
  }
  const pair = (await subtle.generateKey({ name: 'X25519' }, false, [
    'deriveBits',
  ])) as CryptoKeyPair;
  const publicKey = new Uint8Array(await subtle.exportKey('raw', pair.publicKey));
  let shared: Uint8Array;
  try {
    const pk = await subtle.importKey(
      'raw',
      bufferOf(peerPublicKey),
      { name: 'X25519' },
      false,
      [],
    );
    shared = new Uint8Array(
      await subtle.deriveBits({ name: 'X25519', public: pk }, pair.privateKey, 256),
    );
  } catch {
    throw integrityError();
  }
  if (shared.every((b) => b === 0)) throw integrityError();
  return { publicKey, shared };
}

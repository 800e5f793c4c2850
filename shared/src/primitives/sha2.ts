/**
 * SHA-256, HMAC-SHA256 and HKDF-SHA256 (RFC 5869), synchronous, from noble. Synchronous on
 * purpose: key commitment and AD hashing run inside synchronous envelope code, and WebCrypto's
 * promise round trip costs more than hashing a few dozen bytes.
 */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { invalidArgument } from '../errors';

/** Output length of SHA-256 in bytes. */
export const SHA256_LEN = 32;

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** HMAC-SHA256 (RFC 2104). */
export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, msg);
}

/** HKDF-Extract with SHA-256; an absent salt is `HashLen` zero bytes (RFC 5869 §2.2). */
export function hkdfExtractSha256(ikm: Uint8Array, salt: Uint8Array | undefined): Uint8Array {
  return extract(nobleSha256, ikm, salt);
}

/** HKDF-Expand with SHA-256; `length` must be 0..255·32 bytes. */
export function hkdfExpandSha256(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkLength(length);
  if (prk.length < SHA256_LEN) throw invalidArgument('prk', 'at least 32 bytes');
  return expand(nobleSha256, prk, info, length);
}

/** HKDF-SHA256 (RFC 5869): extract then expand. */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
): Uint8Array {
  checkLength(length);
  return expand(nobleSha256, extract(nobleSha256, ikm, salt), info, length);
}

function checkLength(length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > 255 * SHA256_LEN) {
    throw invalidArgument('length', 'an integer from 0 to 8160');
  }
}

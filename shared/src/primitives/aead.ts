/**
 * ChaCha20-Poly1305 (RFC 8439) and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha), from noble.
 * WebCrypto has neither. Every authentication failure is the uniform `INTEGRITY` error; wrong
 * key or nonce lengths are caller bugs and throw `INVALID_ARGUMENT`.
 */
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { integrityError, invalidArgument } from '../errors';

/** Key length of both ciphers. */
export const AEAD_KEY_LEN = 32;
/** Poly1305 tag length. */
export const AEAD_TAG_LEN = 16;
/** XChaCha20-Poly1305 nonce length. */
export const XNONCE_LEN = 24;
/** ChaCha20-Poly1305 nonce length. */
export const NONCE_LEN = 12;

function check(
  key: Uint8Array,
  nonce: Uint8Array,
  nonceLen: number,
  data: Uint8Array,
  aad: Uint8Array,
): void {
  if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LEN)
    throw invalidArgument('key', '32 bytes');
  if (!(nonce instanceof Uint8Array) || nonce.length !== nonceLen) {
    throw invalidArgument('nonce', `${nonceLen} bytes`);
  }
  if (!(data instanceof Uint8Array)) throw invalidArgument('data', 'a Uint8Array');
  if (!(aad instanceof Uint8Array)) throw invalidArgument('aad', 'a Uint8Array');
}

/** XChaCha20-Poly1305 encryption; returns ciphertext ‖ tag. */
export function xchacha20poly1305Seal(
  key: Uint8Array,
  nonce24: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  check(key, nonce24, XNONCE_LEN, plaintext, aad);
  return xchacha20poly1305(key, nonce24, aad).encrypt(plaintext);
}

/** XChaCha20-Poly1305 decryption of ciphertext ‖ tag; `INTEGRITY` on any failure. */
export function xchacha20poly1305Open(
  key: Uint8Array,
  nonce24: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  check(key, nonce24, XNONCE_LEN, ciphertext, aad);
  if (ciphertext.length < AEAD_TAG_LEN) throw integrityError();
  try {
    return xchacha20poly1305(key, nonce24, aad).decrypt(ciphertext);
  } catch {
    throw integrityError();
  }
}

/** ChaCha20-Poly1305 (RFC 8439) encryption; returns ciphertext ‖ tag. */
export function chacha20poly1305Seal(
  key: Uint8Array,
  nonce12: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  check(key, nonce12, NONCE_LEN, plaintext, aad);
  return chacha20poly1305(key, nonce12, aad).encrypt(plaintext);
}

/** ChaCha20-Poly1305 decryption of ciphertext ‖ tag; `INTEGRITY` on any failure. */
export function chacha20poly1305Open(
  key: Uint8Array,
  nonce12: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  check(key, nonce12, NONCE_LEN, ciphertext, aad);
  if (ciphertext.length < AEAD_TAG_LEN) throw integrityError();
  try {
    return chacha20poly1305(key, nonce12, aad).decrypt(ciphertext);
  } catch {
    throw integrityError();
  }
}

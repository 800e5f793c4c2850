/**
 * Choice of implementation for the asymmetric primitives (X25519, Ed25519).
 *
 * WebCrypto is preferred where the platform has the algorithm: it is native code, constant
 * time, and several times faster than pure JS. noble is the fallback for platforms without it
 * (older Safari and Chromium builds) and is the reference the tests compare WebCrypto against.
 * Symmetric primitives (SHA-2, HKDF, ChaCha20-Poly1305) always use noble: WebCrypto has no
 * ChaCha, and HKDF must be synchronous for the envelope code.
 */
import { equalBytes } from '../bytes';
import { CarnetError, invalidArgument } from '../errors';
import { sha256 } from './sha2';

/** `auto`: WebCrypto if the platform supports the algorithm, else noble. */
export type Backend = 'auto' | 'webcrypto' | 'noble';

/** An asymmetric algorithm that may come from WebCrypto. */
export type WebCryptoAlgorithm = 'X25519' | 'Ed25519';

let current: Backend = 'auto';

/** Selects the backend for X25519 and Ed25519 (tests force each path). */
export function setBackend(b: Backend): void {
  if (b !== 'auto' && b !== 'webcrypto' && b !== 'noble') {
    throw invalidArgument('backend', "'auto', 'webcrypto' or 'noble'");
  }
  current = b;
}

/** The backend currently selected. */
export function getBackend(): Backend {
  return current;
}

/** PKCS#8 prefixes (RFC 8410) for a raw 32-byte private key; WebCrypto has no raw import. */
const PKCS8_PREFIX: Record<WebCryptoAlgorithm, Uint8Array> = {
  // SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.110 }, OCTET STRING { OCTET STRING (32) } }
  X25519: new Uint8Array([
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
  ]),
  // Same with OID 1.3.101.112.
  Ed25519: new Uint8Array([
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
  ]),
};

/** Wraps a raw 32-byte private key (or Ed25519 seed) as PKCS#8 DER. Internal. */
export function pkcs8(alg: WebCryptoAlgorithm, raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = PKCS8_PREFIX[alg];
  const out = new Uint8Array(prefix.length + raw.length);
  out.set(prefix, 0);
  out.set(raw, prefix.length);
  return out;
}

/** Copies bytes into a fresh ArrayBuffer-backed array, as WebCrypto's typings require. */
export function bufferOf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

const probes = new Map<WebCryptoAlgorithm, Promise<boolean>>();

/**
 * Does this platform's WebCrypto implement `alg`? Probed once by generating a key pair, because
 * feature detection by name is unreliable (some engines list the name but throw on use).
 */
function probe(alg: WebCryptoAlgorithm): Promise<boolean> {
  let p = probes.get(alg);
  if (p === undefined) {
    const subtle = globalThis.crypto?.subtle;
    p =
      subtle === undefined
        ? Promise.resolve(false)
        : subtle
            .generateKey(
              { name: alg },
              false,
              alg === 'X25519' ? ['deriveBits'] : ['sign', 'verify'],
            )
            .then(
              () => true,
              () => false,
            );
    probes.set(alg, p);
  }
  return p;
}

/**
 * Forgets what the WebCrypto probes found, so the next operation probes again. For tests that
 * simulate a platform without X25519/Ed25519 — a browser cannot reload a module to reset it.
 */
export function forgetWebCryptoProbes(): void {
  probes.clear();
}

/**
 * Resolves which implementation to use for `alg` now: the WebCrypto `SubtleCrypto` object, or
 * `undefined` for noble. A forced `webcrypto` backend on a platform without the algorithm is an
 * `UNSUPPORTED` error rather than a silent fallback, so tests cannot pass on the wrong path.
 */
export async function resolveSubtle(alg: WebCryptoAlgorithm): Promise<SubtleCrypto | undefined> {
  const b = current;
  if (b === 'noble') return undefined;
  const ok = await probe(alg);
  if (ok) return globalThis.crypto.subtle;
  if (b === 'webcrypto') throw new CarnetError('UNSUPPORTED', `WebCrypto lacks ${alg}.`);
  return undefined;
}

/** An imported private key, with what has been learnt about it. */
export interface CachedPrivateKey {
  /** Non-extractable WebCrypto key. */
  readonly key: CryptoKey;
  /** The matching public key, once computed. */
  publicKey?: Uint8Array;
}

interface CacheEntry extends CachedPrivateKey {
  /** SHA-256 of the raw key: detects a caller reusing or wiping the array, without a copy of it. */
  readonly digest: Uint8Array;
}

let keyCache = new WeakMap<Uint8Array, Map<WebCryptoAlgorithm, CacheEntry>>();

/**
 * The WebCrypto key for a raw private key, imported once per array. Importing PKCS#8 costs
 * about 0.6 ms in Node (more than the X25519 operation itself), and the same keyring key is
 * used for every unwrap of a session, so the import is cached, keyed by the array's identity
 * (a WeakMap: it goes when the array goes) and checked against a digest of its contents.
 */
export async function importPrivateKey(
  subtle: SubtleCrypto,
  alg: WebCryptoAlgorithm,
  raw: Uint8Array,
): Promise<CachedPrivateKey> {
  const digest = sha256(raw);
  let perAlg = keyCache.get(raw);
  const hit = perAlg?.get(alg);
  if (hit !== undefined && equalBytes(hit.digest, digest)) return hit;
  const usages: KeyUsage[] = alg === 'X25519' ? ['deriveBits'] : ['sign'];
  const key = await subtle.importKey('pkcs8', pkcs8(alg, raw), { name: alg }, false, usages);
  const entry: CacheEntry = { key, digest };
  if (perAlg === undefined) {
    perAlg = new Map();
    keyCache.set(raw, perAlg);
  }
  perAlg.set(alg, entry);
  return entry;
}

/**
 * Drops every cached WebCrypto private key. Call on lock: wiping a key array makes its cache
 * entry unusable, but only this releases the imported keys at once.
 */
export function clearKeyCache(): void {
  keyCache = new WeakMap();
}

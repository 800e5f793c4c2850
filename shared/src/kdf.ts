/**
 * Password key derivation: Argon2id (RFC 9106) then HKDF-SHA256 into two independent keys.
 *
 * - `authKey` is sent to the relay at login; the relay stores only a hash of it.
 * - `keyringKey` never leaves the client; it opens the password-sealed keyring.
 *
 * Both come from one Argon2id output through HKDF with distinct `info` labels, so the relay,
 * which learns `authKey`, learns nothing about `keyringKey` (HKDF outputs under different
 * labels are independent PRF outputs).
 *
 * The floor (m ≥ 64 MiB, t ≥ 3) is enforced here, on the client, because the parameters come
 * from the relay: a malicious relay could otherwise hand out cheap parameters and brute-force
 * the `authKey` it then receives.
 */
import { argon2idAsync as nobleArgon2id } from '@noble/hashes/argon2.js';
import { argon2id as wasmArgon2id } from 'hash-wasm';
import { concatBytes, equalBytes, lp, u32, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import { asKey, type AuthKey, type KeyringKey } from './keys';
import { hkdfSha256, hmacSha256 } from './primitives/sha2';
import { randomBytes } from './primitives/random';

/** Argon2id parameters, as stored by the relay and bound into the sealed keyring. */
export interface KdfParams {
  /** Only Argon2id (version 0x13) exists in format v1. */
  alg: 'argon2id';
  /** Memory cost in KiB (Argon2 `m`). */
  memoryKiB: number;
  /** Passes over memory (Argon2 `t`). */
  iterations: number;
  /** Lanes (Argon2 `p`). */
  parallelism: number;
  /** Per-account random salt, 16 bytes when Carnet makes it. */
  salt: Uint8Array;
}

/** Parameters Carnet uses for new accounts: 64 MiB, 3 passes, 1 lane (OWASP's second option). */
export const KDF_DEFAULTS = { memoryKiB: 64 * 1024, iterations: 3, parallelism: 1 } as const;

/** The client refuses anything below this, whatever the relay says. */
export const KDF_FLOOR = { memoryKiB: 64 * 1024, iterations: 3 } as const;

/**
 * Upper bounds: a malicious relay must not be able to make the client allocate gigabytes or
 * spin for minutes. Beyond these the parameters are malformed (`FORMAT`).
 */
export const KDF_CEILING = {
  memoryKiB: 1024 * 1024,
  iterations: 64,
  parallelism: 16,
  saltLength: 64,
} as const;

/** Salts shorter than this are too weak (RFC 9106 recommends 16 bytes). */
export const KDF_MIN_SALT_LENGTH = 16;

/** Argon2 itself needs 8 bytes of salt; shorter is malformed (`FORMAT`). */
const ARGON2_MIN_SALT_LENGTH = 8;

/** Algorithm byte of Argon2id version 0x13 in the binary encoding. */
const ALG_ARGON2ID_13 = 0x01;

/** HKDF `info` labels; distinct, so the two keys are independent. */
export const KDF_LABELS = {
  authKey: 'carnet/v1/login/auth-key',
  keyringKey: 'carnet/v1/login/keyring-key',
  fakeSalt: 'carnet/v1/login/fake-salt',
} as const;

/** Which Argon2id implementation to run. `auto`: hash-wasm, or noble if WASM is unavailable. */
export type Argon2Implementation = 'auto' | 'wasm' | 'noble';

/** Options of {@link deriveLoginKeys}. */
export interface DeriveOptions {
  /** Force an implementation (tests and benchmarks compare them). */
  implementation?: Argon2Implementation;
  /**
   * TEST ONLY: skip the floor so unit tests can use tiny parameters. Production code never
   * sets it; the floor itself is tested separately.
   */
  unsafeSkipFloorForTests?: boolean;
}

/** The two keys derived from a password. */
export interface LoginKeys {
  /** Sent to the relay at login. */
  authKey: AuthKey;
  /** Opens the password-sealed keyring; never sent. */
  keyringKey: KeyringKey;
}

/** Fresh parameters for a new account: the defaults and a random 16-byte salt. */
export function newKdfParams(): KdfParams {
  return { alg: 'argon2id', ...KDF_DEFAULTS, salt: randomBytes(16) };
}

/** Throws `FORMAT` unless `params` is structurally valid and within {@link KDF_CEILING}. */
function assertWellFormed(params: KdfParams): void {
  const { memoryKiB: m, iterations: t, parallelism: p, salt } = params;
  const int = (n: number, max: number): boolean => Number.isInteger(n) && n >= 1 && n <= max;
  if (
    params.alg !== 'argon2id' ||
    !int(p, KDF_CEILING.parallelism) ||
    !int(t, KDF_CEILING.iterations) ||
    !int(m, KDF_CEILING.memoryKiB) ||
    !(salt instanceof Uint8Array) ||
    salt.length < ARGON2_MIN_SALT_LENGTH ||
    salt.length > KDF_CEILING.saltLength
  ) {
    throw new CarnetError('FORMAT', 'The key derivation parameters are malformed.');
  }
}

/**
 * Throws `KDF_TOO_WEAK` if `params` is below {@link KDF_FLOOR} (or the salt is short), and
 * `FORMAT` if it is malformed or beyond {@link KDF_CEILING}.
 */
export function assertKdfFloor(params: KdfParams): void {
  assertWellFormed(params);
  if (
    params.memoryKiB < KDF_FLOOR.memoryKiB ||
    params.iterations < KDF_FLOOR.iterations ||
    params.salt.length < KDF_MIN_SALT_LENGTH
  ) {
    throw new CarnetError('KDF_TOO_WEAK');
  }
}

/**
 * Checks the floor, then refuses parameters weaker than the ones this client last saw for the
 * account (less memory or fewer passes): `KDF_TOO_WEAK`. Parallelism is not compared: more
 * lanes at equal `m` and `t` do not cut an attacker's total work.
 */
export function assertKdfNotWeaker(params: KdfParams, lastSeen?: KdfParams): void {
  assertKdfFloor(params);
  if (lastSeen === undefined) return;
  if (params.memoryKiB < lastSeen.memoryKiB || params.iterations < lastSeen.iterations) {
    throw new CarnetError('KDF_TOO_WEAK');
  }
}

/** Binary encoding of {@link KdfParams} (see docs/protocol-parts/20-accounts-keyring.md). */
export function encodeKdfParams(params: KdfParams): Uint8Array {
  assertWellFormed(params);
  const p = params.parallelism;
  return concatBytes(
    new Uint8Array([ALG_ARGON2ID_13]),
    u32(params.memoryKiB),
    u32(params.iterations),
    new Uint8Array([p, params.salt.length]),
    params.salt,
  );
}

/** Fixed part of the encoding: alg, m, t, p, salt length. */
const KDF_FIXED_LEN = 11;

/**
 * Reads an encoding made by {@link encodeKdfParams} at the start of `bytes`, and returns the
 * parameters and the number of bytes consumed. Throws `TRUNCATED` or `FORMAT`.
 */
export function readKdfParams(
  bytes: Uint8Array,
  offset = 0,
): { params: KdfParams; length: number } {
  if (bytes.length - offset < KDF_FIXED_LEN) throw new CarnetError('TRUNCATED');
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, KDF_FIXED_LEN);
  if (view.getUint8(0) !== ALG_ARGON2ID_13) {
    throw new CarnetError('FORMAT', 'Unknown key derivation algorithm.');
  }
  const saltLen = view.getUint8(10);
  const end = offset + KDF_FIXED_LEN + saltLen;
  if (bytes.length < end) throw new CarnetError('TRUNCATED');
  const params: KdfParams = {
    alg: 'argon2id',
    memoryKiB: view.getUint32(1, false),
    iterations: view.getUint32(5, false),
    parallelism: view.getUint8(9),
    salt: bytes.slice(offset + KDF_FIXED_LEN, end),
  };
  assertWellFormed(params);
  return { params, length: end - offset };
}

/** Decodes exactly one {@link encodeKdfParams} encoding (trailing bytes are `FORMAT`). */
export function decodeKdfParams(bytes: Uint8Array): KdfParams {
  const { params, length } = readKdfParams(bytes);
  if (length !== bytes.length)
    throw new CarnetError('FORMAT', 'Trailing bytes after KDF parameters.');
  return params;
}

/** True if both parameter sets are identical (salt included). */
export function kdfParamsEqual(a: KdfParams, b: KdfParams): boolean {
  return equalBytes(encodeKdfParams(a), encodeKdfParams(b));
}

/** NFKC, so that the same password typed on two keyboards derives the same keys. */
export function normalizePassword(password: string): Uint8Array {
  if (typeof password !== 'string' || password.length === 0) {
    throw invalidArgument('password', 'a non-empty string');
  }
  return utf8(password.normalize('NFKC'));
}

/** Set once hash-wasm has failed to load (no WebAssembly, or a CSP without wasm-unsafe-eval). */
let wasmUnavailable = false;

/**
 * Raw Argon2id, 32-byte output, with the chosen implementation. Exported for the tests and
 * benchmarks that compare implementations; applications call {@link deriveLoginKeys}.
 */
export async function argon2idRaw(
  password: Uint8Array,
  params: Pick<KdfParams, 'memoryKiB' | 'iterations' | 'parallelism' | 'salt'>,
  implementation: Argon2Implementation = 'auto',
): Promise<Uint8Array> {
  const useWasm =
    implementation === 'wasm' ||
    (implementation === 'auto' && !wasmUnavailable && typeof WebAssembly === 'object');
  if (useWasm) {
    try {
      return await wasmArgon2id({
        password,
        salt: params.salt,
        iterations: params.iterations,
        parallelism: params.parallelism,
        memorySize: params.memoryKiB,
        hashLength: 32,
        outputType: 'binary',
      });
    } catch (e) {
      if (implementation === 'wasm') {
        throw new CarnetError('UNSUPPORTED', 'Argon2id (WebAssembly) failed.', { cause: e });
      }
      // Same output either way (tested); only the speed differs.
      wasmUnavailable = true;
    }
  }
  try {
    return await nobleArgon2id(password, params.salt, {
      m: params.memoryKiB,
      t: params.iterations,
      p: params.parallelism,
      dkLen: 32,
      // Yield to the event loop often enough that a UI thread stays responsive.
      asyncTick: 50,
    });
  } catch (e) {
    throw new CarnetError('UNSUPPORTED', 'Argon2id failed.', { cause: e });
  }
}

/**
 * Derives `authKey` and `keyringKey` from a password. Checks the floor first
 * (`KDF_TOO_WEAK`), so callers cannot derive with parameters a relay made cheap; callers
 * should also run {@link assertKdfNotWeaker} against the last parameters they saw.
 */
export async function deriveLoginKeys(
  password: string,
  params: KdfParams,
  options: DeriveOptions = {},
): Promise<LoginKeys> {
  if (options.unsafeSkipFloorForTests === true) assertWellFormed(params);
  else assertKdfFloor(params);
  const master = await argon2idRaw(normalizePassword(password), params, options.implementation);
  try {
    return {
      authKey: asKey<AuthKey>(hkdfSha256(master, undefined, utf8(KDF_LABELS.authKey), 32)),
      keyringKey: asKey<KeyringKey>(hkdfSha256(master, undefined, utf8(KDF_LABELS.keyringKey), 32)),
    };
  } finally {
    master.fill(0);
  }
}

/**
 * A deterministic salt for a user name that has no account, so that the relay's pre-login
 * answer looks the same for known and unknown names (no account enumeration). The relay keeps
 * `serverSecret` (≥ 32 random bytes) private and passes the user name in the same canonical
 * form it uses for look-ups.
 */
export function fakeKdfSalt(serverSecret: Uint8Array, userName: string): Uint8Array {
  if (!(serverSecret instanceof Uint8Array) || serverSecret.length < 32) {
    throw invalidArgument('serverSecret', 'at least 32 bytes');
  }
  if (typeof userName !== 'string') throw invalidArgument('userName', 'a string');
  const msg = concatBytes(lp(utf8(KDF_LABELS.fakeSalt)), utf8(userName.normalize('NFKC')));
  return hmacSha256(serverSecret, msg).slice(0, 16);
}

/** The full fake pre-login answer: default parameters with {@link fakeKdfSalt}. */
export function fakeKdfParams(serverSecret: Uint8Array, userName: string): KdfParams {
  return { alg: 'argon2id', ...KDF_DEFAULTS, salt: fakeKdfSalt(serverSecret, userName) };
}

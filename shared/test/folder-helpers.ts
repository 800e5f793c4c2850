/**
 * Helpers of the folder, record, manifest, grant and invite tests: reviewable test keys and
 * ids, error-code capture, and fast-check arbitraries that damage an object in every way a
 * relay could (flip, delete, insert, truncate, extend).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { toBase64url, utf8 } from '../src/bytes';
import { isCarnetError, type CarnetErrorCode } from '../src/errors';
import type { AccountId, FolderId, GrantId, RecordId } from '../src/ids';
import { asKey } from '../src/keys';
import type {
  EncryptionPrivateKey,
  EncryptionPublicKey,
  IdentityPrivateKey,
  IdentityPublicKey,
} from '../src/keys';
import { ed25519PublicKey } from '../src/primitives/ed25519';
import { sha256 } from '../src/primitives/sha2';
import { x25519PublicKey } from '../src/primitives/x25519';

/** A reviewable 32-byte test key: SHA-256 of a label. */
export function testKey(label: string): Uint8Array {
  return sha256(utf8(`carnet test key: ${label}`));
}

/** A deterministic id from a label (first 16 bytes of its SHA-256). */
export function testId<T extends AccountId | FolderId | RecordId | GrantId>(label: string): T {
  return toBase64url(sha256(utf8(`carnet test id: ${label}`)).subarray(0, 16)) as T;
}

/** A deterministic Ed25519 identity. */
export async function testIdentity(
  label: string,
): Promise<{ seed: IdentityPrivateKey; pub: IdentityPublicKey }> {
  const seed = asKey<IdentityPrivateKey>(testKey(`identity ${label}`));
  return { seed, pub: asKey<IdentityPublicKey>(await ed25519PublicKey(seed)) };
}

/** A deterministic X25519 encryption key pair. */
export async function testEncryption(
  label: string,
): Promise<{ priv: EncryptionPrivateKey; pub: EncryptionPublicKey }> {
  const priv = asKey<EncryptionPrivateKey>(testKey(`encryption ${label}`));
  return { priv, pub: asKey<EncryptionPublicKey>(await x25519PublicKey(priv)) };
}

/** The CarnetError code `fn` fails with, or `'none'`; anything else than a CarnetError is rethrown. */
export async function codeOf(fn: () => unknown): Promise<CarnetErrorCode | 'none'> {
  try {
    await fn();
    return 'none';
  } catch (e) {
    if (isCarnetError(e)) return e.code;
    throw e;
  }
}

/** Asserts that `fn` fails with a CarnetError of `code`. */
export async function expectCode(fn: () => unknown, code: CarnetErrorCode): Promise<void> {
  expect(await codeOf(fn)).toBe(code);
}

/** One way of damaging an object, as fast-check generates it. */
export type Mutation =
  | { op: 'flip'; at: number; xor: number }
  | { op: 'delete'; at: number }
  | { op: 'insert'; at: number; byte: number }
  | { op: 'truncate'; length: number }
  | { op: 'extend'; extra: Uint8Array };

/** Mutations of an object of `length` bytes; every one yields different bytes. */
export function mutationArb(length: number): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: length - 1 });
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at, xor: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ op: fc.constant('delete' as const), at }),
    fc.record({
      op: fc.constant('insert' as const),
      at: fc.nat({ max: length }),
      byte: fc.nat({ max: 255 }),
    }),
    fc.record({ op: fc.constant('truncate' as const), length: fc.nat({ max: length - 1 }) }),
    fc.record({
      op: fc.constant('extend' as const),
      extra: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    }),
  );
}

/** Applies a mutation to a copy of `b`. */
export function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  switch (m.op) {
    case 'flip':
      return b.map((x, i) => (i === m.at ? x ^ m.xor : x));
    case 'delete':
      return new Uint8Array([...b.subarray(0, m.at), ...b.subarray(m.at + 1)]);
    case 'insert':
      return new Uint8Array([...b.subarray(0, m.at), m.byte, ...b.subarray(m.at)]);
    case 'truncate':
      return b.slice(0, m.length);
    case 'extend':
      return new Uint8Array([...b, ...m.extra]);
  }
}

/**
 * Property: every mutation of `object` makes `open` fail with a CarnetError (never another
 * error, never a result).
 */
export async function assertEveryMutationRefused(
  object: Uint8Array,
  open: (damaged: Uint8Array) => unknown,
  numRuns = 200,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(mutationArb(object.length), async (m) => {
      const code = await codeOf(() => open(mutate(object, m)));
      expect(code).not.toBe('none');
    }),
    { numRuns },
  );
}

/** Flips one bit of byte `i`. */
export function flip(b: Uint8Array, i: number): Uint8Array {
  return b.map((x, j) => (j === i ? x ^ 0x01 : x));
}

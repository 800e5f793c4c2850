/**
 * fast-check generators shared by the envelope and wrap properties: contexts (and pairs of
 * contexts one field apart) and byte-level mutations (flip, remove, insert, truncate), used to
 * check that any damaged or misbound object is refused with a typed error.
 */
import fc from 'fast-check';
import { equalBytes, toBase64url } from '../src/bytes';
import { AD_TAG, encodeAssociatedData, type ObjectContext } from '../src/context';
import type { AccountId, FolderId, GrantId, RecordId } from '../src/ids';
import { KIND, type KindByte } from '../src/registry';

/** Every field of an {@link ObjectContext}. */
export const FIELDS = Object.keys(AD_TAG) as (keyof ObjectContext)[];
/** Every registered kind byte. */
export const KINDS = Object.values(KIND) as KindByte[];
/** A random, well-formed 22-character id. */
export const idArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map(toBase64url);
/** Any context: each field present or absent. */
export const ctxArb: fc.Arbitrary<ObjectContext> = fc.record(
  {
    folderId: idArb.map((s) => s as FolderId),
    recordId: idArb.map((s) => s as RecordId),
    version: fc.nat(),
    epoch: fc.maxSafeNat(),
    accountId: idArb.map((s) => s as AccountId),
    grantId: idArb.map((s) => s as GrantId),
    label: fc.string({ unit: 'grapheme', maxLength: 12 }),
  },
  { requiredKeys: [] },
);
/** Two contexts that differ in exactly one field and encode differently. */
export const ctxPairArb = fc
  .tuple(ctxArb, ctxArb, fc.constantFrom(...FIELDS))
  .map(([a, b, field]): [ObjectContext, ObjectContext] => {
    const changed: Record<string, unknown> = { ...a };
    if (b[field] === undefined) delete changed[field];
    else changed[field] = b[field];
    return [a, changed as ObjectContext];
  })
  .filter(([a, b]) => !equalBytes(encodeAssociatedData(1, 1, a), encodeAssociatedData(1, 1, b)));

/** One damage done to a byte string. */
export type Mutation =
  | { op: 'flip'; pos: number; mask: number }
  | { op: 'remove'; pos: number }
  | { op: 'insert'; pos: number; byte: number }
  | { op: 'truncate'; len: number };

/** Any mutation; positions wrap around the object's length. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('flip' as const),
    pos: fc.nat(),
    mask: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ op: fc.constant('remove' as const), pos: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    pos: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ op: fc.constant('truncate' as const), len: fc.nat() }),
);

/** Applies `m` to a copy of `b` (never changes `b`). */
export function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  switch (m.op) {
    case 'flip': {
      const out = Uint8Array.from(b);
      const i = m.pos % b.length;
      out[i] = (out[i] as number) ^ m.mask;
      return out;
    }
    case 'remove': {
      const i = m.pos % b.length;
      return new Uint8Array([...b.subarray(0, i), ...b.subarray(i + 1)]);
    }
    case 'insert': {
      const i = m.pos % (b.length + 1);
      return new Uint8Array([...b.subarray(0, i), m.byte, ...b.subarray(i)]);
    }
    case 'truncate':
      return b.subarray(0, m.len % b.length);
  }
}

/**
 * Byte-level mutations for fast-check properties: flip, remove, insert, truncate. Every
 * format's tests use them to check that any damaged object is refused with a typed error.
 */
import fc from 'fast-check';

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

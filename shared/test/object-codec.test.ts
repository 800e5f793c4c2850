/**
 * The object reader must give the same answer for a plain `Uint8Array` and for a Node `Buffer`
 * (the relay hands request bytes over as Buffers, often views into Node's shared pool).
 */
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../src/object-codec';

describe('ByteReader over a pooled Node Buffer', () => {
  it('reads u32 fields at their offset, not at the start of the pool', () => {
    const buf = Buffer.from([9, 9, 0, 0, 0, 2, 0, 0, 1, 0]);
    expect(buf.byteOffset).toBeGreaterThan(0);
    const r = new ByteReader(buf, 2);
    expect(r.u32()).toBe(2);
    expect(r.u32()).toBe(256);
  });

  it('returns copies that later writes to the source do not change', () => {
    const buf = Buffer.from([1, 2, 3, 4]);
    const part = new ByteReader(buf, 0).take(2);
    buf[0] = 7;
    expect([...part]).toEqual([1, 2]);
  });
});

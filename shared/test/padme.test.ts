/**
 * Padmé: the handout's example lengths (computed from the paper's Algorithm 1) and the
 * algorithm's properties over the whole safe-integer range.
 */
import { vectorFile } from './vector-files';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCarnetError } from '../src/errors';
import { padme } from '../src/padme';

interface Examples {
  examples: { L: number; padded: number }[];
}

/** Algorithm 1 with exact integers: E = bit length − 1, S = bitlen(E), z = E − S. */
function referencePadme(l: bigint): bigint {
  if (l < 2n) return l;
  const e = BigInt(l.toString(2).length - 1);
  const s = BigInt(e.toString(2).length);
  const mask = (1n << (e - s)) - 1n;
  return (l + mask) & ~mask;
}

function loadExamples(): Examples {
  // A missing handout file fails the import of vector-files.ts: the suite fails, never skips.
  return vectorFile<Examples>('padme-examples.json');
}

describe('padme', () => {
  const { examples } = loadExamples();

  it('has the handout examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(50);
    // The file deliberately holds lengths ≥ 2^31, which 32-bit bitwise code gets wrong.
    expect(examples.some((e) => e.L > 2 ** 32)).toBe(true);
  });

  it.each(examples.map((e) => [e.L, e.padded] as const))('padme(%d) = %d', (l, padded) => {
    expect(padme(l)).toBe(padded);
  });

  it('pads up, is idempotent and monotonic', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        let pa: number;
        let pb: number;
        try {
          pa = padme(lo);
          pb = padme(hi);
        } catch (e) {
          // Only lengths whose padded value leaves the safe range may be refused.
          expect(isCarnetError(e, 'INVALID_ARGUMENT')).toBe(true);
          expect(hi).toBeGreaterThan(2 ** 52);
          return;
        }
        expect(pa).toBeGreaterThanOrEqual(lo);
        expect(padme(pa)).toBe(pa);
        expect(pb).toBeGreaterThanOrEqual(pa);
      }),
      { numRuns: 2000 },
    );
  });

  it('equals an independent BigInt implementation of Algorithm 1, overhead ≤ 12 %', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 2 ** 52 }), (l) => {
        const p = padme(l);
        expect(p).toBe(Number(referencePadme(BigInt(l))));
        expect((p - l) / l).toBeLessThanOrEqual(0.12);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses what is not a non-negative safe integer', () => {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53, Number.MAX_SAFE_INTEGER]) {
      expect(() => padme(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });
});

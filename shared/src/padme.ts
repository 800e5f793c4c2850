/**
 * Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 * Communication with PURBs", PoPETs 2019(4), Algorithm 1).
 *
 * A length L is rounded up so that only its top ~log2(log2 L) + 1 bits may be non-zero. The
 * overhead is at most about 12 % (and shrinks as L grows), while the number of distinct padded
 * sizes — what the relay can tell apart — drops from L to O(log L · log log L).
 */
import { invalidArgument } from './errors';

/** Bit length minus one of a positive safe integer, without 32-bit bitwise truncation. */
function floorLog2(n: number): number {
  // `Math.log2` is not exact near powers of two for large n, and `>>>`/`clz32` only see 32 bits,
  // so split the value into a high and a low 32-bit word.
  const hi = Math.floor(n / 2 ** 32);
  if (hi > 0) return 32 + 31 - Math.clz32(hi);
  return 31 - Math.clz32(n);
}

/**
 * The Padmé length of `length` bytes. `0` and `1` are returned unchanged (the paper's formula
 * needs `log2(floor(log2 L))`, undefined for L = 1). Exact for every safe integer input whose
 * padded length is still a safe integer; anything else is `INVALID_ARGUMENT`.
 */
export function padme(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw invalidArgument('length', 'a non-negative safe integer');
  }
  if (length < 2) return length;
  const e = floorLog2(length);
  const s = floorLog2(e) + 1;
  const z = e - s;
  // Rounding up to a multiple of 2^z with division and multiplication by a power of two is
  // exact in binary floating point, unlike `(L + m) & ~m`, which JavaScript truncates to 32 bits.
  const step = 2 ** z;
  const padded = Math.ceil(length / step) * step;
  if (!Number.isSafeInteger(padded)) throw invalidArgument('length', 'small enough to pad');
  return padded;
}

/** Randomness from the platform CSPRNG (WebCrypto), in both browsers and Node. */
import { invalidArgument } from '../errors';

const MAX_PER_CALL = 65536;

/** `n` cryptographically random bytes. */
export function randomBytes(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0) throw invalidArgument('n', 'a non-negative integer');
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += MAX_PER_CALL) {
    globalThis.crypto.getRandomValues(out.subarray(off, Math.min(n, off + MAX_PER_CALL)));
  }
  return out;
}

/**
 * Constant memory: 256 MiB streamed through the encryptor and straight into the decryptor
 * must not grow the process's resident set by more than 128 MiB. This is a bound on memory,
 * not on time; the file is generated from one reused buffer and never held whole.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../src/bytes';
import type { FolderId, RecordId } from '../src/ids';
import type { DataKey } from '../src/keys';
import { createFileDecryptor, createFileEncryptor, encryptFileBytes } from '../src/stream/index';
import type { FileStreamContext } from '../src/stream/index';

const KEY = new Uint8Array(32).fill(9) as DataKey;
const CTX: FileStreamContext = {
  folderId: 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId,
  recordId: 'cmVjb3JkLWlkLWV4YW1wbA' as RecordId,
  version: 1,
};
const MiB = 2 ** 20;

/** `total` bytes in slices of `slice.length`, all views of the same buffer. */
function generated(total: number, slice: Uint8Array): ReadableStream<Uint8Array> {
  let left = total;
  return new ReadableStream<Uint8Array>(
    {
      pull(c) {
        if (left === 0) return c.close();
        const n = Math.min(left, slice.length);
        left -= n;
        c.enqueue(slice.subarray(0, n));
      },
    },
    { highWaterMark: 0 },
  );
}

describe('file stream memory', () => {
  it('streams 256 MiB through encrypt and decrypt with bounded RSS growth', async () => {
    // Warm up (WebCrypto, the hash module, JIT) so that one-off allocations are not counted.
    await encryptFileBytes(KEY, CTX, new Uint8Array(3 * MiB));
    const total = 256 * MiB;
    const slice = new Uint8Array(MiB).map((_, i) => i * 7);
    const enc = createFileEncryptor(KEY, CTX, total);
    const dec = createFileDecryptor(KEY, CTX);
    const before = process.memoryUsage.rss();
    let peak = before;
    let received = 0;
    let mismatch = false;
    await generated(total, slice)
      .pipeThrough(enc.stream)
      .pipeThrough(dec.stream)
      .pipeTo(
        new WritableStream<Uint8Array>({
          write(chunk) {
            // The content repeats `slice`; a decrypted chunk may wrap around its end (the 8-byte
            // length prefix shifts chunk boundaries), so compare in up to three pieces.
            for (let off = 0; off < chunk.length;) {
              const at = (received + off) % MiB;
              const n = Math.min(MiB - at, chunk.length - off);
              if (!equalBytes(chunk.subarray(off, off + n), slice.subarray(at, at + n)))
                mismatch = true;
              off += n;
            }
            received += chunk.length;
            peak = Math.max(peak, process.memoryUsage.rss());
          },
        }),
      );
    expect(received).toBe(total);
    expect(mismatch).toBe(false);
    expect(equalBytes(await enc.digest, await dec.digest)).toBe(true);
    const growthMiB = (peak - before) / MiB;
    expect(growthMiB).toBeLessThan(128);
  });
});

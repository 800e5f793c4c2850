/**
 * The committed vector file vectors/file-stream.v1.json: every valid stream opens to its
 * content, length and digest, whole and sliced byte by byte; every invalid one is refused with
 * its error code, whole and sliced.
 */
import { vectorFile } from './vector-files';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import type { DataKey } from '../src/keys';
import { createFileDecryptor, decryptFileBytes, paddedFileSize } from '../src/stream/index';
import type { FileStreamContext } from '../src/stream/index';

interface Entry {
  description: string;
  key: string;
  context: FileStreamContext;
  chunk_size: number;
  ciphertext: string;
  content?: string;
  content_length?: number;
  digest?: string;
  expected_error?: CarnetErrorCode;
}

const doc = vectorFile<{
  format: string;
  version: number;
  valid: Entry[];
  invalid: Entry[];
}>('file-stream.v1.json');

/** Streams `ct` through a decryptor in slices of `size` bytes. */
async function streamed(
  e: Entry,
  size: number,
): Promise<{ content: string; digest: string; length: number }> {
  const ct = fromHex(e.ciphertext);
  const dec = createFileDecryptor(fromHex(e.key) as DataKey, e.context);
  let off = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= ct.length) return c.close();
      c.enqueue(ct.slice(off, off + size));
      off += size;
    },
  });
  let content = '';
  const reader = source.pipeThrough(dec.stream).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    content += toHex(value);
  }
  return { content, digest: toHex(await dec.digest), length: await dec.contentLength };
}

async function codeOf(p: Promise<unknown>): Promise<CarnetErrorCode | 'none' | 'foreign'> {
  try {
    await p;
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

describe('vectors/file-stream.v1.json', () => {
  it('is the v1 file-stream vector file, with both kinds of entries', () => {
    expect(doc.format).toBe('carnet-file-stream');
    expect(doc.version).toBe(1);
    expect(doc.valid.length).toBeGreaterThanOrEqual(5);
    expect(doc.invalid.length).toBeGreaterThanOrEqual(20);
  });

  it.each(doc.valid.map((e) => [e.description, e] as const))('opens: %s', async (_, e) => {
    const ct = fromHex(e.ciphertext);
    expect(ct.length).toBe(paddedFileSize(e.content_length!, e.chunk_size));
    expect(new DataView(ct.buffer).getUint32(3, false)).toBe(e.chunk_size);
    const whole = await decryptFileBytes(fromHex(e.key) as DataKey, e.context, ct);
    expect(toHex(whole.content)).toBe(e.content);
    expect(toHex(whole.digest)).toBe(e.digest);
    for (const size of [1, 17]) {
      expect(await streamed(e, size)).toEqual({
        content: e.content,
        digest: e.digest,
        length: e.content_length,
      });
    }
  });

  it.each(doc.invalid.map((e) => [e.description, e] as const))('refuses: %s', async (_, e) => {
    const ct = fromHex(e.ciphertext);
    expect(await codeOf(decryptFileBytes(fromHex(e.key) as DataKey, e.context, ct))).toBe(
      e.expected_error,
    );
    expect(await codeOf(streamed(e, 5))).toBe(e.expected_error);
  });
});

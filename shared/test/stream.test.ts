/**
 * The large-file format: round trips at every chunk boundary, arbitrary slicing of the input,
 * header layout, sizes, digests, argument checks and the incremental SHA-256 implementations.
 * Tampering is in stream-tamper.test.ts, memory in stream-memory.test.ts, the committed vector
 * file in stream-vectors.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes, toHex } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import type { FolderId, RecordId } from '../src/ids';
import type { DataKey } from '../src/keys';
import { padme } from '../src/padme';
import { allZero } from '../src/stream/decrypt';
import { createSha256, preferredSha256 } from '../src/stream/digest';
import type { ContentHasher } from '../src/stream/digest';
import { WORKER_MIN_BYTES, createWorkerSha256, hashWorkerReady } from '../src/stream/digest-worker';
import { HEADER_LEN, TAG_LEN, chunkNonce, newFileSetup } from '../src/stream/format';
import {
  DEFAULT_CHUNK_SIZE,
  createFileDecryptor,
  createFileEncryptor,
  decryptFileBytes,
  encryptFileBytes,
  paddedFileSize,
} from '../src/stream/index';
import type { FileStreamContext } from '../src/stream/index';

const KEY = new Uint8Array(32).map((_, i) => i + 1) as DataKey;
const CTX: FileStreamContext = {
  folderId: 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId,
  recordId: 'cmVjb3JkLWlkLWV4YW1wbA' as RecordId,
  version: 3,
};

function content(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

/** A stream of `bytes` cut at the given slice sizes (cycled), each slice a fresh copy. */
function sliced(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let off = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= bytes.length) return c.close();
      const n = Math.max(1, sizes.length === 0 ? bytes.length : (sizes[i++ % sizes.length] ?? 1));
      c.enqueue(bytes.slice(off, off + n));
      off += n;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function codeOf(p: Promise<unknown>): Promise<CarnetErrorCode | 'none' | 'foreign'> {
  try {
    await p;
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

/** Encrypts then decrypts through the streaming API with the given input slicings. */
async function roundTrip(
  data: Uint8Array,
  chunkSize: number | undefined,
  encSizes: number[],
  decSizes: number[],
) {
  const enc = createFileEncryptor(
    KEY,
    CTX,
    data.length,
    chunkSize === undefined ? {} : { chunkSize },
  );
  const ciphertext = await collect(sliced(data, encSizes).pipeThrough(enc.stream));
  const dec = createFileDecryptor(KEY, CTX);
  const plain = await collect(sliced(ciphertext, decSizes).pipeThrough(dec.stream));
  return {
    ciphertext,
    plain,
    encDigest: await enc.digest,
    decDigest: await dec.digest,
    length: await dec.contentLength,
  };
}

describe('file stream round trips', () => {
  // Content lengths putting the *padded plaintext* (8 + L, then Padmé) and the content itself
  // at 0, 1, n·C − 1, n·C and n·C + 1 bytes, for a small chunk size.
  const C = 16;
  const lengths = new Set<number>([0, 1]);
  for (let n = 1; n <= 6; n++) {
    for (const d of [-1, 0, 1]) {
      lengths.add(n * C + d);
      if (n * C + d - 8 >= 0) lengths.add(n * C + d - 8);
    }
  }

  it.each([...lengths].sort((a, b) => a - b))(
    'chunk size 16, %d content bytes, 1-byte and whole slices',
    async (l) => {
      const data = content(l, l + 7);
      for (const [encSizes, decSizes] of [
        [[1], [1]],
        [[], []],
        [[7], [5, 11]],
      ] as const) {
        const r = await roundTrip(data, C, [...encSizes], [...decSizes]);
        expect(r.ciphertext.length).toBe(paddedFileSize(l, C));
        expect(equalBytes(r.plain, data)).toBe(true);
        expect(equalBytes(r.encDigest, sha(data))).toBe(true);
        expect(equalBytes(r.decDigest, sha(data))).toBe(true);
        expect(r.length).toBe(l);
      }
    },
  );

  // With the default 1 MiB chunk: lengths whose padded plaintext is exactly one chunk, or
  // spills into a second (Padmé rounds, so n·C ± 1 is reachable only on the content side).
  const M = DEFAULT_CHUNK_SIZE;
  it.each([M - 9, M - 8, M - 7, M - 1, M, M + 1, 2 * M - 8, 2 * M + 1])(
    'default chunk size, %d content bytes, 3 MiB and odd slices',
    async (l) => {
      const data = content(l, l);
      const r = await roundTrip(data, undefined, [3 * M], [65_537, 1_000_003]);
      const p = padme(8 + l);
      expect(r.ciphertext.length).toBe(HEADER_LEN + p + Math.ceil(p / M) * TAG_LEN);
      expect(equalBytes(r.plain, data)).toBe(true);
      expect(equalBytes(r.decDigest, sha(data))).toBe(true);
    },
  );

  it('survives any slicing of plaintext and ciphertext (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 300 }),
        fc.integer({ min: 16, max: 64 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { maxLength: 8 }),
        async (l, chunkSize, encSizes, decSizes) => {
          const data = content(l, l * 31 + chunkSize);
          const r = await roundTrip(data, chunkSize, encSizes, decSizes);
          expect(equalBytes(r.plain, data)).toBe(true);
          expect(equalBytes(r.encDigest, r.decDigest)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('copies what it reads: a source that reuses and overwrites one buffer', async () => {
    const l = 5000;
    const data = content(l, 99);
    const shared = new Uint8Array(333);
    let off = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(c) {
          if (off >= l) return c.close();
          const n = Math.min(shared.length, l - off);
          shared.set(data.subarray(off, off + n));
          off += n;
          c.enqueue(shared.subarray(0, n));
        },
      },
      { highWaterMark: 0 },
    );
    const enc = createFileEncryptor(KEY, CTX, l, { chunkSize: 64 });
    const ciphertext = await collect(source.pipeThrough(enc.stream));
    const { content: plain } = await decryptFileBytes(KEY, CTX, ciphertext);
    expect(equalBytes(plain, data)).toBe(true);
  });

  it('encryptFileBytes and decryptFileBytes agree with the streams', async () => {
    const data = content(1234, 5);
    const { ciphertext, digest } = await encryptFileBytes(KEY, CTX, data, { chunkSize: 100 });
    expect(ciphertext.length).toBe(paddedFileSize(1234, 100));
    const dec = createFileDecryptor(KEY, CTX);
    expect(equalBytes(await collect(sliced(ciphertext, [3]).pipeThrough(dec.stream)), data)).toBe(
      true,
    );
    const opened = await decryptFileBytes(KEY, CTX, ciphertext);
    expect(equalBytes(opened.content, data)).toBe(true);
    expect(equalBytes(opened.digest, digest)).toBe(true);
    expect(equalBytes(digest, sha(data))).toBe(true);
  });

  it('uses a fresh salt, key and nonce prefix for every file', async () => {
    const data = content(100, 1);
    const a = await encryptFileBytes(KEY, CTX, data, { chunkSize: 16 });
    const b = await encryptFileBytes(KEY, CTX, data, { chunkSize: 16 });
    expect(equalBytes(a.ciphertext.subarray(7, 39), b.ciphertext.subarray(7, 39))).toBe(false);
    // No ciphertext block in common, as nonces (and keys) differ.
    expect(
      equalBytes(
        a.ciphertext.subarray(HEADER_LEN, HEADER_LEN + 16),
        b.ciphertext.subarray(HEADER_LEN, HEADER_LEN + 16),
      ),
    ).toBe(false);
  });
});

describe('file stream layout', () => {
  it('derives the worked example of docs/protocol-parts/30-file-stream.md', () => {
    const setup = newFileSetup(
      new Uint8Array(32).fill(0x11) as DataKey,
      CTX,
      2 ** 20,
      new Uint8Array(32).fill(0x22),
    );
    expect(toHex(setup.keys.aesKey)).toBe(
      '76c13b74fde6eae2ae4809e780ba1aac8a620720d9a63b35fe0105283514d9ef',
    );
    expect(toHex(setup.keys.commitment)).toBe(
      'e593543fe05595deeef5e1d76f228794a270baa11979ac16e1bcdb986fdf65d4',
    );
    expect(toHex(setup.keys.noncePrefix)).toBe('02de37f449d29a');
    expect(toHex(setup.header)).toBe(
      `01090100100000${'22'.repeat(32)}e593543fe05595deeef5e1d76f228794a270baa11979ac16e1bcdb986fdf65d4`,
    );
    expect(toHex(setup.chunkAd)).toBe(
      '427b53295300eb21339d37b0b25d4b0e36825affa1abae84eda6eb7fa85799a7',
    );
    expect(toHex(chunkNonce(setup.keys.noncePrefix, 5, true))).toBe('02de37f449d29a0000000501');
  });

  it('writes the documented header', async () => {
    const { ciphertext } = await encryptFileBytes(KEY, CTX, content(10), { chunkSize: 4096 });
    expect(ciphertext[0]).toBe(0x01); // format v1
    expect(ciphertext[1]).toBe(0x09); // KIND.FILE_STREAM
    expect(ciphertext[2]).toBe(0x01); // AES-256-GCM
    expect(new DataView(ciphertext.buffer).getUint32(3, false)).toBe(4096);
    expect(HEADER_LEN).toBe(71);
    // One chunk: 8-byte length + 10 bytes, padded to padme(18) = 18, plus its tag.
    expect(ciphertext.length).toBe(71 + 18 + 16);
  });

  it('computes paddedFileSize for huge files without building them', () => {
    const gib = 2 ** 30;
    const p = padme(8 + gib);
    expect(paddedFileSize(gib)).toBe(71 + p + Math.ceil(p / DEFAULT_CHUNK_SIZE) * 16);
    // Padmé overhead stays under 12 %, chunk tags add 16 bytes per MiB.
    expect(paddedFileSize(gib) / gib).toBeLessThan(1.12 + 16 / DEFAULT_CHUNK_SIZE);
  });
});

describe('file stream arguments', () => {
  it('refuses a source that delivers more or fewer bytes than announced', async () => {
    for (const [announced, actual] of [
      [10, 11],
      [10, 9],
      [0, 1],
      [100, 0],
    ] as const) {
      const enc = createFileEncryptor(KEY, CTX, announced, { chunkSize: 16 });
      expect(await codeOf(collect(sliced(content(actual), [4]).pipeThrough(enc.stream)))).toBe(
        'INVALID_ARGUMENT',
      );
      expect(await codeOf(enc.digest)).toBe('INVALID_ARGUMENT');
    }
  });

  it('checks keys, contexts, lengths and chunk sizes up front', () => {
    const bad: (() => unknown)[] = [
      () => createFileEncryptor(new Uint8Array(31) as DataKey, CTX, 1),
      () => createFileEncryptor(KEY, CTX, -1),
      () => createFileEncryptor(KEY, CTX, 1.5),
      () => createFileEncryptor(KEY, CTX, 1, { chunkSize: 15 }),
      () => createFileEncryptor(KEY, CTX, 1, { chunkSize: 2 ** 24 + 1 }),
      () => createFileEncryptor(KEY, { ...CTX, version: -1 }, 1),
      () => createFileEncryptor(KEY, { ...CTX, folderId: 'short' as FolderId }, 1),
      () =>
        createFileEncryptor(
          KEY,
          { folderId: CTX.folderId, recordId: CTX.recordId } as FileStreamContext,
          1,
        ),
      () =>
        createFileDecryptor(KEY, { ...CTX, recordId: undefined } as unknown as FileStreamContext),
      () => paddedFileSize(2 ** 40, 16),
    ];
    for (const f of bad) expect(f).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses input that is not bytes', async () => {
    const enc = createFileEncryptor(KEY, CTX, 3);
    // Read concurrently: the header waits in the readable side, which holds back writes.
    const output = codeOf(collect(enc.stream.readable));
    const writer = enc.stream.writable.getWriter();
    expect(await codeOf(writer.write('abc' as unknown as Uint8Array))).toBe('INVALID_ARGUMENT');
    expect(await output).toBe('INVALID_ARGUMENT');
  });

  it('rejects digest and contentLength when the stream is cancelled', async () => {
    const dec = createFileDecryptor(KEY, CTX);
    await dec.stream.writable.abort(new Error('gone'));
    expect(await codeOf(dec.digest)).toBe('TRUNCATED');
    expect(await codeOf(dec.contentLength)).toBe('TRUNCATED');
  });
});

/** A worker-backed hasher; call after `hashWorkerReady()` resolved true. */
function worker(): ContentHasher {
  const h = createWorkerSha256();
  if (h === undefined) throw new Error('no hash worker');
  return h;
}

describe('padding check', () => {
  it('allZero finds a non-zero byte at any offset, alignment and length', () => {
    fc.assert(
      fc.property(
        fc.nat(40),
        fc.nat(70),
        fc.option(fc.nat(69)),
        fc.integer({ min: 1, max: 255 }),
        (off, len, at, v) => {
          const backing = new Uint8Array(off + len + 3);
          const view = backing.subarray(off, off + len);
          if (at !== null && at < len) view[at] = v;
          // Bytes just outside the view must not count.
          if (off > 0) backing[off - 1] = 1;
          backing[off + len] = 1;
          expect(allZero(view)).toBe(at === null || at >= len);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('incremental SHA-256', () => {
  it('prefers node:crypto under Node', () => {
    expect(preferredSha256()).toBe('node');
  });

  it('gives the same digest with node:crypto, hash-wasm, noble and the worker, whatever the updates', async () => {
    expect(await hashWorkerReady()).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.array(fc.nat(5000), { maxLength: 6 }),
        async (data, cuts) => {
          const want = sha(data);
          for (const impl of ['node', 'wasm', 'noble', 'worker'] as const) {
            const h: ContentHasher = impl === 'worker' ? worker() : await createSha256(impl);
            let prev = 0;
            for (const cut of [...cuts].sort((a, b) => a - b)) {
              await h.update(data.subarray(prev, Math.max(prev, cut)));
              prev = Math.max(prev, cut);
            }
            await h.update(data.subarray(prev));
            expect(equalBytes(await h.digest(), want)).toBe(true);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('hashes on the worker through its slot ring, streams interleaved, with backpressure', async () => {
    expect(await hashWorkerReady()).toBe(true);
    // 7.5 MiB in odd pieces: more than the worker's three 1 MiB slots, so updates must wait.
    const a = content(7.5 * 2 ** 20, 11);
    const b = content(3 * 2 ** 20 + 5, 12);
    const [ha, hb] = [worker(), worker()];
    for (let off = 0, i = 0; off < a.length; i++) {
      const n = [1, 700_001, 3 * 2 ** 20, 77][i % 4]!;
      await ha.update(a.subarray(off, off + n));
      await hb.update(b.subarray(Math.min(off, b.length), Math.min(off + n, b.length)));
      off += n;
    }
    expect(equalBytes(await ha.digest(), sha(a))).toBe(true);
    expect(equalBytes(await hb.digest(), sha(b))).toBe(true);
  });

  it('is used by the encryptor and decryptor for large files, with the same digest', async () => {
    expect(WORKER_MIN_BYTES).toBe(16 * 2 ** 20);
    // Streams use the worker once it has answered; until then they hash inline.
    expect(await hashWorkerReady()).toBe(true);
    const data = content(WORKER_MIN_BYTES + 12_345, 5);
    const r = await roundTrip(data, undefined, [999_999], [1_234_567]);
    expect(equalBytes(r.plain, data)).toBe(true);
    expect(equalBytes(r.encDigest, sha(data))).toBe(true);
    expect(equalBytes(r.decDigest, sha(data))).toBe(true);
  });

  it('never keeps a process alive: a stream abandoned mid-way still lets Node exit', () => {
    // The worker is referenced only while it owes an answer. A child process that abandons a
    // large encryption (worker in use) must exit by itself; a hang fails through the timeout.
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const entry = new URL('../src/stream/index.ts', import.meta.url).href;
    const workerEntry = new URL('../src/stream/digest-worker.ts', import.meta.url).href;
    const code = [
      `import { createFileEncryptor } from ${JSON.stringify(entry)};`,
      `import { hashWorkerReady } from ${JSON.stringify(workerEntry)};`,
      "if (!(await hashWorkerReady())) throw new Error('no hash worker');",
      `const enc = createFileEncryptor(new Uint8Array(32), ${JSON.stringify(CTX)}, 64 * 2 ** 20);`,
      'const reader = enc.stream.readable.getReader();',
      'void (async () => { for (;;) if ((await reader.read()).done) break; })();',
      'await enc.stream.writable.getWriter().write(new Uint8Array(20 * 2 ** 20));',
      "process.stdout.write('abandoned');",
    ].join('\n');
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('abandoned');
    expect(child.status).toBe(0);
  });
});

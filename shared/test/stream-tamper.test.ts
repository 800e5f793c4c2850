/**
 * The large-file format against a hostile relay (any byte changed, removed, added or moved,
 * truncation, chunk swaps, drops and duplicates, appended data, foreign headers, wrong
 * context) and against a hostile author who holds the data key and crafts inconsistent files.
 *
 * Every property checks two things: the decryptor fails with a `CarnetError`, and whatever it
 * emitted before failing is a prefix of the true content — never different plaintext.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, u64 } from '../src/bytes';
import { ERROR_CODES, isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import type { FolderId, RecordId } from '../src/ids';
import type { DataKey } from '../src/keys';
import { padme } from '../src/padme';
import { sha256 } from '../src/primitives/sha2';
import { HEADER_LEN, TAG_LEN, chunkNonce, importFileKey, newFileSetup } from '../src/stream/format';
import { createFileDecryptor, decryptFileBytes, encryptFileBytes } from '../src/stream/index';
import type { FileStreamContext } from '../src/stream/index';

const KEY = new Uint8Array(32).map((_, i) => 200 - i) as DataKey;
const CTX: FileStreamContext = {
  folderId: 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId,
  recordId: 'cmVjb3JkLWlkLWV4YW1wbA' as RecordId,
  version: 7,
};
const OTHER_ID = 'b3RoZXItaWQtZXhhbXBsZQ';

type Outcome = { out: Uint8Array; code: CarnetErrorCode | 'none' | 'foreign' };

/** Decrypts `ct` cut into slices of the given sizes; keeps what was emitted before any error. */
async function attempt(
  ct: Uint8Array,
  sizes: number[] = [],
  ctx = CTX,
  key = KEY,
): Promise<Outcome> {
  const dec = createFileDecryptor(key, ctx);
  let off = 0;
  let i = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(c) {
      if (off >= ct.length) return c.close();
      const n = Math.max(1, sizes.length === 0 ? ct.length : (sizes[i++ % sizes.length] ?? 1));
      c.enqueue(ct.slice(off, off + n));
      off += n;
    },
  });
  const parts: Uint8Array[] = [];
  const reader = source.pipeThrough(dec.stream).getReader();
  let code: Outcome['code'] = 'none';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
    }
    await dec.digest;
  } catch (e) {
    code = isCarnetError(e) ? e.code : 'foreign';
  }
  return { out: concatBytes(...parts), code };
}

const isPrefix = (out: Uint8Array, of: Uint8Array): boolean =>
  out.length <= of.length && equalBytes(out, of.subarray(0, out.length));

/** Refused with a CarnetError, having emitted nothing but a prefix of the content. */
function expectRefused(r: Outcome, content: Uint8Array, code?: CarnetErrorCode): void {
  expect(ERROR_CODES as readonly string[]).toContain(r.code);
  if (code !== undefined) expect(r.code).toBe(code);
  expect(isPrefix(r.out, content)).toBe(true);
}

/** A sample file: content, chunk size and ciphertext, plus its chunk boundaries. */
interface Sample {
  content: Uint8Array;
  chunkSize: number;
  ct: Uint8Array;
  chunks: [number, number][];
}

const sampleArb: fc.Arbitrary<Promise<Sample>> = fc
  .tuple(fc.uint8Array({ maxLength: 160 }), fc.integer({ min: 16, max: 40 }))
  .map(async ([content, chunkSize]) => {
    const { ciphertext: ct } = await encryptFileBytes(KEY, CTX, content, { chunkSize });
    const chunks: [number, number][] = [];
    for (let off = HEADER_LEN; off < ct.length; off += chunkSize + TAG_LEN) {
      chunks.push([off, Math.min(off + chunkSize + TAG_LEN, ct.length)]);
    }
    return { content, chunkSize, ct, chunks };
  });

const slicingArb = fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 5 });

describe('a hostile relay', () => {
  it('cannot change, remove, add or move any byte', async () => {
    const editArb = fc.oneof(
      fc.record({
        op: fc.constant('flip' as const),
        at: fc.nat(),
        mask: fc.integer({ min: 1, max: 255 }),
      }),
      fc.record({ op: fc.constant('remove' as const), at: fc.nat() }),
      fc.record({ op: fc.constant('insert' as const), at: fc.nat(), byte: fc.nat(255) }),
      fc.record({ op: fc.constant('move' as const), at: fc.nat(), to: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(sampleArb, editArb, slicingArb, async (sampleP, edit, sizes) => {
        const { content, ct } = await sampleP;
        const b = Array.from(ct);
        const at = edit.at % b.length;
        if (edit.op === 'flip') b[at] = (b[at] ?? 0) ^ edit.mask;
        if (edit.op === 'remove') b.splice(at, 1);
        if (edit.op === 'insert') b.splice(edit.at % (b.length + 1), 0, edit.byte);
        if (edit.op === 'move') b.splice(edit.to % b.length, 0, ...b.splice(at, 1));
        const tampered = Uint8Array.from(b);
        fc.pre(!equalBytes(tampered, ct));
        expectRefused(await attempt(tampered, sizes), content);
      }),
      { numRuns: 300 },
    );
  });

  it('cannot truncate: TRUNCATED inside the header, INTEGRITY after it', async () => {
    await fc.assert(
      fc.asyncProperty(sampleArb, fc.nat(), slicingArb, async (sampleP, cut, sizes) => {
        const { content, ct } = await sampleP;
        const len = cut % ct.length;
        expectRefused(
          await attempt(ct.subarray(0, len), sizes),
          content,
          len < HEADER_LEN ? 'TRUNCATED' : 'INTEGRITY',
        );
      }),
      { numRuns: 200 },
    );
  });

  it('cannot swap, drop or duplicate chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        sampleArb,
        fc.constantFrom('swap', 'drop', 'duplicate'),
        fc.nat(),
        fc.nat(),
        async (sampleP, op, x, y) => {
          const { content, ct, chunks } = await sampleP;
          const parts = chunks.map(([s, e]) => ct.subarray(s, e));
          const i = x % parts.length;
          const j = y % parts.length;
          if (op === 'swap') {
            fc.pre(i !== j);
            [parts[i], parts[j]] = [parts[j]!, parts[i]!];
          }
          if (op === 'drop') parts.splice(i, 1);
          if (op === 'duplicate') parts.splice(j, 0, parts[i]!);
          const tampered = concatBytes(ct.subarray(0, HEADER_LEN), ...parts);
          fc.pre(!equalBytes(tampered, ct));
          expectRefused(await attempt(tampered), content, 'INTEGRITY');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('cannot append data after the last chunk', async () => {
    await fc.assert(
      fc.asyncProperty(
        sampleArb,
        fc.uint8Array({ minLength: 1, maxLength: 80 }),
        slicingArb,
        async (sampleP, extra, sizes) => {
          const { content, ct } = await sampleP;
          expectRefused(await attempt(concatBytes(ct, extra), sizes), content, 'INTEGRITY');
        },
      ),
      { numRuns: 150 },
    );
  });

  it('cannot splice the header or a chunk of another file under the same key', async () => {
    await fc.assert(
      fc.asyncProperty(sampleArb, fc.nat(), async (sampleP, x) => {
        const { content, chunkSize, ct, chunks } = await sampleP;
        const { ciphertext: other } = await encryptFileBytes(KEY, CTX, content, { chunkSize });
        // Same content, key, context and chunking: only the salt differs.
        const foreignHeader = concatBytes(other.subarray(0, HEADER_LEN), ct.subarray(HEADER_LEN));
        expectRefused(await attempt(foreignHeader), content, 'INTEGRITY');
        const [s, e] = chunks[x % chunks.length]!;
        const foreignChunk = concatBytes(ct.subarray(0, s), other.subarray(s, e), ct.subarray(e));
        expectRefused(await attempt(foreignChunk), content, 'INTEGRITY');
      }),
      { numRuns: 100 },
    );
  });

  it('cannot present a file under another folder, record, version or key', async () => {
    const content = new Uint8Array(100).fill(42);
    const { ciphertext } = await encryptFileBytes(KEY, CTX, content, { chunkSize: 16 });
    expect((await attempt(ciphertext)).code).toBe('none');
    const wrong: [FileStreamContext, DataKey][] = [
      [{ ...CTX, folderId: OTHER_ID as FolderId }, KEY],
      [{ ...CTX, recordId: OTHER_ID as RecordId }, KEY],
      [{ ...CTX, version: CTX.version + 1 }, KEY],
      [CTX, KEY.map((b, i) => (i === 0 ? b ^ 1 : b)) as DataKey],
    ];
    for (const [ctx, key] of wrong) {
      const r = await attempt(ciphertext, [], ctx, key);
      // The commitment fails before anything is decrypted.
      expect(r).toEqual({ out: new Uint8Array(0), code: 'INTEGRITY' });
    }
  });

  it('gets typed errors for header fields it edits', async () => {
    const content = new Uint8Array(40).fill(1);
    const { ciphertext: ct } = await encryptFileBytes(KEY, CTX, content, { chunkSize: 16 });
    const edited = (at: number, value: number[]): Uint8Array => {
      const b = ct.slice();
      b.set(value, at);
      return b;
    };
    const cases: [Uint8Array, CarnetErrorCode][] = [
      [edited(0, [0x00]), 'DOWNGRADE'],
      [edited(0, [0x02]), 'FORMAT'],
      [edited(1, [0x08]), 'CONTEXT_MISMATCH'], // another registered kind
      [edited(1, [0xee]), 'FORMAT'],
      [edited(2, [0x02]), 'FORMAT'], // unknown cipher
      [edited(3, [0, 0, 0, 8]), 'FORMAT'], // chunk size below the minimum
      [edited(3, [0x01, 0, 0, 1]), 'FORMAT'], // above the maximum
      [edited(3, [0, 0, 0, 32]), 'INTEGRITY'], // valid but not the committed one
      [edited(10, [ct[10]! ^ 0x80]), 'INTEGRITY'], // salt
      [edited(50, [ct[50]! ^ 0x01]), 'INTEGRITY'], // commitment
    ];
    for (const [bytes, code] of cases)
      expect(await attempt(bytes)).toEqual({ out: new Uint8Array(0), code });
  });

  it('gets the same INTEGRITY message whatever failed', async () => {
    const { ciphertext: ct } = await encryptFileBytes(KEY, CTX, new Uint8Array(50), {
      chunkSize: 16,
    });
    const outcomes: string[] = [];
    for (const bad of [
      ct.slice(0, -1), // truncated
      concatBytes(ct, new Uint8Array(1)), // extended
      ct.map((b, i) => (i === 80 ? b ^ 1 : b)), // a chunk byte flipped
    ]) {
      try {
        await decryptFileBytes(KEY, CTX, bad);
        outcomes.push('opened');
      } catch (e) {
        outcomes.push(isCarnetError(e) ? `${e.code}: ${e.message}` : 'foreign');
      }
    }
    // Every failure is INTEGRITY with one and the same message: nothing tells them apart.
    expect(outcomes[0]).toMatch(/^INTEGRITY: /);
    expect(outcomes).toEqual([outcomes[0], outcomes[0], outcomes[0]]);
  });
});

/**
 * Encrypts chosen plaintext chunks with chosen flags under the real key schedule; `editHeader`
 * lets the author write a header of their own, which the chunks are then bound to.
 */
async function craft(
  chunkSize: number,
  chunks: { pt: Uint8Array; last: boolean }[],
  editHeader: (h: Uint8Array) => Uint8Array = (h) => h,
): Promise<Uint8Array> {
  const setup = newFileSetup(KEY, CTX, chunkSize);
  const key = await importFileKey(setup.keys, 'encrypt');
  const header = editHeader(setup.header.slice());
  const additionalData = Uint8Array.from(sha256(header));
  const out: Uint8Array[] = [header];
  for (const [i, { pt, last }] of chunks.entries()) {
    const iv = chunkNonce(setup.keys.noncePrefix, i, last);
    const data = Uint8Array.from(pt);
    out.push(
      new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, data),
      ),
    );
  }
  return concatBytes(...out);
}

/** Plaintext stream of a content, padded as the format says, cut into chunks. */
function plaintextChunks(
  content: Uint8Array,
  chunkSize: number,
  lengthField = content.length,
): Uint8Array[] {
  const pt = new Uint8Array(padme(8 + content.length));
  pt.set(u64(lengthField));
  pt.set(content, 8);
  const out: Uint8Array[] = [];
  for (let off = 0; off < pt.length; off += chunkSize) out.push(pt.slice(off, off + chunkSize));
  return out;
}

describe('a hostile author (holds the data key)', () => {
  const C = 16;
  const content = Uint8Array.from({ length: 50 }, (_, i) => i + 1); // padme(58) = 60: 4 chunks
  const honest = plaintextChunks(content, C);
  const flagged = (pts: Uint8Array[], lastAt = pts.length - 1) =>
    pts.map((pt, i) => ({ pt, last: i === lastAt }));

  it('the crafting helper makes valid files when asked to (so the refusals below mean something)', async () => {
    expect(honest.length).toBe(4);
    const r = await attempt(await craft(C, flagged(honest)));
    expect(r.code).toBe('none');
    expect(equalBytes(r.out, content)).toBe(true);
  });

  it('cannot set the last-chunk flag early, late or never', async () => {
    for (const lastAt of [0, 2, -1]) {
      expectRefused(await attempt(await craft(C, flagged(honest, lastAt))), content, 'INTEGRITY');
    }
    const extra = [...honest, new Uint8Array(C)];
    expectRefused(await attempt(await craft(C, flagged(extra))), content, 'INTEGRITY');
    // A well-flagged file that stops a chunk early: the length prefix says 4 chunks.
    expectRefused(await attempt(await craft(C, flagged(honest.slice(0, 3)))), content, 'INTEGRITY');
  });

  it('cannot make the length prefix disagree with the chunks', async () => {
    // 49: the 50th content byte lands in the padding; 60 and 1000: more chunks than sent;
    // 2^53 − 100: a padded length beyond the safe integers. (51 would be a valid file whose
    // content ends with a zero byte: an author may of course encrypt that.)
    for (const claimed of [49, 60, 1000, 2 ** 53 - 100]) {
      expectRefused(
        await attempt(await craft(C, flagged(plaintextChunks(content, C, claimed)))),
        content,
        'INTEGRITY',
      );
    }
    const unsafe = honest.map((c) => c.slice());
    unsafe[0]!.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expectRefused(await attempt(await craft(C, flagged(unsafe))), content, 'INTEGRITY');
  });

  it('cannot hide data in the padding: the chunk is refused before its content is emitted', async () => {
    // Content fills plaintext bytes 8..57; chunk 3 covers 48..59, so its bytes 10 and 11 are padding.
    const dirty = honest.map((c) => c.slice());
    dirty[3]![11] = 7;
    const r = await attempt(await craft(C, flagged(dirty)));
    expectRefused(r, content, 'INTEGRITY');
    expect(r.out.length).toBe(3 * C - 8); // the content of chunks 0–2 only
  });

  it('cannot write a header whose commitment does not match the key', async () => {
    // Chunks are bound to the edited header, so only the commitment check can refuse this.
    const bogus = await craft(C, flagged(honest), (h) =>
      h.map((b, i) => (i === HEADER_LEN - 1 ? b ^ 1 : b)),
    );
    expect(await attempt(bogus)).toEqual({ out: new Uint8Array(0), code: 'INTEGRITY' });
  });

  it('cannot use short, empty or oversized chunks', async () => {
    const short = honest.map((c, i) => (i === 1 ? c.subarray(0, C - 1) : c));
    expectRefused(await attempt(await craft(C, flagged(short))), content, 'INTEGRITY');
    const emptyLast = [...honest.slice(0, 3), new Uint8Array(0)];
    expectRefused(await attempt(await craft(C, flagged(emptyLast))), content, 'INTEGRITY');
    const tiny = [new Uint8Array([0, 0, 0, 0])];
    expectRefused(await attempt(await craft(C, flagged(tiny))), new Uint8Array(0), 'INTEGRITY');
  });
});

/**
 * Writes vectors/file-stream.v1.json: large-file streams that must open (with their content,
 * length and digest) and streams that must be refused (with the error code). Small chunk sizes
 * keep the file reviewable. Keys are derived from fixed labels; salts are random, so each run
 * gives different ciphertexts (the file is committed once, then only checked by
 * test/stream-vectors.test.ts). Every entry is checked against the implementation before
 * anything is written.
 *
 * Run from shared/: npx tsx scripts/gen-vectors-stream.ts
 */
import { writeFileSync } from 'node:fs';
import { concatBytes, fromHex, toHex, u64, utf8 } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import type { FolderId, RecordId } from '../src/ids';
import type { DataKey } from '../src/keys';
import { padme } from '../src/padme';
import { sha256 } from '../src/primitives/sha2';
import { HEADER_LEN, TAG_LEN, chunkNonce, importFileKey, newFileSetup } from '../src/stream/format';
import { decryptFileBytes, encryptFileBytes } from '../src/stream/index';
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

const CTX: FileStreamContext = {
  folderId: 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId,
  recordId: 'cmVjb3JkLWlkLWV4YW1wbA' as RecordId,
  version: 3,
};

/** A reviewable test key: SHA-256 of a label. */
const testKey = (label: string): DataKey => sha256(utf8(`carnet test key: ${label}`)) as DataKey;
const KEY = testKey('file stream');
const seq = (n: number, from = 0): Uint8Array =>
  Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);
const flip = (b: Uint8Array, i: number): Uint8Array => b.map((x, j) => (j === i ? x ^ 0x01 : x));
const withBytes = (b: Uint8Array, at: number, v: number[]): Uint8Array => {
  const out = b.slice();
  out.set(v, at);
  return out;
};

async function codeOf(fn: () => Promise<unknown>): Promise<CarnetErrorCode | 'none'> {
  try {
    await fn();
    return 'none';
  } catch (e) {
    if (isCarnetError(e)) return e.code;
    throw e;
  }
}

/** Chunk i of a ciphertext with plaintext chunk size c. */
function chunkAt(ct: Uint8Array, c: number, i: number): Uint8Array {
  const s = HEADER_LEN + i * (c + TAG_LEN);
  return ct.subarray(s, Math.min(s + c + TAG_LEN, ct.length));
}

/** An author's hand-made file: chosen plaintext chunks and flags, optionally another header. */
async function craft(
  c: number,
  chunks: { pt: Uint8Array; last: boolean }[],
  editHeader: (h: Uint8Array) => Uint8Array = (h) => h,
): Promise<Uint8Array> {
  const setup = newFileSetup(KEY, CTX, c);
  const key = await importFileKey(setup.keys, 'encrypt');
  const header = editHeader(setup.header.slice());
  const additionalData = Uint8Array.from(sha256(header));
  const out: Uint8Array[] = [header];
  for (const [i, { pt, last }] of chunks.entries()) {
    const iv = chunkNonce(setup.keys.noncePrefix, i, last);
    out.push(
      new Uint8Array(
        await crypto.subtle.encrypt(
          { name: 'AES-GCM', iv, additionalData },
          key,
          Uint8Array.from(pt),
        ),
      ),
    );
  }
  return concatBytes(...out);
}

/** The padded plaintext of `content` with a chosen length field, cut into flagged chunks. */
function plainChunks(
  content: Uint8Array,
  c: number,
  lengthField = content.length,
  lastAt?: number,
) {
  const pt = new Uint8Array(padme(8 + content.length));
  pt.set(u64(lengthField));
  pt.set(content, 8);
  const out: Uint8Array[] = [];
  for (let off = 0; off < pt.length; off += c) out.push(pt.slice(off, off + c));
  const last = lastAt ?? out.length - 1;
  return out.map((p, i) => ({ pt: p, last: i === last }));
}

async function main(): Promise<void> {
  const valid: Entry[] = [];
  const ok = async (
    description: string,
    content: Uint8Array,
    c: number,
    key = KEY,
    ctx = CTX,
  ): Promise<Uint8Array> => {
    const { ciphertext, digest } = await encryptFileBytes(key, ctx, content, { chunkSize: c });
    valid.push({
      description,
      key: toHex(key),
      context: ctx,
      chunk_size: c,
      ciphertext: toHex(ciphertext),
      content: toHex(content),
      content_length: content.length,
      digest: toHex(digest),
    });
    return ciphertext;
  };
  await ok('empty content: one 8-byte chunk (the length prefix)', new Uint8Array(0), 16);
  await ok('one byte: padme(9) = 10', seq(1), 16);
  await ok('8 bytes: padme(16) = 16, exactly one full chunk', seq(8), 16);
  await ok('24 bytes: padme(32) = 32, exactly two full chunks', seq(24), 16);
  const base = await ok('50 bytes: padme(58) = 60, four chunks, two padding bytes', seq(50, 1), 16);
  await ok('100 bytes, chunk size 32: padme(108) = 112', seq(100, 7), 32);
  await ok('another folder, record and version', seq(20), 16, testKey('other'), {
    folderId: 'b3RoZXItZm9sZGVyLWlkLQ' as FolderId,
    recordId: 'b3RoZXItcmVjb3JkLWlkLQ' as RecordId,
    version: 0,
  });
  await ok('default chunk size (1 MiB) in the header, 20 bytes', seq(20, 3), 1 << 20);

  const C = 16;
  const content = seq(50, 1);
  const bad = (
    description: string,
    ciphertext: Uint8Array,
    err: CarnetErrorCode,
    over: Partial<Entry> = {},
  ): Entry => ({
    description,
    key: toHex(KEY),
    context: CTX,
    chunk_size: C,
    ciphertext: toHex(ciphertext),
    expected_error: err,
    ...over,
  });
  const chunks = [0, 1, 2, 3].map((i) => chunkAt(base, C, i));
  const header = base.subarray(0, HEADER_LEN);
  const { ciphertext: twin } = await encryptFileBytes(KEY, CTX, content, { chunkSize: C });
  const invalid: Entry[] = [
    bad('ends inside the header', base.subarray(0, HEADER_LEN - 1), 'TRUNCATED'),
    bad('header only', base.subarray(0, HEADER_LEN), 'INTEGRITY'),
    bad('last chunk missing', base.subarray(0, base.length - chunks[3]!.length), 'INTEGRITY'),
    bad('ends inside the last chunk', base.subarray(0, base.length - 1), 'INTEGRITY'),
    bad('one byte appended', concatBytes(base, new Uint8Array([0])), 'INTEGRITY'),
    bad('a whole chunk appended (copy of chunk 1)', concatBytes(base, chunks[1]!), 'INTEGRITY'),
    bad('flipped byte in chunk 0', flip(base, HEADER_LEN + 3), 'INTEGRITY'),
    bad('flipped tag byte of the last chunk', flip(base, base.length - 1), 'INTEGRITY'),
    bad(
      'chunks 1 and 2 swapped',
      concatBytes(header, chunks[0]!, chunks[2]!, chunks[1]!, chunks[3]!),
      'INTEGRITY',
    ),
    bad('chunk 1 dropped', concatBytes(header, chunks[0]!, chunks[2]!, chunks[3]!), 'INTEGRITY'),
    bad(
      'chunk 1 duplicated',
      concatBytes(header, chunks[0]!, chunks[1]!, chunks[1]!, chunks[2]!, chunks[3]!),
      'INTEGRITY',
    ),
    bad(
      'header of another file (same key, context, content)',
      concatBytes(twin.subarray(0, HEADER_LEN), base.subarray(HEADER_LEN)),
      'INTEGRITY',
    ),
    bad(
      'chunk 2 from another file',
      concatBytes(
        base.subarray(0, HEADER_LEN + 2 * (C + TAG_LEN)),
        chunkAt(twin, C, 2),
        chunks[3]!,
      ),
      'INTEGRITY',
    ),
    bad('flipped salt byte', flip(base, 7), 'INTEGRITY'),
    bad('flipped commitment byte', flip(base, HEADER_LEN - 1), 'INTEGRITY'),
    bad(
      'chunk size changed to another valid value',
      withBytes(base, 3, [0, 0, 0, 32]),
      'INTEGRITY',
    ),
    bad('wrong version in the context', base, 'INTEGRITY', { context: { ...CTX, version: 4 } }),
    bad('wrong record in the context', base, 'INTEGRITY', {
      context: { ...CTX, recordId: 'b3RoZXItcmVjb3JkLWlkLQ' as RecordId },
    }),
    bad('wrong key', base, 'INTEGRITY', { key: toHex(testKey('other')) }),
    bad('format byte 0x00 (older than accepted)', withBytes(base, 0, [0x00]), 'DOWNGRADE'),
    bad('format byte 0x02 (unknown)', withBytes(base, 0, [0x02]), 'FORMAT'),
    bad('kind byte of a record header', withBytes(base, 1, [0x08]), 'CONTEXT_MISMATCH'),
    bad('unknown cipher 0x02', withBytes(base, 2, [0x02]), 'FORMAT'),
    bad('chunk size 8 (below the minimum)', withBytes(base, 3, [0, 0, 0, 8]), 'FORMAT'),
    bad(
      'author: no chunk flagged last',
      await craft(C, plainChunks(content, C, 50, -1)),
      'INTEGRITY',
    ),
    bad(
      'author: chunk 2 flagged last, chunk 3 follows',
      await craft(C, plainChunks(content, C, 50, 2)),
      'INTEGRITY',
    ),
    bad(
      'author: stops after chunk 2, flagged last',
      await craft(
        C,
        plainChunks(content, C)
          .slice(0, 2)
          .concat([{ pt: plainChunks(content, C)[2]!.pt, last: true }]),
      ),
      'INTEGRITY',
    ),
    bad(
      'author: length prefix 60, chunks for 50',
      await craft(C, plainChunks(content, C, 60)),
      'INTEGRITY',
    ),
    bad(
      'author: non-zero padding byte',
      await craft(
        C,
        plainChunks(content, C).map((x, i) =>
          i === 3 ? { pt: withBytes(x.pt, 11, [7]), last: x.last } : x,
        ),
      ),
      'INTEGRITY',
    ),
    bad(
      'author: header commitment not derived from the key (chunks bound to it)',
      await craft(C, plainChunks(content, C), (h) => flip(h, HEADER_LEN - 1)),
      'INTEGRITY',
    ),
  ];

  for (const v of valid) {
    const r = await decryptFileBytes(fromHex(v.key) as DataKey, v.context, fromHex(v.ciphertext));
    if (toHex(r.content) !== v.content || toHex(r.digest) !== v.digest)
      throw new Error(`self-check failed: ${v.description}`);
  }
  for (const v of invalid) {
    const got = await codeOf(() =>
      decryptFileBytes(fromHex(v.key) as DataKey, v.context, fromHex(v.ciphertext)),
    );
    if (got !== v.expected_error)
      throw new Error(`self-check failed: ${v.description} gave ${got}`);
  }
  const doc = {
    format: 'carnet-file-stream',
    version: 1,
    description:
      'Large-file streams (KIND.FILE_STREAM): header [format][kind][cipher][chunk size u32][salt 32][commitment 32], then AES-256-GCM chunks; see docs/protocol-parts/30-file-stream.md. "content" is what decryption yields, "digest" its SHA-256, "context" the FileStreamContext.',
    valid,
    invalid,
  };
  writeFileSync(
    new URL('../vectors/file-stream.v1.json', import.meta.url),
    JSON.stringify(doc, null, 1) + '\n',
  );
  process.stdout.write(
    `wrote ${valid.length} valid and ${invalid.length} invalid file-stream vectors\n`,
  );
}

await main();

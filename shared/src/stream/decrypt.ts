/**
 * Streaming decryption of a file body (format in ./format.ts).
 *
 * Order of checks: the header's prefix, cipher and chunk size; then its key commitment, before
 * anything is decrypted; then each chunk's tag under its nonce (index and last-chunk flag) and
 * the header hash as AD; then the length prefix, the chunk sizes it implies and the zero
 * padding. Only authenticated content is ever emitted, chunk by chunk.
 *
 * Errors. A stream that ends inside the header is `TRUNCATED` (nothing was decrypted, as for a
 * short envelope). After the header, every failure — wrong key or context, altered, moved,
 * dropped, duplicated or appended bytes, missing last chunk — is the uniform `INTEGRITY`.
 *
 * Streaming caveat: chunks are emitted as soon as they verify, so a stream that fails later
 * (truncated, tampered further on) has already emitted a verified prefix of the content. The
 * caller must treat the output as provisional until the stream closes without error and
 * `digest` resolves, and discard it on error.
 */
import { readU64 } from '../bytes';
import { CarnetError, integrityError, invalidArgument } from '../errors';
import type { DataKey } from '../keys';
import { padme } from '../padme';
import { createSha256, largeFileHasher } from './digest';
import type { ContentHasher } from './digest';
import {
  HEADER_LEN,
  LENGTH_PREFIX_LEN,
  MAX_CHUNKS,
  TAG_LEN,
  checkDataKey,
  chunkCount,
  chunkNonce,
  fileAssociatedData,
  importFileKey,
  openFileSetup,
  subtleCrypto,
} from './format';
import type { FileSetup, FileStreamContext } from './format';
import { InFlight, callNow, deferred, singleSlice } from './pipeline';
import type { Deferred } from './pipeline';

/** A file decryptor: pipe the ciphertext through `stream` to get the content. */
export interface FileDecryptor {
  /** Ciphertext in (any slicing), verified content out. */
  stream: TransformStream<Uint8Array, Uint8Array>;
  /** SHA-256 of the content; resolves only once the whole file has verified. */
  digest: Promise<Uint8Array>;
  /** The content length, from the first chunk once it has verified. */
  contentLength: Promise<number>;
}

type Controller = TransformStreamDefaultController<Uint8Array>;
type ChunkMeta = { index: number; last: boolean };

/** What the first chunk's length prefix implies about the rest of the file. */
interface Layout {
  contentLength: number;
  plaintextLength: number;
  chunks: number;
}

class DecryptTransformer {
  private readonly subtle = subtleCrypto();
  private readonly inflight = new InFlight<ArrayBuffer, ChunkMeta>();
  private hasher: ContentHasher | undefined;
  private readonly header = new Uint8Array(HEADER_LEN);
  private headerFill = 0;
  private setup: FileSetup | undefined;
  private key: CryptoKey | undefined;
  private buf: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  private fill = 0;
  private index = 0;
  private layout: Layout | undefined;
  private done = false;

  constructor(
    private readonly dataKey: Uint8Array,
    private readonly ad: Uint8Array,
    private readonly digest: Deferred<Uint8Array>,
    private readonly length: Deferred<number>,
  ) {}

  async start(): Promise<void> {
    await this.guard(async () => {
      this.hasher = await createSha256();
    });
  }

  async transform(slice: Uint8Array, c: Controller): Promise<void> {
    await this.guard(async () => {
      if (!(slice instanceof Uint8Array)) throw invalidArgument('chunk', 'a Uint8Array');
      let off = 0;
      if (this.setup === undefined) {
        const n = Math.min(HEADER_LEN - this.headerFill, slice.length);
        this.header.set(slice.subarray(0, n), this.headerFill);
        this.headerFill += n;
        off = n;
        if (this.headerFill < HEADER_LEN) return;
        await this.openHeader();
      }
      const { buf } = this;
      while (off < slice.length) {
        // A full chunk followed by at least one more byte is not the last: decrypt it now.
        // The last chunk is known only when the input ends, so it waits for `flush`.
        if (this.fill === buf.length) {
          this.dispatch(false);
          while (this.inflight.full) await this.emitOldest(c);
        }
        const n = Math.min(buf.length - this.fill, slice.length - off);
        buf.set(slice.subarray(off, off + n), this.fill);
        this.fill += n;
        off += n;
      }
    });
  }

  async flush(c: Controller): Promise<void> {
    await this.guard(async () => {
      if (this.setup === undefined) throw new CarnetError('TRUNCATED');
      // The last chunk holds at least one plaintext byte.
      if (this.fill <= TAG_LEN) throw integrityError();
      this.dispatch(true);
      while (this.inflight.size > 0) await this.emitOldest(c);
      if (!this.done) throw integrityError();
      this.digest.resolve(await this.hasher!.digest());
    });
  }

  cancel(): Promise<void> {
    this.fail(new CarnetError('TRUNCATED', 'The file stream was cancelled.'));
    return Promise.resolve();
  }

  private async openHeader(): Promise<void> {
    try {
      this.setup = openFileSetup(this.dataKey as DataKey, this.ad, this.header);
    } finally {
      this.dataKey.fill(0);
    }
    this.key = await importFileKey(this.setup.keys, 'decrypt');
    this.buf = new Uint8Array(this.setup.chunkSize + TAG_LEN);
  }

  private dispatch(last: boolean): void {
    const setup = this.setup!;
    if (this.index >= MAX_CHUNKS) throw integrityError();
    const iv = chunkNonce(setup.keys.noncePrefix, this.index, last);
    const data = this.buf.subarray(0, this.fill);
    const key = this.key!;
    const op = callNow(() =>
      this.subtle.decrypt(
        { name: 'AES-GCM', iv, additionalData: setup.chunkAd, tagLength: 128 },
        key,
        data,
      ),
    );
    this.inflight.push(op, { index: this.index, last });
    this.index += 1;
    this.fill = 0;
  }

  private async emitOldest(c: Controller): Promise<void> {
    const r = await this.inflight.next();
    if (r === undefined) return;
    if (!r.ok) throw integrityError();
    await this.accept(new Uint8Array(r.value), r.meta, c);
  }

  /** Checks a verified chunk against the layout, hashes and emits its content bytes. */
  private async accept(
    plain: Uint8Array,
    { index, last }: ChunkMeta,
    c: Controller,
  ): Promise<void> {
    const chunkSize = this.setup!.chunkSize;
    const layout = this.layout ?? this.readLayout(plain, chunkSize);
    const start = index * chunkSize;
    const expectedLast = index === layout.chunks - 1;
    // A valid encryptor chunks deterministically; anything else (an author who crafted a
    // file, a length prefix that disagrees with the chunks) is refused, not guessed around.
    if (
      index >= layout.chunks ||
      last !== expectedLast ||
      plain.length !== Math.min(chunkSize, layout.plaintextLength - start)
    ) {
      throw integrityError();
    }
    const contentEnd = LENGTH_PREFIX_LEN + layout.contentLength;
    const from = Math.max(start, LENGTH_PREFIX_LEN) - start;
    const to = Math.max(Math.min(start + plain.length, contentEnd) - start, from);
    // Zero padding after the content; checked before the chunk's content is emitted.
    if (!allZero(plain.subarray(to))) throw integrityError();
    if (to > from) {
      const content = plain.subarray(from, to);
      // Hashed before it is handed over: the consumer owns what it is given.
      const hashed = this.hasher!.update(content);
      if (hashed !== undefined) await hashed;
      c.enqueue(content);
    }
    if (last) this.done = true;
  }

  private readLayout(first: Uint8Array, chunkSize: number): Layout {
    const contentLength = first.length >= LENGTH_PREFIX_LEN ? readU64(first, 0) : undefined;
    if (
      contentLength === undefined ||
      contentLength > Number.MAX_SAFE_INTEGER - LENGTH_PREFIX_LEN
    ) {
      throw integrityError();
    }
    let plaintextLength: number;
    try {
      plaintextLength = padme(LENGTH_PREFIX_LEN + contentLength);
    } catch {
      throw integrityError();
    }
    const layout = {
      contentLength,
      plaintextLength,
      chunks: chunkCount(plaintextLength, chunkSize),
    };
    this.layout = layout;
    // Now that the size is known, and before any content is hashed, a large file moves its
    // digest to the worker thread.
    const worker = largeFileHasher(contentLength);
    if (worker !== undefined) this.hasher = worker;
    this.length.resolve(contentLength);
    return layout;
  }

  private fail(e: unknown): void {
    this.hasher?.dispose?.();
    this.digest.reject(e);
    this.length.reject(e);
  }

  private async guard(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (e) {
      this.dataKey.fill(0);
      this.fail(e);
      throw e;
    }
  }
}

/**
 * Whether every byte is zero. Padding can be 12 % of a file (32 MiB of a 1 GiB one), so the
 * bulk is read as 32-bit words: a byte loop cost more than the AES-GCM of those chunks.
 */
export function allZero(bytes: Uint8Array): boolean {
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset % 4)) % 4);
  const words = Math.floor((bytes.length - head) / 4);
  let acc = 0;
  for (let i = 0; i < head; i++) acc |= bytes[i]!;
  if (words > 0) {
    // Only built when non-empty: an unaligned offset throws even for a zero-length view.
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
    for (let i = 0; i < words; i++) acc |= view[i]!;
  }
  for (let i = head + 4 * words; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/**
 * A streaming decryptor for a file body of the record version `ctx`, under its data key.
 * See the module comment for the errors and for why output must be discarded on error.
 */
export function createFileDecryptor(key: DataKey, ctx: FileStreamContext): FileDecryptor {
  checkDataKey(key);
  const ad = fileAssociatedData(ctx);
  const digest = deferred<Uint8Array>();
  const length = deferred<number>();
  // A private copy: the caller may wipe its key before the header arrives.
  const t = new DecryptTransformer(key.slice(), ad, digest, length);
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel: () => Promise<void> } = {
    start: () => t.start(),
    transform: (chunk, c) => t.transform(chunk, c),
    flush: (c) => t.flush(c),
    cancel: () => t.cancel(),
  };
  return {
    stream: new TransformStream(transformer),
    digest: digest.promise,
    contentLength: length.promise,
  };
}

/** Decrypts a whole in-memory file. Same format and checks as {@link createFileDecryptor}. */
export async function decryptFileBytes(
  key: DataKey,
  ctx: FileStreamContext,
  ciphertext: Uint8Array,
): Promise<{ content: Uint8Array; digest: Uint8Array }> {
  if (!(ciphertext instanceof Uint8Array)) throw invalidArgument('ciphertext', 'a Uint8Array');
  const dec = createFileDecryptor(key, ctx);
  const reader = singleSlice(ciphertext).pipeThrough(dec.stream).getReader();
  let content: Uint8Array | undefined;
  let off = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    // The first chunk has verified by the time anything is emitted, so the length is known.
    // It comes from the author, who may lie: no allocation larger than the ciphertext itself.
    if (content === undefined) {
      const length = await dec.contentLength;
      if (length > ciphertext.length) throw integrityError();
      content = new Uint8Array(length);
    }
    content.set(value, off);
    off += value.length;
  }
  const digest = await dec.digest;
  return { content: content ?? new Uint8Array(await dec.contentLength), digest };
}

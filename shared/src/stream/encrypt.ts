/**
 * Streaming encryption of a file body (format in ./format.ts). Constant memory: one chunk
 * buffer, reused for every chunk, plus at most `PIPELINE_DEPTH` chunks in flight in WebCrypto.
 *
 * The content length is given up front (files always have one: `File.size`, `fs.stat`); it
 * fixes the padded length, hence which chunk is last, so the encryptor never needs to look
 * ahead. A source that delivers more or fewer bytes is refused with `INVALID_ARGUMENT`, and
 * the final chunk is then never written, so the partial output is not a valid file.
 */
import { u64 } from '../bytes';
import { CarnetError, invalidArgument } from '../errors';
import type { DataKey } from '../keys';
import { createContentHasher } from './digest';
import type { ContentHasher } from './digest';
import {
  DEFAULT_CHUNK_SIZE,
  LENGTH_PREFIX_LEN,
  chunkNonce,
  importFileKey,
  newFileSetup,
  paddedFileSize,
  paddedPlaintextLength,
  subtleCrypto,
} from './format';
import type { FileSetup, FileStreamContext, FileStreamOptions } from './format';
import { InFlight, callNow, deferred, singleSlice } from './pipeline';
import type { Deferred } from './pipeline';

/** A file encryptor: pipe the content through `stream`; `digest` resolves when it closes. */
export interface FileEncryptor {
  /** Content in (any slicing), header and chunks out. */
  stream: TransformStream<Uint8Array, Uint8Array>;
  /** SHA-256 of the content; resolves after the last chunk, rejects if the stream fails. */
  digest: Promise<Uint8Array>;
}

type Controller = TransformStreamDefaultController<Uint8Array>;

class EncryptTransformer {
  private key: CryptoKey | undefined;
  private hasher: ContentHasher | undefined;
  private readonly subtle = subtleCrypto();
  private readonly inflight = new InFlight<ArrayBuffer, number>();
  private readonly buf: Uint8Array<ArrayBuffer>;
  /** Bytes of the current chunk already in `buf`. */
  private fill = LENGTH_PREFIX_LEN;
  /** Plaintext offset of `buf[0]`. */
  private pos = 0;
  private index = 0;
  private received = 0;

  constructor(
    private readonly setup: FileSetup,
    private readonly contentLength: number,
    private readonly plaintextLength: number,
    private readonly digest: Deferred<Uint8Array>,
  ) {
    // A small file gets a small buffer: the whole padded plaintext may be shorter than a chunk.
    this.buf = new Uint8Array(Math.min(setup.chunkSize, plaintextLength));
    this.buf.set(u64(contentLength), 0);
  }

  async start(c: Controller): Promise<void> {
    await this.guard(async () => {
      [this.key, this.hasher] = await Promise.all([
        importFileKey(this.setup.keys, 'encrypt'),
        createContentHasher(this.contentLength),
      ]);
      c.enqueue(this.setup.header.slice());
    });
  }

  async transform(slice: Uint8Array, c: Controller): Promise<void> {
    await this.guard(async () => {
      if (!(slice instanceof Uint8Array)) throw invalidArgument('chunk', 'a Uint8Array');
      if (this.received + slice.length > this.contentLength) {
        throw new CarnetError(
          'INVALID_ARGUMENT',
          'The source delivered more bytes than contentLength.',
        );
      }
      this.received += slice.length;
      const { buf } = this;
      for (let off = 0; off < slice.length;) {
        const piece = slice.subarray(
          off,
          off + Math.min(buf.length - this.fill, slice.length - off),
        );
        buf.set(piece, this.fill);
        this.fill += piece.length;
        off += piece.length;
        // A full chunk that ends the plaintext is the last one: it waits for `flush`, which
        // alone may write it, once the source has proved it has nothing more.
        const dispatched = this.fill === buf.length && this.pos + buf.length < this.plaintextLength;
        if (dispatched) this.dispatch(false);
        // Hash after dispatching, so that it overlaps the encryption of the chunk.
        const hashed = this.hasher!.update(piece);
        if (hashed !== undefined) await hashed;
        while (dispatched && this.inflight.full) await this.emitOldest(c);
      }
    });
  }

  async flush(c: Controller): Promise<void> {
    await this.guard(async () => {
      if (this.received !== this.contentLength) {
        throw new CarnetError(
          'INVALID_ARGUMENT',
          'The source delivered fewer bytes than contentLength.',
        );
      }
      // Padding: zeros up to the Padmé length, the last chunk flagged.
      for (;;) {
        const end = Math.min(this.pos + this.setup.chunkSize, this.plaintextLength);
        const len = end - this.pos;
        this.buf.fill(0, this.fill, len);
        this.fill = len;
        const last = end === this.plaintextLength;
        this.dispatch(last);
        if (last) break;
        while (this.inflight.full) await this.emitOldest(c);
      }
      while (this.inflight.size > 0) await this.emitOldest(c);
      this.digest.resolve(await this.hasher!.digest());
    });
  }

  cancel(): Promise<void> {
    this.hasher?.dispose?.();
    this.digest.reject(new CarnetError('TRUNCATED', 'The file stream was cancelled.'));
    return Promise.resolve();
  }

  /** Sends `buf[0..fill]` to WebCrypto as the next chunk; `buf` is free again on return. */
  private dispatch(last: boolean): void {
    const iv = chunkNonce(this.setup.keys.noncePrefix, this.index, last);
    const data = this.buf.subarray(0, this.fill);
    const key = this.key!;
    const op = callNow(() =>
      this.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: this.setup.chunkAd, tagLength: 128 },
        key,
        data,
      ),
    );
    this.inflight.push(op, this.index);
    this.index += 1;
    this.pos += this.fill;
    this.fill = 0;
  }

  private async emitOldest(c: Controller): Promise<void> {
    const r = await this.inflight.next();
    if (r === undefined) return;
    if (!r.ok)
      throw new CarnetError('UNSUPPORTED', 'WebCrypto AES-GCM encryption failed.', {
        cause: r.error,
      });
    c.enqueue(new Uint8Array(r.value));
  }

  private async guard(body: () => Promise<void>): Promise<void> {
    try {
      await body();
    } catch (e) {
      this.hasher?.dispose?.();
      this.digest.reject(e);
      throw e;
    }
  }
}

/**
 * A streaming encryptor for `contentLength` bytes of content under the record version's data
 * key. Arguments are checked now (`INVALID_ARGUMENT`); the stream emits the header, then one
 * ciphertext chunk per plaintext chunk, `paddedFileSize(contentLength, chunkSize)` bytes in all.
 */
export function createFileEncryptor(
  key: DataKey,
  ctx: FileStreamContext,
  contentLength: number,
  opts: FileStreamOptions = {},
): FileEncryptor {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  paddedFileSize(contentLength, chunkSize);
  const setup = newFileSetup(key, ctx, chunkSize);
  const digest = deferred<Uint8Array>();
  const t = new EncryptTransformer(
    setup,
    contentLength,
    paddedPlaintextLength(contentLength),
    digest,
  );
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel: () => Promise<void> } = {
    start: (c) => t.start(c),
    transform: (chunk, c) => t.transform(chunk, c),
    flush: (c) => t.flush(c),
    cancel: () => t.cancel(),
  };
  return { stream: new TransformStream(transformer), digest: digest.promise };
}

/** Encrypts a whole in-memory file. Same format and checks as {@link createFileEncryptor}. */
export async function encryptFileBytes(
  key: DataKey,
  ctx: FileStreamContext,
  content: Uint8Array,
  opts: FileStreamOptions = {},
): Promise<{ ciphertext: Uint8Array; digest: Uint8Array }> {
  if (!(content instanceof Uint8Array)) throw invalidArgument('content', 'a Uint8Array');
  const size = paddedFileSize(content.length, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const enc = createFileEncryptor(key, ctx, content.length, opts);
  const ciphertext = new Uint8Array(size);
  let off = 0;
  const reader = singleSlice(content).pipeThrough(enc.stream).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    ciphertext.set(value, off);
    off += value.length;
  }
  return { ciphertext, digest: await enc.digest };
}

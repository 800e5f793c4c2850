/**
 * Blob files on disk. An upload is streamed into `tmp/`, hashed as it arrives, fsync'd,
 * renamed into `blobs/` and the directory fsync'd; only then does the caller commit the row
 * that makes the blob visible. A crash leaves at worst a file in `tmp/` (or, in the instant
 * between rename and commit, a file in `blobs/` without a row): both are swept at start.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, rmSync, type ReadStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiError } from '../http/errors';

/** A received, fsync'd, not yet published upload. */
export interface ReceivedFile {
  tmpPath: string;
  size: number;
  sha256: Buffer;
}

/** Called with the running byte count; throws to stop the upload. */
export type ByteGuard = (received: number, chunk: number) => void;

/** The blob store's directories and file operations. */
export class BlobFiles {
  readonly blobDir: string;
  readonly tmpDir: string;

  constructor(dataDir: string) {
    this.blobDir = join(dataDir, 'blobs');
    this.tmpDir = join(dataDir, 'tmp');
    mkdirSync(this.blobDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
  }

  /** Path of a published blob. The id has been validated by the caller (22 base64url chars). */
  path(blobId: string): string {
    return join(this.blobDir, blobId);
  }

  /** Deletes every leftover temporary file (interrupted uploads). Returns how many. */
  cleanTmp(): number {
    const names = readdirSync(this.tmpDir);
    for (const n of names) rmSync(join(this.tmpDir, n), { force: true, recursive: true });
    return names.length;
  }

  /** Deletes published files that no row refers to. Returns how many. */
  sweepOrphans(isKnown: (blobId: string) => boolean): number {
    let n = 0;
    for (const name of readdirSync(this.blobDir)) {
      if (!isKnown(name)) {
        rmSync(join(this.blobDir, name), { force: true, recursive: true });
        n++;
      }
    }
    return n;
  }

  /**
   * Streams `chunks` into a new temporary file, hashing and counting; `guard` sees the
   * running count before each write. The file is fsync'd before this resolves; on any error
   * it is removed.
   */
  async receive(
    name: string,
    chunks: AsyncIterable<Uint8Array>,
    guard: ByteGuard,
  ): Promise<ReceivedFile> {
    const tmpPath = join(this.tmpDir, `${name}.part`);
    const fh = await open(tmpPath, 'wx', 0o600);
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of chunks) {
        guard(size + chunk.byteLength, chunk.byteLength);
        size += chunk.byteLength;
        hash.update(chunk);
        // write() may write less than asked (full disk, signals): finish the chunk or fail.
        for (let off = 0; off < chunk.byteLength;) {
          const { bytesWritten } = await fh.write(chunk, off, chunk.byteLength - off);
          if (bytesWritten <= 0) throw new Error('short write to blob file');
          off += bytesWritten;
        }
      }
      await fh.sync();
      // What is on disk must be exactly what was hashed before the digest is trusted.
      if ((await fh.stat()).size !== size) throw new Error('blob file size mismatch');
    } catch (e) {
      await fh.close().catch(() => {});
      await unlink(tmpPath).catch(() => {});
      throw e;
    }
    await fh.close();
    return { tmpPath, size, sha256: hash.digest() };
  }

  /** Moves a received file into place and makes the rename durable. */
  async publish(file: ReceivedFile, blobId: string): Promise<void> {
    await rename(file.tmpPath, this.path(blobId));
    const dir = await open(this.blobDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Removes a received file that will not be published. */
  async discard(file: ReceivedFile): Promise<void> {
    await unlink(file.tmpPath).catch(() => {});
  }

  /** Removes a published file (its row is already gone). */
  async remove(blobId: string): Promise<void> {
    await unlink(this.path(blobId)).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    });
  }

  /** Bytes `start..end` (inclusive) of a published blob, read at once (for small ranges). */
  async readSmall(blobId: string, start: number, end: number): Promise<Uint8Array<ArrayBuffer>> {
    const fh = await open(this.path(blobId), 'r');
    try {
      // Every byte is overwritten below (or the read fails), so no need to zero-fill.
      const buf = Buffer.allocUnsafeSlow(end - start + 1);
      let off = 0;
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, start + off);
        if (bytesRead === 0) throw new Error('blob file shorter than its row');
        off += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  /** A stream of bytes `start..end` (inclusive) of a published blob. */
  read(blobId: string, start: number, end: number): ReadStream {
    return createReadStream(this.path(blobId), { start, end, highWaterMark: 256 * 1024 });
  }
}

/** `413` helper for guards. */
export const overLimit = (code: 'PAYLOAD_TOO_LARGE' | 'QUOTA_EXCEEDED', limit: number) =>
  new ApiError(
    code,
    code === 'QUOTA_EXCEEDED'
      ? 'blob would exceed the account quota'
      : `blob larger than ${limit} bytes`,
  );

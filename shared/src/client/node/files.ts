/**
 * Streaming documents from and to files, in constant memory: what the CLI uploads and
 * downloads. A download is written to a temporary file and renamed into place only once the
 * stream has ended without error, so a tampered or truncated document never appears at `path`.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';

/** A file as a byte stream and its size, for `addRecord({ kind: 'document', ... })`. */
export async function fileToStream(
  path: string,
): Promise<{ body: ReadableStream<Uint8Array>; size: number; fileName: string }> {
  const { size } = await stat(path);
  const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>;
  return { body, size, fileName: basename(path) };
}

/**
 * Writes a stream to `path` atomically (temporary file, fsync, rename). Resolves with the
 * number of bytes written; on error nothing is left at `path` and the error is rethrown.
 */
export async function streamToFile(
  body: ReadableStream<Uint8Array>,
  path: string,
): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.part`);
  let written = 0;
  try {
    const out = createWriteStream(tmp, { flags: 'wx', mode: 0o600 });
    const counter = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        written += chunk.length;
        c.enqueue(chunk);
      },
    });
    const source = Readable.fromWeb(
      body.pipeThrough(counter) as unknown as NodeReadableStream<Uint8Array>,
    );
    await pipeline(source, out as Writable);
    const fh = await open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    return written;
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/**
 * An upload spool on disk: the relay wants a blob's SHA-256 before its body, and a streamed
 * ciphertext's digest is known only at its end. The ciphertext is written to a private
 * temporary file while it is hashed, then sent from the file: constant memory at any size.
 * The file holds ciphertext only and is removed after the upload.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { SpooledBlob, UploadSpool } from '../record-write';

/** A spool in `dir` (default: the system temp directory). */
export function tempFileSpool(dir: string = tmpdir()): UploadSpool {
  return async (ciphertext) => {
    const folder = await mkdtemp(join(dir, 'carnet-upload-'));
    const path = join(folder, randomBytes(8).toString('hex'));
    const hash = createHash('sha256');
    let size = 0;
    const tap = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, c) {
        hash.update(chunk);
        size += chunk.length;
        c.enqueue(chunk);
      },
    });
    try {
      const source = Readable.fromWeb(
        ciphertext.pipeThrough(tap) as unknown as NodeReadableStream<Uint8Array>,
      );
      await pipeline(source, createWriteStream(path, { flags: 'wx', mode: 0o600 }) as Writable);
    } catch (e) {
      await rm(folder, { recursive: true, force: true });
      throw e;
    }
    const staged: SpooledBlob = {
      sha256: Uint8Array.from(hash.digest()),
      size,
      open: () => Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>,
      dispose: () => rm(folder, { recursive: true, force: true }),
    };
    return staged;
  };
}

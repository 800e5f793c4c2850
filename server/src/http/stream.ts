/**
 * Node file stream → web stream, pull-based so that backpressure holds: the file is read only
 * as fast as the client takes it. Cancelling (client gone) closes the file.
 */
import type { ReadStream } from 'node:fs';

/** Wraps a file stream for a `Response` body. */
export function webStream(rs: ReadStream): ReadableStream<Uint8Array> {
  const it = rs[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      const r = (await it.next()) as IteratorResult<Buffer>;
      if (r.done) ctrl.close();
      else ctrl.enqueue(r.value);
    },
    cancel() {
      rs.destroy();
    },
  });
}

/**
 * A bounded, ordered queue of in-flight WebCrypto operations.
 *
 * WebCrypto runs AES-GCM off the main thread (Node's libuv pool, the browser's crypto
 * threads). Keeping a few chunks in flight lets chunk i+1 be copied and hashed on the main
 * thread while chunk i is encrypted, and lets two cores encrypt at once; results are still
 * consumed strictly in order. Depth 4 measured best with 1 MiB chunks on the 2-core reference
 * VM (depth 1 ran at about half the throughput); memory cost is `depth` chunks.
 */

/** Chunks in flight per stream. */
export const PIPELINE_DEPTH = 4;

/** A settled operation: never a rejected promise, so nothing is ever an unhandled rejection. */
export type Settled<T, M> =
  { ok: true; value: T; meta: M } | { ok: false; error: unknown; meta: M };

/** FIFO of pending operations, each tagged with metadata `M` (chunk index, last flag…). */
export class InFlight<T, M> {
  private readonly queue: Promise<Settled<T, M>>[] = [];

  constructor(private readonly depth: number = PIPELINE_DEPTH) {}

  /**
   * Adds an operation. Its rejection is captured at once: a rejected promise that sits in the
   * queue unobserved would otherwise crash Node (`--unhandled-rejections=throw`).
   */
  push(op: Promise<T>, meta: M): void {
    this.queue.push(
      op.then(
        (value): Settled<T, M> => ({ ok: true, value, meta }),
        (error: unknown): Settled<T, M> => ({ ok: false, error, meta }),
      ),
    );
  }

  /** True when another `push` should wait for the oldest operation first. */
  get full(): boolean {
    return this.queue.length >= this.depth;
  }

  /** Number of pending operations. */
  get size(): number {
    return this.queue.length;
  }

  /** The oldest operation's outcome, or `undefined` if none is pending. */
  async next(): Promise<Settled<T, M> | undefined> {
    const head = this.queue.shift();
    return head === undefined ? undefined : await head;
  }
}

/** A promise with its settle functions; its rejection is pre-observed (see {@link deferred}). */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * A promise settled from outside. A handler is attached at once so that a caller who never
 * awaits it (e.g. ignores `digest` after a failed stream) does not trigger an unhandled
 * rejection; a caller who does await it still sees the rejection.
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Calls a WebCrypto operation synchronously and always returns a promise. Calling it now, not
 * in a `then`, matters: WebCrypto copies its input at call time (WebCrypto spec, "get a copy of
 * the bytes held by the data parameter"), which is what lets the caller reuse its buffer at once.
 */
export function callNow<T>(op: () => Promise<T>): Promise<T> {
  try {
    return op();
  } catch (e) {
    return Promise.reject(e);
  }
}

/** A stream of one slice (ReadableStream.from is missing from some supported browsers). */
export function singleSlice(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}

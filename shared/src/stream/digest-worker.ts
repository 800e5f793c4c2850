/**
 * SHA-256 of a large file's content on a Node worker thread.
 *
 * Measured on the 2-core reference VM, the content digest was the largest cost of the file
 * stream: SHA-256 (SHA-NI) takes ≈ 0.7 ms of CPU per MiB, more than WebCrypto's AES-GCM, and
 * inline it ran on the main thread, which is the one thread the stream cannot parallelise.
 * Here the main thread only copies each MiB into a shared buffer (≈ 0.07 ms) and posts it; a
 * worker hashes it while WebCrypto's pool encrypts. Same digest, byte for byte.
 *
 * Node only: `node:worker_threads` is reached through `process.getBuiltinModule`, so browsers
 * and bundlers never see it. One worker per process, started on first use (≈ 50 ms, hence only
 * for files of {@link WORKER_MIN_BYTES} or more), kept `unref`'d except while it owes an answer,
 * so an abandoned stream can never keep a process alive. Streams use it only once it has
 * answered a first ping; a failure after that rejects the streams using it (their hash state
 * is lost) and disables it for the rest of the process (new streams hash inline).
 */
import { CarnetError } from '../errors';
import type { ContentHasher } from './digest';

/** Content length from which the encryptor and decryptor hash on the worker. */
export const WORKER_MIN_BYTES = 16 * 2 ** 20;

const SLOT_BYTES = 2 ** 20;
const SLOTS = 3;

/**
 * The worker: one `node:crypto` hash per stream id; acknowledges each slot once hashed. It
 * reaches its modules through `process.getBuiltinModule`, so it runs whether the eval'd source
 * is taken as CommonJS or as an ES module (`--input-type=module` is inherited).
 */
const WORKER_SOURCE = `
const { parentPort } = process.getBuiltinModule('node:worker_threads');
const { createHash } = process.getBuiltinModule('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  let h = hashes.get(m.stream);
  if (m.op === 'update') {
    if (h === undefined) hashes.set(m.stream, (h = createHash('sha256')));
    h.update(new Uint8Array(m.buffer, 0, m.length));
    parentPort.postMessage({ req: m.req });
  } else if (m.op === 'digest') {
    hashes.delete(m.stream);
    const d = (h ?? createHash('sha256')).digest();
    parentPort.postMessage({ req: m.req, digest: new Uint8Array(d) });
  } else if (m.op === 'ping') {
    parentPort.postMessage({ req: m.req });
  } else {
    hashes.delete(m.stream);
  }
});
`;

interface WorkerLike {
  postMessage(message: unknown): void;
  on(event: string, listener: (value: unknown) => void): unknown;
  ref(): void;
  unref(): void;
}

interface WorkerThreadsLike {
  Worker: new (source: string, options: { eval: true; execArgv: string[] }) => WorkerLike;
}

type Reply = { req: number; digest?: Uint8Array };

/** The process-wide worker and the answers it owes. */
class HashWorker {
  private readonly pending = new Map<
    number,
    { resolve: (r: Reply) => void; reject: (e: unknown) => void }
  >();
  private nextReq = 0;
  private nextStream = 0;
  broken = false;
  /** Set once the worker has answered a ping: until then streams hash inline. */
  ready = false;
  /** Resolves true once the worker answered, false if it failed first. */
  readonly started: Promise<boolean>;

  constructor(private readonly worker: WorkerLike) {
    worker.unref();
    worker.on('message', (m) => this.answer(m as Reply));
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', () => this.fail(new Error('hash worker exited')));
    this.started = this.request({ op: 'ping' }).then(
      () => (this.ready = true),
      () => false,
    );
  }

  newStreamId(): number {
    return this.nextStream++;
  }

  /** Posts a request; the worker is referenced while any answer is owed. */
  request(message: Record<string, unknown>): Promise<Reply> {
    if (this.broken)
      return Promise.reject(new CarnetError('UNSUPPORTED', 'The hash worker failed.'));
    const req = this.nextReq++;
    const answer = new Promise<Reply>((resolve, reject) =>
      this.pending.set(req, { resolve, reject }),
    );
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ ...message, req });
    return answer;
  }

  /** Fire and forget (no answer owed). */
  notify(message: Record<string, unknown>): void {
    if (!this.broken) this.worker.postMessage(message);
  }

  private answer(reply: Reply): void {
    const p = this.pending.get(reply.req);
    if (p === undefined) return;
    this.pending.delete(reply.req);
    if (this.pending.size === 0) this.worker.unref();
    p.resolve(reply);
  }

  private fail(cause: unknown): void {
    if (this.broken) return;
    this.broken = true;
    const error = new CarnetError('UNSUPPORTED', 'The hash worker failed.', { cause });
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.worker.unref();
  }
}

/** `undefined`: not tried yet; `null`: no worker in this environment. */
let shared: HashWorker | null | undefined;

function hashWorker(): HashWorker | null | undefined {
  if (shared === undefined) {
    shared = null;
    try {
      const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } })
        .process;
      const wt = proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreadsLike | undefined;
      if (typeof wt?.Worker === 'function' && typeof SharedArrayBuffer === 'function') {
        // No inherited flags: a loader such as tsx would only slow the worker's start.
        shared = new HashWorker(new wt.Worker(WORKER_SOURCE, { eval: true, execArgv: [] }));
      }
    } catch {
      shared = null;
    }
  }
  return shared;
}

/**
 * Starts the worker if there can be one and resolves whether it is ready. Optional: the first
 * large stream starts it anyway (and hashes inline until it has answered, so that a worker
 * that cannot start costs a fallback, not a failed stream). Tests and benchmarks await it.
 */
export async function hashWorkerReady(): Promise<boolean> {
  const w = hashWorker();
  return w === null || w === undefined ? false : (await w.started) && !w.broken;
}

/**
 * An incremental SHA-256 computed on the worker, or `undefined` where there is none. `update`
 * copies into one of {@link SLOTS} shared 1 MiB buffers and returns a promise only when all are
 * still being hashed (backpressure); `digest` resolves with the worker's answer.
 */
export function createWorkerSha256(): ContentHasher | undefined {
  const w = hashWorker();
  if (w === null || w === undefined || !w.ready || w.broken) return undefined;
  const stream = w.newStreamId();
  const slots = Array.from({ length: SLOTS }, () => ({
    bytes: new Uint8Array(new SharedArrayBuffer(SLOT_BYTES)),
    busy: undefined as Promise<unknown> | undefined,
  }));
  let current = 0;
  let fill = 0;
  let failure: unknown;

  const flush = (): void => {
    const slot = slots[current]!;
    slot.busy = w.request({ op: 'update', stream, buffer: slot.bytes.buffer, length: fill }).then(
      () => (slot.busy = undefined),
      (e: unknown) => (failure ??= e),
    );
    current = (current + 1) % SLOTS;
    fill = 0;
  };

  const update = (data: Uint8Array): void | Promise<void> => {
    for (let off = 0; off < data.length;) {
      if (failure !== undefined) throw failure;
      const slot = slots[current]!;
      if (slot.busy !== undefined) {
        const rest = data.subarray(off);
        return slot.busy.then(() => update(rest));
      }
      const n = Math.min(SLOT_BYTES - fill, data.length - off);
      slot.bytes.set(data.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === SLOT_BYTES) flush();
    }
  };

  return {
    update,
    async digest(): Promise<Uint8Array> {
      if (fill > 0) flush();
      const { digest } = await w.request({ op: 'digest', stream });
      if (failure !== undefined) throw failure;
      if (digest === undefined) throw new CarnetError('UNSUPPORTED', 'The hash worker failed.');
      return Uint8Array.from(digest);
    },
    dispose(): void {
      w.notify({ op: 'dispose', stream });
    },
  };
}

/**
 * Incremental SHA-256 of a file's content, computed while it streams through the encryptor or
 * decryptor (the author signs it; no second pass over the file).
 *
 * WebCrypto's `digest` is one-shot, so an incremental hash must come from elsewhere. Measured
 * on the reference VM (1 MiB updates): node:crypto ≈ 1,550 MB/s (OpenSSL, SHA-NI), hash-wasm
 * ≈ 200 MB/s, noble ≈ 110 MB/s, against 1,200–2,500 MB/s for WebCrypto AES-GCM. So:
 *
 * 1. node:crypto when running in Node — found through `process.getBuiltinModule`, which needs
 *    no `import` statement, so this module still bundles and runs in a browser unchanged;
 * 2. hash-wasm elsewhere (browsers, workers), loaded lazily;
 * 3. noble if WebAssembly is unavailable (e.g. a CSP without `wasm-unsafe-eval`).
 *
 * Under Node, files of 16 MiB or more hash on a worker thread instead (./digest-worker.ts):
 * inline, SHA-256 was the main thread's largest cost and capped the whole stream.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { CarnetError, invalidArgument } from '../errors';
import { nodeCrypto, type NodeCryptoLike } from '../primitives/node-crypto';
import { WORKER_MIN_BYTES, createWorkerSha256 } from './digest-worker';

/** An incremental SHA-256, computed inline. `digest` may be called once. */
export interface Sha256Stream {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/**
 * What the encryptor and decryptor hash content with: a {@link Sha256Stream}, or the
 * worker-backed hasher, whose `update` and `digest` may return promises (backpressure). Callers
 * await them before touching `data` again.
 */
export interface ContentHasher {
  update(data: Uint8Array): void | Promise<void>;
  digest(): Uint8Array | Promise<Uint8Array>;
  /** Releases resources after a failure, when `digest` will not be called. */
  dispose?(): void;
}

/** Which inline implementation backs a {@link Sha256Stream}. */
export type Sha256Impl = 'node' | 'wasm' | 'noble';

function fromNode(mod: NodeCryptoLike): Sha256Stream {
  const h = mod.createHash('sha256');
  return {
    update: (data) => void h.update(data),
    // A Buffer is a Uint8Array; copy into a plain one so callers compare and serialise alike.
    digest: () => Uint8Array.from(h.digest()),
  };
}

async function fromWasm(): Promise<Sha256Stream> {
  const { createSHA256 } = await import('hash-wasm');
  const h = await createSHA256();
  h.init();
  return {
    update: (data) => void h.update(data),
    digest: () => h.digest('binary'),
  };
}

function fromNoble(): Sha256Stream {
  const h = nobleSha256.create();
  return {
    update: (data) => void h.update(data),
    digest: () => h.digest(),
  };
}

/** The implementation {@link createSha256} picks here when not forced. */
export function preferredSha256(): Sha256Impl {
  return nodeCrypto() !== undefined ? 'node' : 'wasm';
}

/**
 * A fresh incremental SHA-256. Without `impl`, the fastest available (see the module comment);
 * with it, exactly that one (`UNSUPPORTED` if unavailable), so tests can check each path.
 */
export async function createSha256(impl?: Sha256Impl): Promise<Sha256Stream> {
  if (impl !== undefined && impl !== 'node' && impl !== 'wasm' && impl !== 'noble') {
    throw invalidArgument('impl', "'node', 'wasm' or 'noble'");
  }
  if (impl === 'noble') return fromNoble();
  if (impl === undefined || impl === 'node') {
    const mod = nodeCrypto();
    if (mod !== undefined) return fromNode(mod);
    if (impl === 'node') throw new CarnetError('UNSUPPORTED', 'node:crypto is not available.');
  }
  try {
    return await fromWasm();
  } catch (e) {
    if (impl === 'wasm')
      throw new CarnetError('UNSUPPORTED', 'WebAssembly SHA-256 is not available.', { cause: e });
    return fromNoble();
  }
}

/**
 * The content hasher of a file of `contentLength` bytes: on the worker thread (Node) for large
 * files, where it keeps SHA-256 off the main thread, else the fastest inline implementation.
 */
export async function createContentHasher(contentLength: number): Promise<ContentHasher> {
  return largeFileHasher(contentLength) ?? createSha256();
}

/** The worker-backed hasher if `contentLength` warrants it and a worker is available. */
export function largeFileHasher(contentLength: number): ContentHasher | undefined {
  return contentLength >= WORKER_MIN_BYTES ? createWorkerSha256() : undefined;
}

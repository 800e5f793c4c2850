/**
 * Local state: the file store is durable and atomic (no torn or leftover files, concurrent
 * writes all land), a damaged file or mark is an error rather than a silent reset, and the
 * Node file helpers never leave a partial download in place.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileLocalStore, fileToStream, streamToFile, tempFileSpool } from '../src/client/node';
import { highWaterStoreFor, MemoryLocalStore, pinStoreFor } from '../src/client/store';
import { isCarnetError } from '../src/errors';
import type { AccountId } from '../src/ids';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'carnet-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (isCarnetError(e) ? e.code : String(e)),
  );
}

describe('FileLocalStore', () => {
  it('persists across instances, in a private file, with no temporary file left', async () => {
    const path = join(dir, 'nested', 'state.json');
    const a = new FileLocalStore(path);
    await a.set('session', '{"token":"t"}');
    await a.set('kdf/dr.x', 'k');
    await a.delete('kdf/dr.x');
    await a.delete('absent');
    const b = new FileLocalStore(path);
    expect(await b.get('session')).toBe('{"token":"t"}');
    expect(await b.get('kdf/dr.x')).toBeUndefined();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'nested'))).toEqual(['state.json']);
  });

  it('concurrent writes are coalesced and none is lost', async () => {
    const path = join(dir, 'state.json');
    const s = new FileLocalStore(path);
    await Promise.all(Array.from({ length: 200 }, (_, i) => s.set(`k${i}`, String(i))));
    const onDisk = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    expect(Object.keys(onDisk)).toHaveLength(200);
    expect(onDisk.k199).toBe('199');
  });

  it('a damaged file is FORMAT, never an empty store', async () => {
    const path = join(dir, 'state.json');
    writeFileSync(path, '{"pin": "abc"');
    expect(await codeOf(new FileLocalStore(path).get('pin'))).toBe('FORMAT');
    writeFileSync(path, '[1,2]');
    expect(await codeOf(new FileLocalStore(path).get('pin'))).toBe('FORMAT');
  });
});

describe('views of the store', () => {
  const alice = 'A'.repeat(22) as AccountId;
  const bob = 'B'.repeat(22) as AccountId;

  it('keep accounts apart', async () => {
    const store = new MemoryLocalStore();
    await pinStoreFor(store, alice).set(bob, 'ff');
    expect(await pinStoreFor(store, bob).get(bob)).toBeUndefined();
    await highWaterStoreFor(store, alice).set('manifest:x', { seq: 3, hash: 'aa' });
    expect(await highWaterStoreFor(store, alice).get('manifest:x')).toEqual({ seq: 3, hash: 'aa' });
    expect(await highWaterStoreFor(store, bob).get('manifest:x')).toBeUndefined();
  });

  it('a damaged high-water mark is FORMAT, so a rollback window never reopens', async () => {
    const store = new MemoryLocalStore();
    await store.set(`account/${alice}/hw/manifest:x`, '{"seq":"3"}');
    expect(await codeOf(highWaterStoreFor(store, alice).get('manifest:x'))).toBe('FORMAT');
  });
});

describe('file helpers', () => {
  it('stream a file in and out', async () => {
    const src = join(dir, 'in.pdf');
    writeFileSync(src, Buffer.alloc(3 * 1024 * 1024 + 5, 0x42));
    const { body, size, fileName } = await fileToStream(src);
    expect([size, fileName]).toEqual([3 * 1024 * 1024 + 5, 'in.pdf']);
    const out = join(dir, 'out.pdf');
    expect(await streamToFile(body, out)).toBe(size);
    expect(readFileSync(out).equals(readFileSync(src))).toBe(true);
  });

  it('leave nothing at the destination when the stream fails', async () => {
    const failing = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array([1, 2, 3]));
        c.error(new Error('tampered'));
      },
    });
    const out = join(dir, 'doc.pdf');
    await expect(streamToFile(failing, out)).rejects.toThrow('tampered');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('the upload spool stages bytes with their digest and removes them', async () => {
    const staged = await tempFileSpool(dir)(new Blob([new Uint8Array([1, 2, 3])]).stream());
    expect(staged.size).toBe(3);
    expect(Buffer.from(staged.sha256).toString('hex')).toBe(
      '039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81',
    );
    expect(new Uint8Array(await new Response(staged.open()).arrayBuffer())).toEqual(
      new Uint8Array([1, 2, 3]),
    );
    await staged.dispose();
    expect(readdirSync(dir)).toEqual([]);
  });
});

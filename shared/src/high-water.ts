/**
 * High-water marks: the newest (sequence number, hash) a client has accepted for each chain it
 * follows — a folder's manifests, a record's versions. A relay that serves anything older is
 * rolling the client back; one that serves a different object under a number already seen is
 * forking the history. Both are `ROLLBACK`.
 */
import { toHex } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { FolderId, RecordId } from './ids';

/** A stored mark. `hash` is lower-case hex. */
export interface HighWaterMark {
  seq: number;
  hash: string;
}

/** Persistent storage of marks (IndexedDB in the browser, a file in the CLI, memory in tests). */
export interface HighWaterStore {
  get(key: string): Promise<HighWaterMark | undefined>;
  set(key: string, v: HighWaterMark): Promise<void>;
}

/** A {@link HighWaterStore} in memory, for tests and short-lived clients. */
export class MemoryHighWaterStore implements HighWaterStore {
  private readonly marks = new Map<string, HighWaterMark>();

  get(key: string): Promise<HighWaterMark | undefined> {
    const v = this.marks.get(key);
    return Promise.resolve(v === undefined ? undefined : { ...v });
  }

  set(key: string, v: HighWaterMark): Promise<void> {
    this.marks.set(key, { ...v });
    return Promise.resolve();
  }
}

/** Key of a folder's manifest chain. */
export function manifestMarkKey(folderId: FolderId): string {
  return `manifest:${folderId}`;
}

/** Key of a record's version chain. */
export function recordMarkKey(folderId: FolderId, recordId: RecordId): string {
  return `record:${folderId}:${recordId}`;
}

// Checks on one key are serialised per store: two concurrent fetches of the same folder must
// not both read the old mark and then write in either order, which could move the mark back.
const queues = new WeakMap<HighWaterStore, Map<string, Promise<unknown>>>();

function serialised<T>(store: HighWaterStore, key: string, task: () => Promise<T>): Promise<T> {
  let perStore = queues.get(store);
  if (perStore === undefined) {
    perStore = new Map();
    queues.set(store, perStore);
  }
  const previous = perStore.get(key) ?? Promise.resolve();
  const run = previous.then(task, task);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  perStore.set(key, settled);
  void settled.then(() => {
    if (perStore.get(key) === settled) perStore.delete(key);
  });
  return run;
}

/**
 * Compares `(seq, hash)` with the stored mark for `key` and advances it.
 *
 * - no mark, or a higher `seq`: the mark becomes `(seq, hash)`; returns `'advanced'`;
 * - the same `seq` and hash: nothing changes; returns `'unchanged'`;
 * - the same `seq` with another hash (a fork), or a lower `seq` (a rollback): `ROLLBACK`.
 *
 * Call it only after the object has been verified (signature, chain), so a forged object can
 * never move the mark.
 */
export async function checkAndAdvance(
  store: HighWaterStore,
  key: string,
  seq: number,
  hash: Uint8Array | string,
): Promise<'advanced' | 'unchanged'> {
  if (!Number.isSafeInteger(seq) || seq < 0)
    throw invalidArgument('seq', 'a safe non-negative integer');
  const hex = typeof hash === 'string' ? hash.toLowerCase() : toHex(hash);
  if (!/^[0-9a-f]+$/.test(hex)) throw invalidArgument('hash', 'bytes or hex');
  return serialised(store, key, async () => {
    const mark = await store.get(key);
    if (mark !== undefined) {
      if (seq < mark.seq) throw new CarnetError('ROLLBACK');
      if (seq === mark.seq) {
        if (mark.hash === hex) return 'unchanged';
        throw new CarnetError(
          'ROLLBACK',
          'The relay served two different states under the same number (a fork).',
        );
      }
    }
    await store.set(key, { seq, hash: hex });
    return 'advanced';
  });
}

/**
 * A {@link LocalStore} in one JSON file, for the CLI. Every change is durable when its promise
 * resolves: the whole map is written to a temporary file in the same directory, fsync'd,
 * renamed over the old file, and the directory fsync'd, so a crash leaves either the old or
 * the new state, never a torn file. Changes made while a write is in flight are coalesced into
 * the next write.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { CarnetError } from '../../errors';
import type { LocalStore } from '../store';

/** A file-backed {@link LocalStore} (mode 0600, directory 0700). */
export class FileLocalStore implements LocalStore {
  readonly path: string;
  #values: Map<string, string> | undefined;
  #loading: Promise<Map<string, string>> | undefined;
  /** The write in flight, and whether another must follow it. */
  #writing: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** {@inheritDoc LocalStore.get} */
  async get(key: string): Promise<string | undefined> {
    return (await this.#map()).get(key);
  }

  /** {@inheritDoc LocalStore.set} */
  async set(key: string, value: string): Promise<void> {
    (await this.#map()).set(key, value);
    await this.#persist();
  }

  /** {@inheritDoc LocalStore.delete} */
  async delete(key: string): Promise<void> {
    const map = await this.#map();
    if (!map.delete(key)) return;
    await this.#persist();
  }

  async #map(): Promise<Map<string, string>> {
    if (this.#values !== undefined) return this.#values;
    this.#loading ??= this.#load();
    this.#values = await this.#loading;
    return this.#values;
  }

  async #load(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw e;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      // Never start over silently: pins and high-water marks are what detect a lying relay.
      throw new CarnetError('FORMAT', `The local state file ${this.path} is damaged.`, {
        cause: e,
      });
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CarnetError('FORMAT', `The local state file ${this.path} is damaged.`);
    }
    const map = new Map<string, string>();
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') map.set(k, v);
    return map;
  }

  /** Resolves once a write that started after this call has completed. */
  #persist(): Promise<void> {
    if (this.#writing === undefined) {
      this.#writing = this.#write().finally(() => (this.#writing = undefined));
      return this.#writing;
    }
    // A write is in flight with an older state: queue exactly one more, shared by all callers.
    this.#next ??= this.#writing
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.#persist();
      });
    return this.#next;
  }

  async #write(): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const text = JSON.stringify(Object.fromEntries([...this.#values!].sort()), null, 1);
    const tmp = join(dir, `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }
}

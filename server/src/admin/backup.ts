/**
 * Online backup and restore of a relay's data directory (issue 5 §4).
 *
 * Backup, while the relay runs and writes: the database is copied with SQLite's online backup
 * API in a single step (one read transaction, so the copy is one consistent instant and a
 * concurrent write cannot make it restart), then the blob files that the *copy's* `blobs`
 * table names are packed. Blob files are immutable once their row exists, so each one read is
 * exactly what the snapshot refers to; one deleted after the snapshot (its folder deleted,
 * an unattached upload collected) is skipped and the snapshot is made consistent with that:
 * the folder is dropped from the copy, the unattached row removed. Last come `secret.key`,
 * `relay-signing.key` and a manifest. Everything goes into one tar file (mode 0600) written to
 * a temporary name, fsync'd, then renamed.
 *
 * Restore: into an empty or absent directory only. Everything is extracted into a staging
 * directory next to it, fsync'd, checked (`PRAGMA integrity_check`, foreign keys, each blob's
 * size and SHA-256 against its row, no file without a row), and only then renamed into place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  type FileHandle,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { once } from 'node:events';
import Database from 'better-sqlite3';
import * as tar from 'tar-stream';
import { MIGRATIONS } from '../db/migrations';
import { DB_FILE, SECRET_FILE } from '../relay';
import { SIGNING_KEY_FILE } from '../signing';
import { deletionStore } from '../store/deletion';

/** Name of the manifest inside a backup file. */
export const BACKUP_MANIFEST = 'carnet-backup.json';
/** `format` field of the manifest. */
export const BACKUP_FORMAT = 'carnet-relay-backup';
/** Version of the backup layout. */
export const BACKUP_VERSION = 1;

const ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
const KEY_FILES = [SECRET_FILE, SIGNING_KEY_FILE] as const;

/** A refused backup or restore, with a sentence for the operator. */
export class BackupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackupError';
  }
}

/** The manifest stored in a backup. */
export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: typeof BACKUP_VERSION;
  /** When the database snapshot was taken (ms). */
  createdAt: number;
  schemaVersion: number;
  /** Blob files packed and referenced by the database copy. */
  blobs: number;
  blobBytes: number;
  /** Blob files packed but no longer referenced (their folder was dropped): not restored. */
  orphaned: string[];
  /** Blobs deleted on the relay after the snapshot, and folders dropped from the copy for it. */
  skipped: { blobId: string; folderId: string | null }[];
  droppedFolders: string[];
}

/** What {@link backupRelay} did. */
export interface BackupReport {
  file: string;
  manifest: BackupManifest;
}

/** Options of {@link backupRelay}. */
export interface BackupOptions {
  /** The relay's data directory. */
  dataDir: string;
  /** The backup file to write (replaced atomically if it exists). */
  out: string;
  now?: () => number;
  /**
   * Called once the database copy is taken, before any blob file is read. Tests delete a
   * folder there to exercise a deletion racing the backup.
   */
  afterSnapshot?: () => void | Promise<void>;
}

interface BlobRow {
  blob_id: string;
  folder_id: string | null;
  size: number;
  sha256: Buffer;
}

/** Takes a consistent backup of a (possibly running) relay. */
export async function backupRelay(o: BackupOptions): Promise<BackupReport> {
  const now = o.now ?? Date.now;
  const dbFile = join(o.dataDir, DB_FILE);
  for (const f of [DB_FILE, ...KEY_FILES]) {
    if (!(await exists(join(o.dataDir, f)))) {
      throw new BackupError(
        `${join(o.dataDir, f)} is missing: is ${o.dataDir} a relay's data directory?`,
      );
    }
  }
  const work = await mkdtemp(join(dirname(o.out), '.carnet-backup-'));
  const tmpOut = join(dirname(o.out), `.${basename(o.out)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const snapFile = join(work, DB_FILE);
    const createdAt = now();
    await snapshot(dbFile, snapFile);
    await o.afterSnapshot?.();
    const snap = new Database(snapFile);
    let manifest: BackupManifest;
    const fh = await open(tmpOut, 'wx', 0o600);
    try {
      const pack = tar.pack();
      const sink = pipeTo(pack, fh);
      try {
        const mtime = new Date(createdAt);
        const rows = snap
          .prepare('SELECT blob_id, folder_id, size, sha256 FROM blobs')
          .all() as BlobRow[];
        const packed: BlobRow[] = [];
        const skipped: BlobRow[] = [];
        for (const row of rows) {
          if (await packBlob(pack, o.dataDir, row, mtime)) packed.push(row);
          else skipped.push(row);
        }
        const dropped = reconcile(snap, skipped);
        const orphaned = packed.filter((r) => r.folder_id !== null && dropped.has(r.folder_id));
        const kept = packed.filter((r) => !orphaned.includes(r));
        checkDatabase(snap, 'the database copy');
        snap.pragma('journal_mode = DELETE');
        snap.close();
        manifest = {
          format: BACKUP_FORMAT,
          version: BACKUP_VERSION,
          createdAt,
          schemaVersion: schemaOf(snapFile),
          blobs: kept.length,
          blobBytes: kept.reduce((n, r) => n + r.size, 0),
          orphaned: orphaned.map((r) => r.blob_id),
          skipped: skipped.map((r) => ({ blobId: r.blob_id, folderId: r.folder_id })),
          droppedFolders: [...dropped],
        };
        await packFile(pack, DB_FILE, snapFile, mtime);
        for (const f of KEY_FILES) await packFile(pack, f, join(o.dataDir, f), mtime);
        const json = Buffer.from(JSON.stringify(manifest, null, 1));
        await new Promise<void>((ok, fail) =>
          pack.entry({ name: BACKUP_MANIFEST, size: json.length, mode: 0o600, mtime }, json, (e) =>
            e ? fail(e) : ok(),
          ),
        );
        pack.finalize();
        await sink;
      } catch (e) {
        pack.destroy(e instanceof Error ? e : new Error(String(e)));
        await sink.catch(() => {});
        throw e;
      } finally {
        if (snap.open) snap.close();
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmpOut, o.out);
    await syncDir(dirname(o.out));
    return { file: o.out, manifest };
  } catch (e) {
    await rm(tmpOut, { force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Copies the live database with the online backup API, all pages in one step: one read
 * transaction, so a concurrent write neither tears the copy nor restarts it.
 */
async function snapshot(dbFile: string, snapFile: string): Promise<void> {
  const src = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 5000');
    await src.backup(snapFile, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
}

/**
 * Makes the copy consistent with blob files deleted after the snapshot: a folder whose blob
 * is gone was deleted meanwhile (attached blobs go only with their folder), so it is dropped;
 * an unattached blob (upload never used, staged import removed) loses its row. Returns the
 * dropped folders.
 */
function reconcile(snap: Database.Database, skipped: BlobRow[]): Set<string> {
  const dropped = new Set<string>();
  if (skipped.length === 0) return dropped;
  snap.pragma('secure_delete = ON');
  snap.pragma('foreign_keys = ON');
  const dropItems = snap.prepare('DELETE FROM import_items WHERE blob_id = ?');
  const dropBlob = snap.prepare('DELETE FROM blobs WHERE blob_id = ?');
  const store = deletionStore(snap);
  snap.transaction(() => {
    for (const r of skipped) {
      if (r.folder_id === null) {
        dropItems.run(r.blob_id);
        dropBlob.run(r.blob_id);
      } else if (!dropped.has(r.folder_id)) {
        store.purgeFolderRows(r.folder_id);
        dropped.add(r.folder_id);
      }
    }
  })();
  return dropped;
}

/** Packs one blob file, checking its size and digest; false if it was deleted meanwhile. */
async function packBlob(
  pack: tar.Pack,
  dataDir: string,
  row: BlobRow,
  mtime: Date,
): Promise<boolean> {
  let fh;
  try {
    fh = await open(join(dataDir, 'blobs', row.blob_id), 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  // Open before reading: a deletion now unlinks the name, not the bytes we are reading.
  try {
    const digest = await writeEntry(
      pack,
      { name: `blobs/${row.blob_id}`, size: row.size, mode: 0o600, mtime },
      fh.createReadStream({ autoClose: false }),
    );
    if (!digest.equals(row.sha256)) {
      throw new BackupError(
        `blob ${row.blob_id} does not match its digest: the data directory is damaged`,
      );
    }
  } finally {
    await fh.close();
  }
  return true;
}

/** Packs a regular file under `name`. */
async function packFile(pack: tar.Pack, name: string, path: string, mtime: Date): Promise<void> {
  const { size } = await stat(path);
  await writeEntry(pack, { name, size, mode: 0o600, mtime }, createReadStream(path));
}

/** Streams `source` into a new tar entry (exactly `header.size` bytes); returns its SHA-256. */
async function writeEntry(
  pack: tar.Pack,
  header: Partial<tar.Header> & { name: string; size: number },
  source: AsyncIterable<Buffer>,
): Promise<Buffer> {
  const hash = createHash('sha256');
  let finished: (e?: unknown) => void = () => {};
  const done = new Promise<void>((ok, fail) => (finished = (e) => (e ? fail(e) : ok())));
  const entry = pack.entry(header, (e) => finished(e));
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > header.size) throw new BackupError(`${header.name} grew while being read`);
    hash.update(chunk);
    if (!entry.write(chunk)) await once(entry, 'drain');
  }
  if (size !== header.size) throw new BackupError(`${header.name} shrank while being read`);
  entry.end(undefined);
  await done;
  return hash.digest();
}

/** Pipes the tar stream into an open file, resolving once everything was written. */
async function pipeTo(pack: tar.Pack, fh: FileHandle): Promise<void> {
  for await (const chunk of pack as AsyncIterable<Buffer>) {
    for (let off = 0; off < chunk.length;) {
      const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
      if (bytesWritten <= 0) throw new Error('short write to the backup file');
      off += bytesWritten;
    }
  }
}

// --- restore ------------------------------------------------------------------------------------

/** What {@link restoreRelay} restored. */
export interface RestoreReport {
  dataDir: string;
  manifest: BackupManifest;
}

/** Restores a backup into `dataDir`, which must be empty or absent. */
export async function restoreRelay(o: { from: string; dataDir: string }): Promise<RestoreReport> {
  await mustBeEmpty(o.dataDir);
  const parent = dirname(o.dataDir);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, `.${basename(o.dataDir)}.restore-`));
  try {
    await mkdir(join(staging, 'blobs'), { mode: 0o700 });
    await extractInto(o.from, staging);
    const manifest = await readManifest(staging);
    for (const id of manifest.orphaned) await rm(join(staging, 'blobs', id), { force: true });
    await verifyRestored(staging, manifest);
    await syncDir(join(staging, 'blobs'));
    await syncDir(staging);
    // An empty directory is replaced by the rename; an absent one is created by it.
    await rename(staging, o.dataDir);
    await syncDir(parent);
    return { dataDir: o.dataDir, manifest };
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
}

async function mustBeEmpty(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new BackupError(`${dir} is not a directory`);
    throw e;
  }
  if (names.length > 0) {
    throw new BackupError(`${dir} is not empty: restore only into an empty or new directory`);
  }
}

/** Which archive names are allowed, and where each goes. */
function targetOf(name: string): string | undefined {
  if (name === DB_FILE || name === BACKUP_MANIFEST) return name;
  if ((KEY_FILES as readonly string[]).includes(name)) return name;
  const m = /^blobs\/([^/]+)$/.exec(name);
  if (m && ID.test(m[1] ?? '')) return name;
  return undefined;
}

/** Extracts the allowed regular files of the archive into `staging`, each fsync'd. */
async function extractInto(from: string, staging: string): Promise<void> {
  const extract = tar.extract();
  const source = createReadStream(from);
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract);
  const seen = new Set<string>();
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const target = targetOf(name);
      if (type !== 'file' || target === undefined || seen.has(name)) {
        throw new BackupError(`unexpected entry ${JSON.stringify(name)} in the backup file`);
      }
      seen.add(name);
      const fh = await open(join(staging, target), 'wx', 0o600);
      try {
        for await (const chunk of entry as AsyncIterable<Buffer>) {
          for (let off = 0; off < chunk.length;) {
            const { bytesWritten } = await fh.write(chunk, off, chunk.length - off);
            if (bytesWritten <= 0) throw new Error('short write while restoring');
            off += bytesWritten;
          }
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  } catch (e) {
    source.destroy();
    if (e instanceof BackupError) throw e;
    throw new BackupError(`${from} is not a readable Carnet backup (${errorText(e)})`, {
      cause: e,
    });
  }
  for (const f of [DB_FILE, BACKUP_MANIFEST, ...KEY_FILES]) {
    if (!seen.has(f)) throw new BackupError(`the backup file has no ${f}`);
  }
}

async function readManifest(staging: string): Promise<BackupManifest> {
  let m: Partial<BackupManifest>;
  try {
    m = JSON.parse(
      await readFile(join(staging, BACKUP_MANIFEST), 'utf8'),
    ) as Partial<BackupManifest>;
  } catch (e) {
    throw new BackupError('the backup manifest is not JSON', { cause: e });
  }
  if (m.format !== BACKUP_FORMAT || m.version !== BACKUP_VERSION) {
    throw new BackupError(`not a version ${BACKUP_VERSION} Carnet relay backup`);
  }
  if (
    !Array.isArray(m.orphaned) ||
    !m.orphaned.every((id) => typeof id === 'string' && ID.test(id))
  ) {
    throw new BackupError('the backup manifest is malformed (orphaned)');
  }
  return m as BackupManifest;
}

/** Every check before the restored directory is put in place. */
async function verifyRestored(staging: string, manifest: BackupManifest): Promise<void> {
  for (const f of KEY_FILES) {
    if ((await stat(join(staging, f))).size !== 32) throw new BackupError(`${f} is not 32 bytes`);
  }
  const latest = MIGRATIONS.at(-1)?.version ?? 0;
  const db = new Database(join(staging, DB_FILE), { fileMustExist: true });
  try {
    checkDatabase(db, 'the restored database');
    const version =
      (
        db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as {
          v: number | null;
        }
      ).v ?? 0;
    if (version > latest) {
      throw new BackupError(
        `the backup is of schema v${version}, newer than this relay (v${latest})`,
      );
    }
    const rows = db
      .prepare('SELECT blob_id, folder_id, size, sha256 FROM blobs')
      .all() as BlobRow[];
    const files = new Set(await readdir(join(staging, 'blobs')));
    for (const r of rows) {
      const path = join(staging, 'blobs', r.blob_id);
      if (!files.delete(r.blob_id))
        throw new BackupError(`blob ${r.blob_id} is missing from the backup`);
      const { size, sha256 } = await digestFile(path);
      if (size !== r.size || !sha256.equals(r.sha256)) {
        throw new BackupError(`blob ${r.blob_id} does not match its size or digest`);
      }
    }
    const extra = files.values().next();
    if (!extra.done) throw new BackupError(`blob file ${extra.value} has no row in the database`);
    if (rows.length !== manifest.blobs) {
      throw new BackupError(
        `the manifest announces ${manifest.blobs} blobs, the database has ${rows.length}`,
      );
    }
  } finally {
    db.close();
  }
}

/** `PRAGMA integrity_check` and `foreign_key_check`, or a refusal. */
function checkDatabase(db: Database.Database, what: string): void {
  const integrity = db.pragma('integrity_check', { simple: true });
  if (integrity !== 'ok')
    throw new BackupError(`${what} fails its integrity check: ${String(integrity)}`);
  if ((db.pragma('foreign_key_check') as unknown[]).length > 0) {
    throw new BackupError(`${what} has rows that refer to missing rows`);
  }
}

function schemaOf(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (
      (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null })
        .v ?? 0
    );
  } finally {
    db.close();
  }
}

async function digestFile(path: string): Promise<{ size: number; sha256: Buffer }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    size += chunk.length;
    hash.update(chunk);
  }
  return { size, sha256: hash.digest() };
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

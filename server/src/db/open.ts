/**
 * Opening the relay's SQLite database: pragmas, then migrations.
 *
 * Durability: WAL with `synchronous = FULL`. With NORMAL a power cut may drop the last
 * committed transactions; a client that saw manifest seq 8 would then be served seq 7 and,
 * rightly, report a rollback attack. Every 201 the relay sends must survive a power cut, so
 * each commit syncs the WAL. Blob files are fsync'd for the same reason.
 */
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations';

/** The better-sqlite3 connection type, re-exported so callers need not import the driver. */
export type Db = Database.Database;

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Milliseconds a statement waits on a lock held by another connection. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * WAL pages after which a commit checkpoints synchronously. The relay checkpoints from a
   * worker thread (see `checkpointer.ts`), so this is only a safety net if that worker dies;
   * it is high so that the event loop rarely pays for a checkpoint.
   */
  walAutocheckpointPages?: number;
}

/**
 * Opens (creating if needed) the database at `file`, sets the pragmas and runs pending
 * migrations. Throws if the file was written by a newer relay.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): Db {
  // Create the file owner-only first: SQLite gives its -wal and -shm files the same mode.
  if (file !== ':memory:' && !existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  try {
    ensureIncrementalVacuum(db);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.pragma('foreign_keys = ON');
    // Deleted rows (a deleted folder's wraps, a replaced keyring) are zeroed in the database
    // file instead of lingering in free pages: the relay's side of crypto-shredding.
    db.pragma('secure_delete = ON');
    db.pragma(`wal_autocheckpoint = ${Math.trunc(options.walAutocheckpointPages ?? 20000)}`);
    // After a checkpoint, shrink the WAL file back instead of keeping its high-water mark.
    db.pragma('journal_size_limit = 67108864');
    db.pragma('cache_size = -32000');
    migrate(db, MIGRATIONS);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Puts the database in `auto_vacuum = INCREMENTAL` mode, so that a deletion can hand its freed
 * pages back to the file system (`PRAGMA incremental_vacuum`) instead of leaving them, zeroed by
 * `secure_delete` but still there, in the file. The mode can only be chosen before the first
 * table exists, and before `journal_mode = WAL` writes the header of a new file: hence first.
 *
 * A database created by an older relay (mode 0, NONE) is converted once, here, by a `VACUUM`,
 * which rewrites the whole file: it needs as much free disk space as the database takes and
 * blocks the opening for as long as the copy lasts (seconds per GiB). Later openings find the
 * mode set and do nothing.
 */
function ensureIncrementalVacuum(db: Db): void {
  if (db.pragma('auto_vacuum', { simple: true }) === 2) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  // On an empty file the pragma above took effect; on an existing one it only takes effect
  // through a VACUUM.
  if (db.pragma('auto_vacuum', { simple: true }) !== 2) db.exec('VACUUM');
}

/** Current schema version (0 for an empty database). */
export function schemaVersion(db: Db): number {
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as
    { v: number | null } | undefined;
  return row?.v ?? 0;
}

/** Applies the migrations newer than the database's version, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const current = schemaVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) {
    throw new Error(`database schema v${current} is newer than this relay (v${latest})`);
  }
  const record = db.prepare(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    })();
  }
}

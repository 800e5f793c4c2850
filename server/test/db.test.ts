import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, openDatabase, schemaVersion } from '../src/db/open';
import { MIGRATIONS } from '../src/db/migrations';
import { loadOrCreateSecret } from '../src/relay';
import { register, tempDir, testRelay } from './helpers';

const dirs: string[] = [];
const fresh = () => {
  const d = tempDir();
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('database', () => {
  it('opens in WAL mode with synchronous FULL, foreign keys and a busy timeout', () => {
    const db = openDatabase(join(fresh(), 'carnet.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    db.close();
  });

  it('creates the database file owner-only', () => {
    const dir = fresh();
    openDatabase(join(dir, 'carnet.db')).close();
    expect(statSync(join(dir, 'carnet.db')).mode & 0o777).toBe(0o600);
  });

  it('applies migrations once, in order, and records them', () => {
    const file = join(fresh(), 'carnet.db');
    const db = openDatabase(file);
    expect(schemaVersion(db)).toBe(MIGRATIONS.at(-1)!.version);
    migrate(db, MIGRATIONS);
    const rows = db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[];
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    // A later migration applies on top of the existing schema.
    const next = {
      version: MIGRATIONS.length + 1,
      name: 'test',
      sql: 'CREATE TABLE extra (x INTEGER)',
    };
    migrate(db, [...MIGRATIONS, next]);
    expect(schemaVersion(db)).toBe(next.version);
    db.close();
    // A relay that knows fewer migrations refuses the newer database.
    expect(() => openDatabase(file)).toThrow(/newer than this relay/);
  });

  it('rolls back a failing migration entirely', () => {
    const db = openDatabase(join(fresh(), 'carnet.db'));
    const bad = {
      version: MIGRATIONS.length + 1,
      name: 'bad',
      sql: 'CREATE TABLE half (x); SELECT * FROM nowhere;',
    };
    expect(() => migrate(db, [...MIGRATIONS, bad])).toThrow();
    expect(schemaVersion(db)).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    db.close();
  });
});

describe('server secret', () => {
  it('is created with mode 0600 on first start and reused', () => {
    const path = join(fresh(), 'secret.key');
    const a = loadOrCreateSecret(path);
    expect(a).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecret(path).equals(a)).toBe(true);
  });

  it('is refused when readable by others or of the wrong size', () => {
    const dir = fresh();
    const open = join(dir, 'open.key');
    writeFileSync(open, Buffer.alloc(32));
    chmodSync(open, 0o644);
    expect(() => loadOrCreateSecret(open)).toThrow(/chmod 600/);
    const short = join(dir, 'short.key');
    writeFileSync(short, Buffer.alloc(8), { mode: 0o600 });
    expect(() => loadOrCreateSecret(short)).toThrow(/32 bytes/);
  });
});

describe('start-up housekeeping', () => {
  it('removes interrupted uploads and blob files without a row, keeps the rest', async () => {
    const dir = fresh();
    const first = testRelay({ dataDir: dir });
    const account = await register(first.api);
    first.close();
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'tmp', 'abc.part'), 'half an upload');
    writeFileSync(join(dir, 'blobs', 'AAAAAAAAAAAAAAAAAAAAAA'), 'published but never committed');
    const again = testRelay({ dataDir: dir });
    expect(readdirSync(join(dir, 'tmp'))).toEqual([]);
    expect(readdirSync(join(dir, 'blobs'))).toEqual([]);
    expect(again.relay.accounts.byName(account.userName)?.account_id).toBe(account.accountId);
    again.close();
  });
});

describe('secure_delete', () => {
  it('is on, so deleted rows do not linger in free pages of the database file', () => {
    const db = openDatabase(join(tempDir(), 'carnet.db'));
    try {
      expect(db.pragma('secure_delete', { simple: true })).toBe(1);
    } finally {
      db.close();
    }
  });
});

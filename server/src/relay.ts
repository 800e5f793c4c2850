/**
 * The relay's state: configuration, clock, database stores, blob files, the server secret and
 * the rate limiters. Route factories receive it; nothing else is global.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { resolveConfig, type RelayConfig } from './config';
import type { Db } from './db/open';
import { SlidingWindow } from './http/ratelimit';
import { BlobFiles } from './storage/blobfiles';
import { AccountStore, SessionStore } from './store/accounts';
import { BlobStore } from './store/blobs';
import { FolderStore } from './store/folders';
import { GrantStore } from './store/grants';
import { ImportStore } from './store/imports';
import { InviteStore } from './store/invites';
import { RecordStore } from './store/records';
import { loadRelaySigningKey, type RelaySigningKey } from './signing';

/** Name of the database file inside the data directory. */
export const DB_FILE = 'carnet.db';
/** Name of the server secret file inside the data directory. */
export const SECRET_FILE = 'secret.key';

/** Options of a relay instance. */
export interface RelayOptions extends Partial<RelayConfig> {
  /** Data directory (database, blobs, tmp, secret). */
  dataDir: string;
  /** Open database; by default `<dataDir>/carnet.db` is opened by the caller of createRelay. */
  db: Db;
  /** Clock in ms; injectable for tests of timeouts and expiries. */
  now?: () => number;
  /** Where request lines and internal errors go; nothing is logged by default. */
  log?: (line: string) => void;
}

/** The relay's services, shared by every route. */
export interface Relay {
  config: RelayConfig;
  now: () => number;
  log: (line: string) => void;
  db: Db;
  dataDir: string;
  /** 32 random bytes from `secret.key`: keys the fake KDF salts. */
  secret: Buffer;
  /** The relay's Ed25519 key from `relay-signing.key`: signs deletion receipts. */
  signing: RelaySigningKey;
  accounts: AccountStore;
  sessions: SessionStore;
  folders: FolderStore;
  records: RecordStore;
  blobs: BlobStore;
  invites: InviteStore;
  grants: GrantStore;
  imports: ImportStore;
  files: BlobFiles;
  limits: { loginUser: SlidingWindow; loginAddress: SlidingWindow; anonymous: SlidingWindow };
  /** Bytes being uploaded right now, per account (counted against the quota early). */
  uploading: Map<string, number>;
}

/**
 * Builds the relay state and does the start-up housekeeping: removes interrupted uploads from
 * `tmp/` and blob files that no row refers to.
 */
export function createRelayState(o: RelayOptions): Relay {
  const { dataDir, db, now = Date.now, log = () => {}, ...partial } = o;
  const config = resolveConfig(partial);
  const files = new BlobFiles(dataDir);
  const blobs = new BlobStore(db);
  const cleaned = files.cleanTmp();
  const orphans = files.sweepOrphans((id) => blobs.exists(id));
  if (cleaned + orphans > 0) log(`startup: removed ${cleaned} temp and ${orphans} orphan files`);
  return {
    config,
    now,
    log,
    db,
    dataDir,
    secret: loadOrCreateSecret(join(dataDir, SECRET_FILE)),
    signing: loadRelaySigningKey(dataDir),
    accounts: new AccountStore(db),
    sessions: new SessionStore(db),
    folders: new FolderStore(db),
    records: new RecordStore(db),
    blobs,
    invites: new InviteStore(db),
    grants: new GrantStore(db),
    imports: new ImportStore(db),
    files,
    limits: {
      loginUser: new SlidingWindow(config.loginPerUser, now),
      loginAddress: new SlidingWindow(config.loginPerAddress, now),
      anonymous: new SlidingWindow(config.anonymousPerAddress, now),
    },
    uploading: new Map(),
  };
}

/**
 * Reads the 32-byte server secret, creating it (mode 0600, fsync'd) on first start. Refuses a
 * secret file readable by others: it would let anyone with a shell tell fake salts from real.
 */
export function loadOrCreateSecret(path: string): Buffer {
  try {
    const st = statSync(path);
    if ((st.mode & 0o077) !== 0)
      throw new Error(`${path} must not be readable by others (chmod 600)`);
    const secret = readFileSync(path);
    if (secret.length !== 32) throw new Error(`${path} must hold exactly 32 bytes`);
    return secret;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const secret = randomBytes(32);
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeSync(fd, secret);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return secret;
}

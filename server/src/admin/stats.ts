/**
 * Operator statistics (issue 5 §3): counts only. Never a name, a specialty, an id, or a figure
 * per practitioner or per patient — the operator's partner gets "only the absolute number".
 * The database is opened read-only, so this runs next to a live relay without touching it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DB_FILE } from '../relay';

/** Every figure `carnet admin stats` prints, and nothing else. */
export interface RelayStats {
  /** Accounts per role. */
  accounts: { practitioner: number; patient: number; support: number };
  folders: number;
  /** Distinct records (a record edited three times counts once). */
  records: number;
  /** Record versions (every edit). */
  versions: number;
  /** Stored blob files (documents, staged imports, uploads not yet attached). */
  blobs: number;
  /** Total size of the blob files, bytes (padded ciphertext). */
  blobBytes: number;
  /** Support grants in force now: started, not expired, not revoked. */
  activeGrants: number;
}

/** The key set of {@link RelayStats}, in print order (tests compare against it). */
export const STATS_KEYS = [
  'accounts',
  'folders',
  'records',
  'versions',
  'blobs',
  'blobBytes',
  'activeGrants',
] as const satisfies readonly (keyof RelayStats)[];

/** Opens `<dataDir>/carnet.db` read-only (refusing a directory without one). */
export function openReadOnly(dataDir: string): Database.Database {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Counts over the relay's database in `dataDir`, at `now` (ms) for the grants in force. */
export function relayStats(dataDir: string, now: number = Date.now()): RelayStats {
  const db = openReadOnly(dataDir);
  try {
    const n = (sql: string, ...args: unknown[]): number =>
      (db.prepare(sql).get(...args) as { n: number | null }).n ?? 0;
    // One read transaction: the figures describe one instant even while the relay writes.
    return db.transaction(() => {
      const roles = { practitioner: 0, patient: 0, support: 0 };
      const rows = db.prepare('SELECT role, COUNT(*) AS n FROM accounts GROUP BY role').all() as {
        role: string;
        n: number;
      }[];
      for (const r of rows)
        if (Object.hasOwn(roles, r.role)) roles[r.role as keyof typeof roles] = r.n;
      return {
        accounts: roles,
        folders: n('SELECT COUNT(*) AS n FROM folders'),
        records: n(
          'SELECT COUNT(*) AS n FROM (SELECT DISTINCT folder_id, record_id FROM record_versions)',
        ),
        versions: n('SELECT COUNT(*) AS n FROM record_versions'),
        blobs: n('SELECT COUNT(*) AS n FROM blobs'),
        blobBytes: n('SELECT SUM(size) AS n FROM blobs'),
        activeGrants: n(
          `SELECT COUNT(*) AS n FROM grants
           WHERE revoked_at IS NULL AND not_before <= ? AND expires_at > ?`,
          now,
          now,
        ),
      };
    })();
  } finally {
    db.close();
  }
}

/** Human lines of {@link RelayStats}: one label and one integer per line, nothing else. */
export function formatStats(s: RelayStats): string {
  const rows: [string, number][] = [
    ['Accounts (practitioner)', s.accounts.practitioner],
    ['Accounts (patient)', s.accounts.patient],
    ['Accounts (support)', s.accounts.support],
    ['Folders', s.folders],
    ['Records', s.records],
    ['Record versions', s.versions],
    ['Blobs', s.blobs],
    ['Blob bytes', s.blobBytes],
    ['Active grants', s.activeGrants],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  return rows.map(([label, n]) => `${`${label}:`.padEnd(width)}${n}`).join('\n');
}

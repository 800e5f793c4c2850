/**
 * The Carnet relay: stores ciphertext blobs, wrapped keys and signed objects it cannot read,
 * plus the routing metadata listed in docs/metadata.md. See docs/api.md for the HTTP contract.
 */
export { createApp, createRelay, type CreateAppOptions, type RelayInstance } from './app';
export { DEFAULT_CONFIG, type RelayConfig, type WindowLimit } from './config';
export { openDatabase, schemaVersion, type Db, type OpenDatabaseOptions } from './db/open';
export { MIGRATIONS, type Migration } from './db/migrations';
export { ERROR_STATUS, type ErrorCode } from './http/errors';
export { DB_FILE, SECRET_FILE, type Relay, type RelayOptions } from './relay';
export { startServer, type RunningServer, type StartServerOptions } from './server';
export { verifyAuditDatabase, type AuditVerification } from './admin/verify-audit';
export {
  backupRelay,
  BackupError,
  restoreRelay,
  type BackupManifest,
  type BackupOptions,
  type BackupReport,
  type RestoreReport,
} from './admin/backup';
export { formatStats, relayStats, STATS_KEYS, type RelayStats } from './admin/stats';
export { SIGNING_KEY_FILE } from './signing';

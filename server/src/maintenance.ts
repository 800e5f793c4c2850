/**
 * Periodic housekeeping: expired sessions, expired open invites, unattached blobs past their
 * time to live, and the audit event of grants that ran out. Each step is short and indexed;
 * blob files go after their rows commit.
 */
import type { Relay } from './relay';

/** What one maintenance pass removed. */
export interface MaintenanceReport {
  sessions: number;
  invites: number;
  blobs: number;
  /** Grants whose expiry was logged (`grant.expired`) in this pass. */
  grants: number;
}

/** Runs one maintenance pass. */
export async function runMaintenance(relay: Relay): Promise<MaintenanceReport> {
  const now = relay.now();
  const sessions = relay.sessions.deleteExpired(now, relay.config.idleTimeoutMs);
  const invites = relay.invites.deleteExpired(now);
  const stale = relay.blobs.staleUnattached(now - relay.config.unattachedBlobTtlMs);
  let blobs = 0;
  for (const blobId of stale) {
    // A version may have attached it during an earlier await: delete only if still unattached.
    if (relay.blobs.get(blobId)?.folder_id !== null) continue;
    // Or staged in an import item meanwhile: it then belongs to the import.
    if (relay.imports.blobUsed(blobId)) continue;
    relay.blobs.delete(blobId);
    await relay.files.remove(blobId);
    blobs++;
  }
  const grants = relay.grants.logExpired(relay.db, now);
  return { sessions, invites, blobs, grants };
}

/**
 * Deleting a folder or an account, relay side (issue 5 §2): every row is deleted in one
 * transaction, with the audit events and tombstones that say it happened; the caller then
 * removes the blob files, compacts the database ({@link scrubDatabase}) and signs a receipt
 * ({@link completeDeletion}).
 *
 * What stays, on purpose: the `folder.deleted` / `account.deleted` events in the chains of the
 * other parties (append-only hash chains cannot lose a link), the tombstones that tell former
 * members when a folder went, and the signed bytes of support grants whose scope named the
 * folder (their scope rows and key wraps are deleted; see docs/deletion-and-operations.md).
 */
import {
  parseId,
  signDeletionReceipt,
  type AccountId,
  type DeletionCounts,
  type DeletionReceiptFields,
} from '@carnet/shared/core';
import type { Db } from '../db/open';
import { ApiError, notFound } from '../http/errors';
import type { Relay } from '../relay';
import { appendAudit } from './audit';

/** What a deletion transaction removed: counts for the receipt, blob files to unlink. */
export interface DeletionOutcome {
  counts: DeletionCounts;
  blobIds: string[];
}

/** Zero counts. */
export function noCounts(): DeletionCounts {
  return {
    folders: 0,
    records: 0,
    versions: 0,
    blobs: 0,
    bytes: 0,
    members: 0,
    grants: 0,
    auditEvents: 0,
  };
}

/** What {@link DeletionStore.purgeFolderRows} removed. */
interface Purged {
  counts: DeletionCounts;
  blobIds: string[];
  /** Every member row the folder had (pending ones included), before deletion. */
  members: string[];
  /** Grants whose scope or key wraps named the folder. */
  grants: Set<string>;
}

/** Statements of folder and account deletion, prepared once per connection. */
export class DeletionStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    const del = (sql: string) => db.prepare<[string]>(sql);
    this.#s = {
      members: db.prepare<[string], { account_id: string }>(
        'SELECT account_id FROM folder_members WHERE folder_id = ?',
      ),
      recordCounts: db.prepare<[string], { records: number; versions: number }>(
        `SELECT COUNT(DISTINCT record_id) AS records, COUNT(*) AS versions
         FROM record_versions WHERE folder_id = ?`,
      ),
      folderBlobs: db.prepare<[string], { blob_id: string; size: number }>(
        'SELECT blob_id, size FROM blobs WHERE folder_id = ?',
      ),
      scopeGrants: db.prepare<[string, string], { grant_id: string }>(
        `SELECT grant_id FROM grant_scope WHERE folder_id = ?
         UNION SELECT grant_id FROM grant_key_wraps WHERE folder_id = ?`,
      ),
      auditCount: db.prepare<[string], { n: number }>(
        'SELECT COUNT(*) AS n FROM audit_events WHERE chain_id = ?',
      ),
      auditEvents: del('DELETE FROM audit_events WHERE chain_id = ?'),
      auditHead: del('DELETE FROM audit_heads WHERE chain_id = ?'),
      // Children before parents: versions name blobs, blobs name the folder.
      folderDeletes: [
        del('DELETE FROM record_versions WHERE folder_id = ?'),
        del('DELETE FROM blobs WHERE folder_id = ?'),
        del('DELETE FROM folder_manifests WHERE folder_id = ?'),
        del('DELETE FROM member_wraps WHERE folder_id = ?'),
        del('DELETE FROM folder_lineage WHERE folder_id = ?'),
        del('DELETE FROM invites WHERE folder_id = ?'),
        del('DELETE FROM folder_members WHERE folder_id = ?'),
        del('DELETE FROM grant_scope WHERE folder_id = ?'),
        del('DELETE FROM grant_key_wraps WHERE folder_id = ?'),
        del('DELETE FROM folders WHERE folder_id = ?'),
      ],
      tombstone: db.prepare<[string, string, number]>(
        `INSERT INTO folder_tombstones VALUES (?, ?, ?)
         ON CONFLICT (folder_id, account_id) DO UPDATE SET deleted_at = excluded.deleted_at`,
      ),
      tombstoneOf: db.prepare<[string, string], { deleted_at: number }>(
        'SELECT deleted_at FROM folder_tombstones WHERE folder_id = ? AND account_id = ?',
      ),
      tombstonesOf: db.prepare<[string], { folder_id: string; deleted_at: number }>(
        `SELECT folder_id, deleted_at FROM folder_tombstones WHERE account_id = ?
         ORDER BY folder_id`,
      ),
      // --- account deletion
      owned: db.prepare<[string], { folder_id: string }>(
        `SELECT folder_id FROM folder_members WHERE account_id = ? AND role = 'owner'
         ORDER BY folder_id`,
      ),
      memberships: db.prepare<[string], { folder_id: string }>(
        `SELECT folder_id FROM folder_members WHERE account_id = ? AND role <> 'owner'
         ORDER BY folder_id`,
      ),
      leaveWraps: db.prepare<[string, string]>(
        'DELETE FROM member_wraps WHERE folder_id = ? AND account_id = ?',
      ),
      leaveMember: db.prepare<[string, string]>(
        'DELETE FROM folder_members WHERE folder_id = ? AND account_id = ?',
      ),
      grantsOf: db.prepare<[string, string], { grant_id: string }>(
        `SELECT grant_id FROM grants WHERE practitioner_id = ?
         UNION SELECT grant_id FROM grants WHERE agent_id = ?`,
      ),
      importsOf: db.prepare<[string, string], { import_id: string }>(
        'SELECT import_id FROM imports WHERE practitioner_id = ? OR agent_id = ?',
      ),
      importBlobs: db.prepare<[string], { blob_id: string; size: number }>(
        `SELECT b.blob_id, b.size FROM import_items i JOIN blobs b ON b.blob_id = i.blob_id
         WHERE i.import_id = ?`,
      ),
      importItems: del('DELETE FROM import_items WHERE import_id = ?'),
      importRow: del('DELETE FROM imports WHERE import_id = ?'),
      blob: del('DELETE FROM blobs WHERE blob_id = ?'),
      grantScope: del('DELETE FROM grant_scope WHERE grant_id = ?'),
      grantWraps: del('DELETE FROM grant_key_wraps WHERE grant_id = ?'),
      grantRow: del('DELETE FROM grants WHERE grant_id = ?'),
      looseBlobs: db.prepare<[string], { blob_id: string; size: number }>(
        'SELECT blob_id, size FROM blobs WHERE account_id = ? AND folder_id IS NULL',
      ),
      // A document the account added to someone else's folder belongs to that folder's
      // medical file: it stays, counted against the folder owner's quota from now on.
      handOver: db.prepare<[string]>(
        `UPDATE blobs SET account_id = (SELECT owner_id FROM folders f
                                        WHERE f.folder_id = blobs.folder_id)
         WHERE account_id = ? AND folder_id IS NOT NULL`,
      ),
      invitesTo: del('DELETE FROM invites WHERE invitee_id = ?'),
      sessions: del('DELETE FROM sessions WHERE account_id = ?'),
      tombstones: del('DELETE FROM folder_tombstones WHERE account_id = ?'),
      account: del('DELETE FROM accounts WHERE account_id = ?'),
    };
  }

  /** When the folder was deleted, if `accountId` was among its members then. */
  tombstone(folderId: string, accountId: string): number | undefined {
    return this.#s.tombstoneOf.get(folderId, accountId)?.deleted_at;
  }

  /** Folders deleted while `accountId` was a member, oldest id first. */
  tombstones(accountId: string): { folderId: string; deletedAt: number }[] {
    return this.#s.tombstonesOf
      .all(accountId)
      .map((r) => ({ folderId: r.folder_id, deletedAt: r.deleted_at }));
  }

  /**
   * Deletes every row of a folder, nothing else: no audit event, no tombstone. Used by
   * {@link deleteFolder} and by a backup that drops a folder deleted while it ran. Call inside
   * a transaction.
   */
  purgeFolderRows(folderId: string): Purged {
    const s = this.#s;
    const members = s.members.all(folderId).map((r) => r.account_id);
    const rc = s.recordCounts.get(folderId) ?? { records: 0, versions: 0 };
    const blobs = s.folderBlobs.all(folderId);
    const grants = new Set(s.scopeGrants.all(folderId, folderId).map((r) => r.grant_id));
    const auditEvents = s.auditCount.get(folderId)?.n ?? 0;
    for (const st of s.folderDeletes) st.run(folderId);
    // The folder's own audit chain goes with it.
    s.auditEvents.run(folderId);
    s.auditHead.run(folderId);
    return {
      counts: {
        folders: 1,
        records: rc.records,
        versions: rc.versions,
        blobs: blobs.length,
        bytes: blobs.reduce((n, b) => n + b.size, 0),
        members: members.length,
        grants: grants.size,
        auditEvents,
      },
      blobIds: blobs.map((b) => b.blob_id),
      members,
      grants,
    };
  }

  /**
   * Deletes a folder (the caller checked that `ownerId` owns it): its rows, then one
   * `folder.deleted` event in the account chain of every former member, pending ones
   * included, and a tombstone for each so that their clients can say what happened. Call
   * inside a transaction.
   */
  deleteFolder(folderId: string, ownerId: string, at: number): DeletionOutcome {
    const p = this.purgeFolderRows(folderId);
    for (const member of p.members) this.#bury(folderId, member, ownerId, at);
    return { counts: p.counts, blobIds: p.blobIds };
  }

  /**
   * Deletes an account and everything it owns: its folders (as {@link deleteFolder}, except
   * that it gets no tombstone and no event itself), its memberships in other folders (with an
   * `account.deleted` event in each of those folders' chains), its grants as practitioner or
   * agent with their imports, its unattached uploads, its sessions, its own audit chain and its
   * account row — the user name is free again afterwards. Call inside a transaction.
   */
  deleteAccount(accountId: string, at: number): DeletionOutcome {
    const s = this.#s;
    const counts = noCounts();
    const blobIds: string[] = [];
    const grants = new Set<string>();
    const addBlobs = (rows: { blob_id: string; size: number }[]) => {
      for (const b of rows) {
        blobIds.push(b.blob_id);
        counts.blobs++;
        counts.bytes += b.size;
      }
    };

    for (const { folder_id: folderId } of s.owned.all(accountId)) {
      const p = this.purgeFolderRows(folderId);
      for (const k of Object.keys(counts) as (keyof DeletionCounts)[]) {
        if (k !== 'grants') counts[k] += p.counts[k];
      }
      blobIds.push(...p.blobIds);
      for (const g of p.grants) grants.add(g);
      for (const member of p.members) {
        if (member !== accountId) this.#bury(folderId, member, accountId, at);
      }
    }

    for (const { folder_id: folderId } of s.memberships.all(accountId)) {
      s.leaveWraps.run(folderId, accountId);
      s.leaveMember.run(folderId, accountId);
      counts.members++;
      appendAudit(this.#db, {
        chainId: folderId,
        type: 'account.deleted',
        at,
        actorId: accountId,
        folderId,
        subjectId: accountId,
      });
    }
    s.invitesTo.run(accountId);

    // Imports name grants, grants name accounts: imports first.
    for (const { import_id: importId } of s.importsOf.all(accountId, accountId)) {
      const blobs = s.importBlobs.all(importId);
      s.importItems.run(importId);
      for (const b of blobs) s.blob.run(b.blob_id);
      addBlobs(blobs);
      s.importRow.run(importId);
    }
    for (const { grant_id: grantId } of s.grantsOf.all(accountId, accountId)) {
      s.grantScope.run(grantId);
      s.grantWraps.run(grantId);
      s.grantRow.run(grantId);
      grants.add(grantId);
    }
    counts.grants = grants.size;

    const loose = s.looseBlobs.all(accountId);
    for (const b of loose) s.blob.run(b.blob_id);
    addBlobs(loose);
    s.handOver.run(accountId);

    counts.auditEvents += s.auditCount.get(accountId)?.n ?? 0;
    for (const st of [s.sessions, s.tombstones, s.auditEvents, s.auditHead, s.account]) {
      st.run(accountId);
    }
    return { counts, blobIds };
  }

  /** Tells a former member that the folder is gone: event in their chain, tombstone. */
  #bury(folderId: string, memberId: string, actorId: string, at: number): void {
    this.#s.tombstone.run(folderId, memberId, at);
    appendAudit(this.#db, {
      chainId: memberId,
      type: 'folder.deleted',
      at,
      actorId,
      folderId,
    });
  }
}

const stores = new WeakMap<Db, DeletionStore>();

/** The {@link DeletionStore} of a database, its statements prepared once per connection. */
export function deletionStore(db: Db): DeletionStore {
  let s = stores.get(db);
  if (!s) {
    s = new DeletionStore(db);
    stores.set(db, s);
  }
  return s;
}

/**
 * The error for a folder the caller cannot see: `410 FOLDER_DELETED` (with `deletedAt`) if it
 * was deleted while they were a member, else the usual `404`.
 */
export function folderGone(db: Db, folderId: string, accountId: string): ApiError {
  const at = deletionStore(db).tombstone(folderId, accountId);
  if (at === undefined) return notFound('no such folder');
  return new ApiError(
    'FOLDER_DELETED',
    `This folder was deleted by its owner on ${new Date(at).toISOString()}.`,
    {},
    { deletedAt: at },
  );
}

/**
 * After the deletion committed: removes the blob files, compacts the database so that freed
 * pages leave the file and the WAL, and signs the receipt with the relay's key.
 */
export async function completeDeletion(
  relay: Relay,
  outcome: DeletionOutcome,
  fields: Omit<DeletionReceiptFields, 'counts' | 'requestedBy'> & { requestedBy: string },
): Promise<Uint8Array> {
  for (const blobId of outcome.blobIds) await relay.files.remove(blobId);
  scrubDatabase(relay.db, relay.log);
  return signDeletionReceipt(relay.signing.seed, {
    ...fields,
    requestedBy: parseId<AccountId>(fields.requestedBy, 'requestedBy'),
    counts: outcome.counts,
  });
}

/** Milliseconds the WAL truncation waits for readers before trying again later. */
const CHECKPOINT_WAIT_MS = 200;
/** Later attempts, one second apart, if readers kept the WAL busy. */
const CHECKPOINT_RETRIES = 30;

/**
 * Hands freed pages back to the file system (`incremental_vacuum`: the database is in
 * `auto_vacuum = INCREMENTAL` mode, see db/open.ts) and copies the WAL into the database then
 * truncates it (`wal_checkpoint(TRUNCATE)`), so that neither the free pages nor old WAL frames
 * keep deleted rows; `secure_delete` has already zeroed them in the pages that remain.
 *
 * The truncation needs every reader to be off the WAL. It waits briefly (this runs on the
 * event loop); if readers remain (a backup copying, the checkpointer worker), it retries from
 * a timer rather than block requests.
 */
export function scrubDatabase(db: Db, log: (line: string) => void = () => {}): void {
  db.pragma('incremental_vacuum');
  if (truncateWal(db)) return;
  let left = CHECKPOINT_RETRIES;
  const retry = () => {
    if (!db.open) return;
    if (truncateWal(db)) return;
    if (--left > 0) setTimeout(retry, 1000).unref();
    else log('deletion: the WAL stayed busy; it will be overwritten by later checkpoints');
  };
  setTimeout(retry, 1000).unref();
}

/** One `wal_checkpoint(TRUNCATE)` with a short wait; true if it completed. */
function truncateWal(db: Db): boolean {
  const before = db.pragma('busy_timeout', { simple: true }) as number;
  db.pragma(`busy_timeout = ${CHECKPOINT_WAIT_MS}`);
  try {
    const [r] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
    return r?.busy === 0;
  } finally {
    db.pragma(`busy_timeout = ${before}`);
  }
}

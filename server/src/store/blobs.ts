/**
 * Blob rows: who uploaded a blob (for the quota), which folder it belongs to once a record
 * version names it, its size and digest. A row exists only for a complete, fsync'd file.
 */
import type { Db } from '../db/open';

/** A `blobs` row. */
export interface BlobRow {
  blob_id: string;
  account_id: string;
  folder_id: string | null;
  size: number;
  sha256: Buffer;
  created_at: number;
}

/** Statements over `blobs`. */
export class BlobStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    this.#s = {
      get: db.prepare<[string], BlobRow>('SELECT * FROM blobs WHERE blob_id = ?'),
      // Visible to its uploader while unattached, then to the full members of its folder. A
      // blob staged in an import item belongs to the import: its uploader (the support agent)
      // may no longer read it here; the practitioner reads it through /imports.
      visible: db.prepare<[string, string, string], BlobRow>(
        `SELECT b.* FROM blobs b WHERE b.blob_id = ? AND (
           (b.folder_id IS NULL AND b.account_id = ?
              AND NOT EXISTS (SELECT 1 FROM import_items i WHERE i.blob_id = b.blob_id))
           OR EXISTS (SELECT 1 FROM folder_members m WHERE m.folder_id = b.folder_id
                        AND m.account_id = ? AND m.role <> 'pending'))`,
      ),
      used: db.prepare<[string], { used: number }>(
        'SELECT COALESCE(SUM(size), 0) AS used FROM blobs WHERE account_id = ?',
      ),
      insert: db.prepare<[string, string, number, Buffer, number]>(
        'INSERT INTO blobs VALUES (?, ?, NULL, ?, ?, ?)',
      ),
      attach: db.prepare<[string, string]>(
        'UPDATE blobs SET folder_id = ? WHERE blob_id = ? AND folder_id IS NULL',
      ),
      delete: db.prepare<[string]>('DELETE FROM blobs WHERE blob_id = ?'),
      exists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM blobs WHERE blob_id = ?'),
      // Blobs of staged import items are not stale: they live until the import is removed.
      stale: db.prepare<[number], { blob_id: string }>(
        `SELECT blob_id FROM blobs b WHERE folder_id IS NULL AND created_at <= ?
           AND NOT EXISTS (SELECT 1 FROM import_items i WHERE i.blob_id = b.blob_id)`,
      ),
    };
  }

  /** A blob row, whoever may see it. */
  get(blobId: string): BlobRow | undefined {
    return this.#s.get.get(blobId);
  }

  /** The blob if `accountId` may read it. */
  visibleTo(blobId: string, accountId: string): BlobRow | undefined {
    return this.#s.visible.get(blobId, accountId, accountId);
  }

  /** Bytes stored by an account. */
  used(accountId: string): number {
    return this.#s.used.get(accountId)?.used ?? 0;
  }

  /** Does a row exist for this id? (Used by the start-up sweep.) */
  exists(blobId: string): boolean {
    return this.#s.exists.get(blobId) !== undefined;
  }

  /**
   * Commits a published blob if the account stays within `quota`; false if it would not.
   * The check and the insert are one transaction, so concurrent uploads cannot both slip in.
   */
  insertWithinQuota(
    b: { blobId: string; accountId: string; size: number; sha256: Buffer; now: number },
    quota: number,
  ): boolean {
    return this.#db.transaction(() => {
      if (this.used(b.accountId) + b.size > quota) return false;
      this.#s.insert.run(b.blobId, b.accountId, b.size, b.sha256, b.now);
      return true;
    })();
  }

  /** Attaches an unattached blob to a folder; false if it was attached meanwhile. */
  attach(blobId: string, folderId: string): boolean {
    return this.#s.attach.run(folderId, blobId).changes === 1;
  }

  /** Deletes a row (the caller removes the file after). */
  delete(blobId: string): void {
    this.#s.delete.run(blobId);
  }

  /** Unattached blobs created at or before `before`, except those of staged import items. */
  staleUnattached(before: number): string[] {
    return this.#s.stale.all(before).map((r) => r.blob_id);
  }
}

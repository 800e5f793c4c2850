/**
 * Staged imports: batches a support agent writes under an import grant, each item a signed
 * statement, a data key wrapped to the practitioner, a sealed header and optionally a blob.
 * The agent writes and never reads back; only the practitioner lists, downloads and removes.
 */
import type { Db } from '../db/open';

/** An `imports` row. */
export interface ImportRow {
  import_id: string;
  grant_id: string;
  agent_id: string;
  practitioner_id: string;
  created_at: number;
}

/** An `import_items` row, with its blob's size (null without a blob). */
export interface ImportItemRow {
  import_id: string;
  item: number;
  signed: Buffer;
  key_wrap: Buffer;
  header: Buffer;
  blob_id: string | null;
  size: number | null;
  created_at: number;
}

/** An import of the practitioner's list, with its grant's signed bytes. */
export type ImportListRow = ImportRow & { grant_data: Buffer };

/** A new item. */
export interface NewImportItem {
  importId: string;
  item: number;
  signed: Buffer;
  keyWrap: Buffer;
  header: Buffer;
  blobId: string | null;
  now: number;
}

/** Statements over `imports` and `import_items`. */
export class ImportStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    const itemCols = `i.import_id, i.item, i.signed, i.key_wrap, i.header, i.blob_id, b.size,
      i.created_at FROM import_items i LEFT JOIN blobs b ON b.blob_id = i.blob_id`;
    this.#s = {
      insert: db.prepare<[string, string, string, string, number]>(
        'INSERT INTO imports VALUES (?, ?, ?, ?, ?)',
      ),
      get: db.prepare<[string], ImportRow>('SELECT * FROM imports WHERE import_id = ?'),
      list: db.prepare<[string], ImportListRow>(
        `SELECT i.*, g.data AS grant_data FROM imports i JOIN grants g ON g.grant_id = i.grant_id
         WHERE i.practitioner_id = ? ORDER BY i.created_at, i.import_id`,
      ),
      items: db.prepare<[string], ImportItemRow>(
        `SELECT ${itemCols} JOIN imports m ON m.import_id = i.import_id
         WHERE m.practitioner_id = ? ORDER BY i.import_id, i.item`,
      ),
      item: db.prepare<[string, number], ImportItemRow>(
        `SELECT ${itemCols} WHERE i.import_id = ? AND i.item = ?`,
      ),
      insertItem: db.prepare<[string, number, Buffer, Buffer, Buffer, string | null, number]>(
        'INSERT INTO import_items VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      itemExists: db.prepare<[string, number], { one: number }>(
        'SELECT 1 AS one FROM import_items WHERE import_id = ? AND item = ?',
      ),
      // No index on import_items(blob_id) in migration 2: this scans the items. It runs only
      // when a blob is attached to an item or to a record version (rare next to reads).
      blobUsed: db.prepare<[string], { one: number }>(
        'SELECT 1 AS one FROM import_items WHERE blob_id = ? LIMIT 1',
      ),
      blobsOf: db.prepare<[string], { blob_id: string }>(
        'SELECT blob_id FROM import_items WHERE import_id = ? AND blob_id IS NOT NULL',
      ),
      deleteImport: db.prepare<[string]>('DELETE FROM imports WHERE import_id = ?'),
      deleteBlob: db.prepare<[string]>('DELETE FROM blobs WHERE blob_id = ?'),
    };
  }

  /** Creates an import batch. */
  create(i: {
    importId: string;
    grantId: string;
    agentId: string;
    practitionerId: string;
    now: number;
  }): void {
    this.#s.insert.run(i.importId, i.grantId, i.agentId, i.practitionerId, i.now);
  }

  /** An import, whoever may see it. */
  get(importId: string): ImportRow | undefined {
    return this.#s.get.get(importId);
  }

  /** The practitioner's imports and all their items (two range queries). */
  listFor(practitionerId: string): { imports: ImportListRow[]; items: ImportItemRow[] } {
    return { imports: this.#s.list.all(practitionerId), items: this.#s.items.all(practitionerId) };
  }

  /** One item. */
  item(importId: string, item: number): ImportItemRow | undefined {
    return this.#s.item.get(importId, item);
  }

  /** Is this item number taken in the import? */
  itemExists(importId: string, item: number): boolean {
    return this.#s.itemExists.get(importId, item) !== undefined;
  }

  /** Inserts an item (call inside the route's transaction, after the checks). */
  addItem(i: NewImportItem): void {
    this.#s.insertItem.run(i.importId, i.item, i.signed, i.keyWrap, i.header, i.blobId, i.now);
  }

  /** Is the blob referenced by an import item? Such a blob belongs to the import. */
  blobUsed(blobId: string): boolean {
    return this.#s.blobUsed.get(blobId) !== undefined;
  }

  /**
   * Deletes an import, its items and their blob rows; returns the blob ids whose files the
   * caller removes after the commit. Call inside a transaction (with the audit event).
   */
  delete(importId: string): string[] {
    const blobs = this.#s.blobsOf.all(importId).map((r) => r.blob_id);
    // Items go with the import (ON DELETE CASCADE) before the blobs they reference.
    this.#s.deleteImport.run(importId);
    for (const b of blobs) this.#s.deleteBlob.run(b);
    return blobs;
  }

  /** Runs `fn` in one transaction. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }
}

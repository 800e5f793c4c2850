/**
 * Record versions. There is no `records` table: a record is the set of its versions, and its
 * latest version is the highest number — one less table of metadata to keep and to leak.
 */
import type { Db } from '../db/open';

/** A full stored version. */
export interface VersionRow {
  record_id: string;
  version: number;
  epoch: number;
  header: Buffer;
  signed: Buffer;
  data_key: Buffer;
  blob_id: string | null;
  created_at: number;
}

/** A row of the folder listing: full for the latest version, signed object only otherwise. */
export interface ListingRow {
  record_id: string;
  version: number;
  epoch: number;
  signed: Buffer;
  created_at: number;
  is_latest: number;
  header: Buffer | null;
  data_key: Buffer | null;
  blob_id: string | null;
}

/** The signed object of a version, without its keys or header. */
export interface SignedRow {
  record_id: string;
  version: number;
  epoch: number;
  signed: Buffer;
  created_at: number;
}

/** A new version to insert. */
export interface NewVersion {
  folderId: string;
  recordId: string;
  version: number;
  epoch: number;
  header: Buffer;
  signed: Buffer;
  dataKey: Buffer;
  blobId: string | null;
  now: number;
}

/** Statements over `record_versions`. */
export class RecordStore {
  readonly #latest;
  readonly #insert;
  readonly #listing;
  readonly #signedListing;
  readonly #history;
  readonly #one;

  constructor(db: Db) {
    this.#latest = db.prepare<[string, string], { v: number | null }>(
      'SELECT MAX(version) AS v FROM record_versions WHERE folder_id = ? AND record_id = ?',
    );
    this.#insert = db.prepare<
      [string, string, number, number, Buffer, Buffer, Buffer, string | null, number]
    >('INSERT INTO record_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    // The big columns of older versions are never read: SQLite decodes columns lazily, so
    // the CASE keeps their overflow pages untouched.
    this.#listing = db.prepare<[string], ListingRow>(
      `SELECT record_id, version, epoch, signed, created_at, is_latest,
         CASE WHEN is_latest THEN header END AS header,
         CASE WHEN is_latest THEN data_key END AS data_key,
         CASE WHEN is_latest THEN blob_id END AS blob_id
       FROM (SELECT *, version = MAX(version) OVER (PARTITION BY record_id) AS is_latest
             FROM record_versions WHERE folder_id = ?)
       ORDER BY record_id, version`,
    );
    this.#signedListing = db.prepare<[string], SignedRow>(
      `SELECT record_id, version, epoch, signed, created_at FROM record_versions
       WHERE folder_id = ? ORDER BY record_id, version`,
    );
    const cols = 'record_id, version, epoch, header, signed, data_key, blob_id, created_at';
    this.#history = db.prepare<[string, string], VersionRow>(
      `SELECT ${cols} FROM record_versions WHERE folder_id = ? AND record_id = ? ORDER BY version`,
    );
    this.#one = db.prepare<[string, string, number], VersionRow>(
      `SELECT ${cols} FROM record_versions WHERE folder_id = ? AND record_id = ? AND version = ?`,
    );
  }

  /** Highest version of a record, 0 if it has none. */
  latest(folderId: string, recordId: string): number {
    return this.#latest.get(folderId, recordId)?.v ?? 0;
  }

  /** Inserts a version; the caller has done the compare-and-swap check in the transaction. */
  insert(v: NewVersion): void {
    this.#insert.run(
      v.folderId,
      v.recordId,
      v.version,
      v.epoch,
      v.header,
      v.signed,
      v.dataKey,
      v.blobId,
      v.now,
    );
  }

  /** The signed objects of every version of a folder (no keys, no headers), by record. */
  signedListing(folderId: string): SignedRow[] {
    return this.#signedListing.all(folderId);
  }

  /** Every version of every record of a folder, ordered by record then version. */
  listing(folderId: string): ListingRow[] {
    return this.#listing.all(folderId);
  }

  /** Every version of a record, oldest first. */
  history(folderId: string, recordId: string): VersionRow[] {
    return this.#history.all(folderId, recordId);
  }

  /** One version. */
  version(folderId: string, recordId: string, version: number): VersionRow | undefined {
    return this.#one.get(folderId, recordId, version);
  }
}

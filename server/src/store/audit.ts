/**
 * The audit trail's storage: one hash chain per folder and per account (`audit_events`), and
 * the current head of each chain (`audit_heads`). Each event carries the hash of the previous
 * one (`auditEventHash` of `@carnet/shared/core`), so a row edited, deleted or inserted later
 * breaks the chain for anyone who recomputes it; the head row lets an offline check also see a
 * deleted last event. The relay cannot prevent its own operator from rewriting the whole chain
 * — that is what the clients' remembered heads are for (docs/audit.md).
 */
import { auditEventHash, type AuditEvent, type AuditEventType } from '@carnet/shared/core';
import type { Db } from '../db/open';

/** What a route records; ids are the relay's 22-character ids. See {@link appendAudit}. */
export interface AuditInput {
  /** Folder id or account id. */
  chainId: string;
  type: AuditEventType;
  /** Milliseconds (the relay's clock). */
  at: number;
  actorId?: string | null;
  folderId?: string | null;
  recordId?: string | null;
  version?: number | null;
  grantId?: string | null;
  blobId?: string | null;
  /** Member added/removed, invitee, deleted account. */
  subjectId?: string | null;
  /** Client-signed event bytes (kind 0x12), for `viewed` / `exported`. */
  signed?: Uint8Array | null;
}

/** An `audit_events` row. */
export interface AuditRow {
  chain_id: string;
  seq: number;
  at: number;
  type: string;
  actor_id: string | null;
  folder_id: string | null;
  record_id: string | null;
  version: number | null;
  grant_id: string | null;
  blob_id: string | null;
  subject_id: string | null;
  signed: Buffer | null;
  prev_hash: Buffer;
  hash: Buffer;
}

/** An `audit_heads` row. */
export interface AuditHeadRow {
  chain_id: string;
  seq: number;
  hash: Buffer;
}

/** Position after which {@link AuditStore.byGrant} continues: `at`, then chain, then seq. */
export interface GrantCursor {
  at: number;
  chainId: string;
  seq: number;
}

const ZERO_HASH = new Uint8Array(32);

/** Converts a stored row back into the core's {@link AuditEvent} (for hashing and checks). */
export function rowToEvent(r: AuditRow): AuditEvent {
  return {
    chainId: r.chain_id,
    seq: r.seq,
    at: r.at,
    type: r.type as AuditEventType,
    actorId: r.actor_id,
    folderId: r.folder_id,
    recordId: r.record_id,
    version: r.version,
    grantId: r.grant_id,
    blobId: r.blob_id,
    subjectId: r.subject_id,
    signed: r.signed === null ? null : new Uint8Array(r.signed),
    prevHash: new Uint8Array(r.prev_hash),
  } as AuditEvent;
}

/** Statements over `audit_events` and `audit_heads`. Get one with {@link auditStore}. */
export class AuditStore {
  readonly #db: Db;
  readonly #s;

  constructor(db: Db) {
    this.#db = db;
    this.#s = {
      head: db.prepare<[string], AuditHeadRow>('SELECT * FROM audit_heads WHERE chain_id = ?'),
      insert: db.prepare<
        [
          string,
          number,
          number,
          string,
          string | null,
          string | null,
          string | null,
          number | null,
          string | null,
          string | null,
          string | null,
          Buffer | null,
          Buffer,
          Buffer,
        ]
      >(`INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      setHead: db.prepare<[string, number, Buffer]>(
        `INSERT INTO audit_heads VALUES (?, ?, ?)
         ON CONFLICT (chain_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
      ),
      chain: db.prepare<[string, number, number], AuditRow>(
        'SELECT * FROM audit_events WHERE chain_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      // Uses the partial index audit_by_grant(grant_id, at); the row-value comparison makes
      // the cursor strict even when several events share one millisecond.
      byGrant: db.prepare<[string, number, number, string, number, number], AuditRow>(
        `SELECT * FROM audit_events
         WHERE grant_id = ? AND grant_id IS NOT NULL AND at >= ?
           AND (at, chain_id, seq) > (?, ?, ?)
         ORDER BY at, chain_id, seq LIMIT ?`,
      ),
      grant: db.prepare<[string], { practitioner_id: string; agent_id: string; data: Buffer }>(
        'SELECT practitioner_id, agent_id, data FROM grants WHERE grant_id = ?',
      ),
    };
  }

  /**
   * Appends one event at the end of its chain and moves the head, in one transaction (nested
   * in the caller's if there is one, so the event commits or rolls back with the write it
   * records).
   */
  append(e: AuditInput): void {
    this.#db.transaction(() => {
      const head = this.#s.head.get(e.chainId);
      const seq = (head?.seq ?? 0) + 1;
      const prevHash = head ? new Uint8Array(head.hash) : ZERO_HASH;
      const event = {
        chainId: e.chainId,
        seq,
        at: e.at,
        type: e.type,
        actorId: e.actorId ?? null,
        folderId: e.folderId ?? null,
        recordId: e.recordId ?? null,
        version: e.version ?? null,
        grantId: e.grantId ?? null,
        blobId: e.blobId ?? null,
        subjectId: e.subjectId ?? null,
        signed: e.signed ?? null,
        prevHash,
      } as AuditEvent;
      const hash = Buffer.from(auditEventHash(event));
      this.#s.insert.run(
        e.chainId,
        seq,
        e.at,
        e.type,
        event.actorId,
        event.folderId,
        event.recordId,
        event.version,
        event.grantId,
        event.blobId,
        event.subjectId,
        e.signed ? Buffer.from(e.signed) : null,
        Buffer.from(prevHash),
        hash,
      );
      this.#s.setHead.run(e.chainId, seq, hash);
    })();
  }

  /** The head of a chain, or undefined if the chain has no event. */
  head(chainId: string): AuditHeadRow | undefined {
    return this.#s.head.get(chainId);
  }

  /** Events of a chain with `seq > after`, oldest first, at most `limit`. */
  chain(chainId: string, after: number, limit: number): AuditRow[] {
    return this.#s.chain.all(chainId, after, limit);
  }

  /** Events naming a grant, across chains, strictly after `cursor`, oldest first. */
  byGrant(grantId: string, cursor: GrantCursor, limit: number): AuditRow[] {
    return this.#s.byGrant.all(grantId, cursor.at, cursor.at, cursor.chainId, cursor.seq, limit);
  }

  /** A grant's parties and signed bytes (for the audit answers), if it still exists. */
  grant(grantId: string): { practitioner_id: string; agent_id: string; data: Buffer } | undefined {
    return this.#s.grant.get(grantId);
  }
}

const stores = new WeakMap<Db, AuditStore>();

/** The {@link AuditStore} of a database, its statements prepared once per connection. */
export function auditStore(db: Db): AuditStore {
  let s = stores.get(db);
  if (!s) {
    s = new AuditStore(db);
    stores.set(db, s);
  }
  return s;
}

/**
 * Appends an audit event to chain `e.chainId`. Call it inside the `db.transaction` of the
 * write it records: better-sqlite3 nests it as a savepoint, so both commit or neither does.
 */
export function appendAudit(db: Db, e: AuditInput): void {
  auditStore(db).append(e);
}

/**
 * Audit of membership changes: in the folder's chain, and in each subject's account chain so
 * that a removed member, who can no longer read the folder's chain, still sees it happened.
 */
export function auditMembers(
  db: Db,
  folderId: string,
  actorId: string,
  at: number,
  type: 'member.added' | 'member.removed' | 'member.pending',
  subjects: readonly string[],
): void {
  for (const subjectId of subjects) {
    const e = { type, at, actorId, folderId, subjectId };
    appendAudit(db, { chainId: folderId, ...e });
    appendAudit(db, { chainId: subjectId, ...e });
  }
}

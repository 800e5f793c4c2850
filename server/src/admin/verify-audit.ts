/**
 * Offline check of the relay's audit trail (`carnet admin verify-audit --data DIR`): every
 * chain is walked from seq 1 in the database file itself, opened read-only, with no relay
 * running. What it catches and what it cannot is in docs/audit.md: an edited, deleted or
 * inserted row is found; a chain rewritten wholesale with fresh hashes is not (only clients'
 * remembered heads catch that).
 */
import { join } from 'node:path';
import { auditEventHash } from '@carnet/shared/core';
import Database from 'better-sqlite3';
import { DB_FILE } from '../relay';
import { rowToEvent, type AuditHeadRow, type AuditRow } from '../store/audit';

/** What {@link verifyAuditDatabase} found. */
export interface AuditVerification {
  /** Chains seen (in events or heads). */
  chains: number;
  /** Events read. */
  events: number;
  /** One plain sentence per problem; empty when the trail is intact. */
  problems: string[];
}

/** Problems listed before the rest is summarised in one line. */
const MAX_PROBLEMS = 200;

const ZERO = Buffer.alloc(32);

/**
 * Walks every audit chain of `<dataDir>/carnet.db`: seqs contiguous from 1, each `prev_hash`
 * equal to the stored hash of the event before it (zeros for seq 1), each stored hash equal to
 * the hash recomputed from the row, and `audit_heads` equal to each chain's last event (so a
 * deleted last row is found too). Problems are reported per row rather than cascading: a link
 * is checked against the previous row's *stored* hash, so one edited row gives one problem.
 */
export function verifyAuditDatabase(dataDir: string): AuditVerification {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true, fileMustExist: true });
  try {
    return verify(db);
  } finally {
    db.close();
  }
}

function verify(db: Database.Database): AuditVerification {
  const problems: string[] = [];
  let more = 0;
  const report = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
    else more++;
  };
  const heads = new Map(
    db
      .prepare<[], AuditHeadRow>('SELECT * FROM audit_heads')
      .all()
      .map((h) => [h.chain_id, h]),
  );
  const rows = db
    .prepare<[], AuditRow>('SELECT * FROM audit_events ORDER BY chain_id, seq')
    .iterate();
  const seen = new Set<string>();
  let events = 0;
  let chain: string | undefined;
  let last: { seq: number; hash: Buffer } | undefined;
  const finish = () => {
    if (chain === undefined || last === undefined) return;
    const head = heads.get(chain);
    if (!head) report(`chain ${chain}: no head row, though it has ${last.seq} events`);
    else if (head.seq !== last.seq)
      report(`chain ${chain}: the head says ${head.seq} events, the table holds ${last.seq}`);
    else if (!head.hash.equals(last.hash))
      report(`chain ${chain}: the head's hash is not the hash of its last event`);
  };
  for (const r of rows) {
    events++;
    if (r.chain_id !== chain) {
      finish();
      chain = r.chain_id;
      seen.add(chain);
      last = undefined;
    }
    const where = `chain ${r.chain_id}, event ${r.seq}`;
    const expectedSeq = (last?.seq ?? 0) + 1;
    if (r.seq !== expectedSeq) {
      report(
        r.seq > expectedSeq
          ? `${where}: events ${expectedSeq}–${r.seq - 1} are missing`
          : `${where}: sequence number out of order`,
      );
    }
    const expectedPrev = r.seq === 1 ? ZERO : r.seq === expectedSeq ? last?.hash : undefined;
    if (expectedPrev !== undefined && !Buffer.from(r.prev_hash).equals(expectedPrev)) {
      report(`${where}: does not link to the event before it`);
    }
    try {
      if (!Buffer.from(auditEventHash(rowToEvent(r))).equals(r.hash)) {
        report(`${where}: its stored hash does not match its content (edited)`);
      }
    } catch (e) {
      report(`${where}: malformed (${e instanceof Error ? e.message : String(e)})`);
    }
    last = { seq: r.seq, hash: Buffer.from(r.hash) };
  }
  finish();
  for (const [id, h] of heads) {
    if (!seen.has(id)) report(`chain ${id}: the head says ${h.seq} events, the table holds none`);
  }
  if (more > 0) problems.push(`… and ${more} more problems`);
  return { chains: new Set([...seen, ...heads.keys()]).size, events, problems };
}

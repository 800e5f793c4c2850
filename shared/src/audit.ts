/**
 * Audit trails: the relay's hash-chained log of who did what, and the client-signed events
 * ("viewed", "exported") it carries verbatim.
 *
 * The relay keeps one chain per folder and one per account. Each event commits to the previous
 * one through `prevHash`, so a client that remembers the last head it saw (the anchor) detects
 * a relay that rewrites, deletes, reorders or truncates history: `AUDIT_BROKEN`. The relay can
 * still withhold events it never showed anyone, or fork the chain between devices that never
 * compare heads — the chain makes tampering evident after the fact, it does not prevent it
 * (docs/protocol.md §60).
 *
 * Relay events are not signed (the relay writes them, from what it sees). What a member or an
 * agent does on its own side — opening a record, exporting — the relay cannot witness, so the
 * client signs it (`AUDIT_VIEWED`, kind 0x12) and the relay stores the signed bytes in the event.
 */
import { concatBytes, equalBytes, lp, u32, u64, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { AccountId, BlobId, FolderId, GrantId, RecordId } from './ids';
import type { IdentityPrivateKey, IdentityPublicKey } from './keys';
import {
  encodeObjectId,
  isU32,
  readSigned,
  signatureMessage,
  SIGNATURE_LEN,
  type ByteReader,
} from './object-codec';
import { ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { sha256 } from './primitives/sha2';
import { FORMAT, KIND } from './registry';

/** Every event type of an audit chain. Types are never renamed: they are hashed. */
export const AUDIT_EVENT_TYPES = [
  'folder.created',
  'keys.folder',
  'keys.records',
  'blob.read',
  'record.written',
  'grant.created',
  'grant.keys',
  'grant.read',
  'grant.revoked',
  'grant.expired',
  'member.added',
  'member.removed',
  'member.pending',
  'invite.created',
  'invite.revoked',
  'viewed',
  'exported',
  'import.staged',
  'import.adopted',
  'import.removed',
  'folder.deleted',
  'account.deleted',
] as const;

/** What an audit event records. */
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** One event of an audit chain, as the relay serves it (oldest first). */
export interface AuditEvent {
  /** The chain: a folder id or an account id (22-character id). */
  chainId: string;
  /** 1, 2, … within the chain. */
  seq: number;
  /** Milliseconds since the Unix epoch, by the relay's clock. */
  at: number;
  type: AuditEventType;
  actorId: AccountId | null;
  folderId: FolderId | null;
  recordId: RecordId | null;
  /** u32 record version. */
  version: number | null;
  grantId: GrantId | null;
  blobId: BlobId | null;
  /** Member added or removed, invitee, deleted account. */
  subjectId: AccountId | null;
  /** Client-signed event bytes (`AUDIT_VIEWED`); present exactly for `viewed` and `exported`. */
  signed: Uint8Array | null;
  /** {@link auditEventHash} of the previous event; 32 zero bytes for seq 1. */
  prevHash: Uint8Array;
}

/** Domain string of the event hash. */
export const AUDIT_EVENT_HASH_DOMAIN = 'carnet/v1/audit/event';
/** Domain string of client-signed audit events. */
export const CLIENT_AUDIT_SIGNATURE_DOMAIN = 'carnet/v1/audit/client-event';
/** The `prevHash` of seq 1, and the head of an empty chain (32 zero bytes). */
export const AUDIT_GENESIS_HASH: Uint8Array = new Uint8Array(32);
// A private copy: the exported array could be written to by a careless caller.
const GENESIS = new Uint8Array(32);

const EVENT_TYPES: ReadonlySet<string> = new Set(AUDIT_EVENT_TYPES);
const SIGNED_TYPES: ReadonlySet<string> = new Set(['viewed', 'exported']);
const HASH_DOMAIN_BYTES = lp(utf8(AUDIT_EVENT_HASH_DOMAIN));

type Fail = (field: string, expected: string) => CarnetError;
const eventFormat: Fail = (f, e) =>
  new CarnetError('FORMAT', `The audit event's "${f}" must be ${e}.`);

function isSafeCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** The 16 bytes of an id, or `fail` naming the field. */
function idBytes(v: unknown, field: string, fail: Fail): Uint8Array {
  try {
    return encodeObjectId(v as string, field);
  } catch {
    throw fail(field, 'a 22-character id');
  }
}

/** `00` when absent, `01 ‖ value` when present. */
function optional<T>(v: T | null, encode: (x: T) => Uint8Array): Uint8Array {
  return v === null ? new Uint8Array([0]) : concatBytes(new Uint8Array([1]), encode(v));
}

/**
 * The hash of one audit event, as the next event's `prevHash` and the chain head:
 *
 *     SHA-256( lp("carnet/v1/audit/event") ‖ 01 16 ‖ chainId 16 ‖ seq u64 ‖ at u64 ‖ lp(type) ‖
 *              opt(actorId 16) ‖ opt(folderId 16) ‖ opt(recordId 16) ‖ opt(version u32) ‖
 *              opt(grantId 16) ‖ opt(blobId 16) ‖ opt(subjectId 16) ‖ opt(lp(signed)) ‖
 *              prevHash 32 )
 *
 * where `opt(x)` is `00` when absent and `01 ‖ x` when present. Every field has a fixed length
 * or a length prefix, so the encoding is injective. `FORMAT` if a field is malformed: an
 * unknown type, a bad id, a seq of 0, or `signed` present on a type other than viewed/exported
 * (or absent on those).
 */
export function auditEventHash(e: AuditEvent): Uint8Array {
  if (typeof e !== 'object' || e === null) throw eventFormat('event', 'an object');
  if (!isSafeCount(e.seq) || e.seq < 1) throw eventFormat('seq', 'a safe integer ≥ 1');
  if (!isSafeCount(e.at)) throw eventFormat('at', 'a safe non-negative integer (ms)');
  if (typeof e.type !== 'string' || !EVENT_TYPES.has(e.type))
    throw eventFormat('type', 'a known event type');
  if (!(e.prevHash instanceof Uint8Array) || e.prevHash.length !== 32)
    throw eventFormat('prevHash', '32 bytes');
  if (e.signed !== null && !(e.signed instanceof Uint8Array))
    throw eventFormat('signed', 'bytes or null');
  if ((e.signed !== null) !== SIGNED_TYPES.has(e.type))
    throw eventFormat('signed', 'present exactly for viewed and exported events');
  if (e.version !== null && !isU32(e.version)) throw eventFormat('version', 'a u32 or null');
  const id = (field: keyof AuditEvent) => (v: string) => idBytes(v, field, eventFormat);
  return sha256(
    concatBytes(
      HASH_DOMAIN_BYTES,
      new Uint8Array([FORMAT.V1, KIND.AUDIT_EVENT]),
      idBytes(e.chainId, 'chainId', eventFormat),
      u64(e.seq),
      u64(e.at),
      lp(utf8(e.type)),
      optional(e.actorId, id('actorId')),
      optional(e.folderId, id('folderId')),
      optional(e.recordId, id('recordId')),
      optional(e.version, u32),
      optional(e.grantId, id('grantId')),
      optional(e.blobId, id('blobId')),
      optional(e.subjectId, id('subjectId')),
      optional(e.signed, lp),
      e.prevHash,
    ),
  );
}

/** The last head of a chain a device saw: its seq and {@link auditEventHash}. */
export interface AuditAnchor {
  seq: number;
  hash: Uint8Array;
}

/** What {@link verifyAuditChain} checks a run of events against. */
export interface AuditChainCheck {
  /** The chain the caller asked for. */
  chainId: string;
  /**
   * The last head this device saw. The caller fetches from `anchor.seq` inclusive (relay query
   * `after = anchor.seq − 1`), so the run must reach back to the anchor.
   */
  anchor?: AuditAnchor;
  /** The hash the relay stated for each event, in the same order; each must match. */
  hashes?: Uint8Array[];
}

const broken = (why: string): CarnetError =>
  new CarnetError('AUDIT_BROKEN', `The audit chain is broken: ${why}.`);

/**
 * Verifies a run of events of one chain, oldest first, and returns the hash of its last event
 * (the new head to remember as anchor).
 *
 * `AUDIT_BROKEN` when: an event belongs to another chain; seqs are not contiguous; an event's
 * `prevHash` is not the previous event's hash (an event deleted, edited or reordered); seq 1
 * has a non-zero `prevHash`; a stated hash differs from the recomputed one; without an anchor,
 * the run does not start at seq 1; with an anchor, the run neither contains the anchor's seq
 * with the anchor's hash nor starts right after it with `prevHash` = the anchor's hash — a head
 * below the anchor (truncation), a different hash (rewrite, fork) or a gap. An empty run is the
 * empty chain without an anchor (returns {@link AUDIT_GENESIS_HASH}) and a truncation with one.
 * `FORMAT` for a malformed event (see {@link auditEventHash}), `CONTEXT_MISMATCH` when a
 * client-signed event's bytes disagree with the event's fields. Signatures of client-signed
 * events are not checked here (that needs the actors' keys: {@link verifyClientAuditEvent}).
 */
export function verifyAuditChain(events: AuditEvent[], check: AuditChainCheck): Uint8Array {
  if (!Array.isArray(events)) throw invalidArgument('events', 'an array');
  encodeObjectId(check.chainId, 'chainId');
  const { anchor, hashes } = check;
  if (anchor !== undefined) {
    if (!isSafeCount(anchor.seq) || anchor.seq < 1)
      throw invalidArgument('anchor.seq', 'a safe integer ≥ 1');
    if (!(anchor.hash instanceof Uint8Array) || anchor.hash.length !== 32)
      throw invalidArgument('anchor.hash', '32 bytes');
  }
  if (hashes !== undefined && (!Array.isArray(hashes) || hashes.length !== events.length))
    throw invalidArgument('hashes', 'one hash per event');
  if (events.length === 0) {
    if (anchor !== undefined) throw broken('the relay served nothing up to the last seen head');
    return GENESIS.slice();
  }
  // Hashing first validates every event (FORMAT), so the checks below compare well-formed fields.
  const computed = events.map(auditEventHash);
  const first = events[0]!;
  if (anchor === undefined) {
    if (first.seq !== 1) throw broken('it does not start at its first event');
  } else if (first.seq > anchor.seq + 1) {
    throw broken('events after the last seen head are missing');
  } else if (first.seq === anchor.seq + 1 && !equalBytes(first.prevHash, anchor.hash)) {
    throw broken('it does not continue the last seen head');
  }
  let anchorSeen = anchor === undefined || first.seq === anchor.seq + 1;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const h = computed[i]!;
    if (e.chainId !== check.chainId) throw broken('an event belongs to another chain');
    if (i > 0 && e.seq !== events[i - 1]!.seq + 1)
      throw broken('its sequence numbers are not contiguous');
    if (e.seq === 1 && !equalBytes(e.prevHash, GENESIS))
      throw broken('its first event does not start from nothing');
    if (i > 0 && !equalBytes(e.prevHash, computed[i - 1]!))
      throw broken(`event ${e.seq} does not follow event ${e.seq - 1}`);
    if (hashes !== undefined) {
      const stated = hashes[i];
      if (!(stated instanceof Uint8Array) || !equalBytes(stated, h))
        throw broken(`the relay's hash of event ${e.seq} is wrong`);
    }
    if (anchor !== undefined && e.seq === anchor.seq) {
      if (!equalBytes(h, anchor.hash)) throw broken(`event ${e.seq} differs from the one seen`);
      anchorSeen = true;
    }
    if (e.signed !== null) checkSignedMatches(e);
  }
  if (!anchorSeen) throw broken('the relay served an older head than the last seen one');
  return computed[computed.length - 1]!.slice();
}

// ---------------------------------------------------------------------------------------------
// Client-signed events (AUDIT_VIEWED, kind 0x12)

/** What a client can sign. */
export type ClientAuditAction = 'viewed' | 'exported';

/** Action bytes of client-signed events. Numbers are never reused. */
export const CLIENT_AUDIT_ACTION = {
  viewed: 0x01,
  exported: 0x02,
} as const satisfies Record<ClientAuditAction, number>;

/** The signed content of a client audit event. */
export interface ClientAuditFields {
  action: ClientAuditAction;
  /** Who did it (the signer). */
  actorId: AccountId;
  folderId: FolderId;
  /** The record viewed or exported; null for the whole folder. */
  recordId: RecordId | null;
  /** u32 record version, ≥ 1 with a record, 0 without. */
  version: number;
  /** The support grant used, if any. */
  grantId: GrantId | null;
  /** Milliseconds since the Unix epoch, by the signer's clock. */
  at: number;
}

/** Length of a client-signed audit event. */
export const CLIENT_AUDIT_EVENT_LEN = 2 + 1 + 1 + 16 * 4 + 4 + 8 + SIGNATURE_LEN;

const ACTION_BY_BYTE = new Map<number, ClientAuditAction>(
  (Object.entries(CLIENT_AUDIT_ACTION) as [ClientAuditAction, number][]).map(([a, b]) => [b, a]),
);
const HAS_RECORD = 0x01;
const HAS_GRANT = 0x02;
const ZERO_ID = new Uint8Array(16);
const clientFormat: Fail = (f, e) =>
  new CarnetError('FORMAT', `The signed audit event's "${f}" must be ${e}.`);

/**
 * Signs a client audit event. Layout (fixed, 144 bytes):
 * `01 12 | action u8 (1 viewed, 2 exported) | present u8 (bit 0 recordId, bit 1 grantId) |
 * actorId 16 | folderId 16 | recordId 16 | grantId 16 | version u32 | at u64 | signature 64`,
 * absent ids as 16 zero bytes; the signature covers `lp(CLIENT_AUDIT_SIGNATURE_DOMAIN) ‖ every
 * byte before it`. `INVALID_ARGUMENT` for a malformed field, or a version that is not ≥ 1 with a
 * record and 0 without.
 */
export async function signClientAuditEvent(
  seed: IdentityPrivateKey,
  f: ClientAuditFields,
): Promise<Uint8Array> {
  const fail: Fail = (field, e) => invalidArgument(field, e);
  checkClientFields(f, fail);
  const present = (f.recordId !== null ? HAS_RECORD : 0) | (f.grantId !== null ? HAS_GRANT : 0);
  const tbs = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.AUDIT_VIEWED, CLIENT_AUDIT_ACTION[f.action], present]),
    encodeObjectId(f.actorId, 'actorId'),
    encodeObjectId(f.folderId, 'folderId'),
    f.recordId === null ? ZERO_ID : encodeObjectId(f.recordId, 'recordId'),
    f.grantId === null ? ZERO_ID : encodeObjectId(f.grantId, 'grantId'),
    u32(f.version),
    u64(f.at),
  );
  return concatBytes(
    tbs,
    await ed25519Sign(seed, signatureMessage(CLIENT_AUDIT_SIGNATURE_DOMAIN, tbs)),
  );
}

/**
 * Parses a client-signed event's structure without checking its signature (for the relay,
 * which checks the actor and folder against the session, and for display). `TRUNCATED`
 * (including a stripped signature) / `DOWNGRADE` / `FORMAT` / `CONTEXT_MISMATCH` (another kind).
 */
export function inspectClientAuditEvent(bytes: Uint8Array): ClientAuditFields {
  return parseClientEvent(bytes).fields;
}

/**
 * Verifies a client-signed event under its actor's key. Structure errors as in
 * {@link inspectClientAuditEvent}; `INTEGRITY` if the signature does not verify (tampered or
 * forged); `CONTEXT_MISMATCH` if a field differs from `expected`.
 */
export async function verifyClientAuditEvent(
  pub: IdentityPublicKey,
  bytes: Uint8Array,
  expected: Partial<ClientAuditFields> = {},
): Promise<ClientAuditFields> {
  const { fields, tbs, signature } = parseClientEvent(bytes);
  if (!(await ed25519Verify(pub, signatureMessage(CLIENT_AUDIT_SIGNATURE_DOMAIN, tbs), signature)))
    throw new CarnetError('INTEGRITY');
  for (const k of Object.keys(fields) as (keyof ClientAuditFields)[]) {
    if (expected[k] !== undefined && expected[k] !== fields[k])
      throw new CarnetError('CONTEXT_MISMATCH');
  }
  return fields;
}

function parseClientEvent(bytes: Uint8Array): {
  fields: ClientAuditFields;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const { reader, tbs, signature } = readSigned(bytes, KIND.AUDIT_VIEWED, CLIENT_AUDIT_EVENT_LEN);
  const action = ACTION_BY_BYTE.get(reader.u8());
  if (action === undefined) throw clientFormat('action', 'viewed or exported');
  const present = reader.u8();
  if ((present & ~(HAS_RECORD | HAS_GRANT)) !== 0) throw clientFormat('present', 'bits 0 and 1');
  const actorId = reader.id<AccountId>();
  const folderId = reader.id<FolderId>();
  const recordId = optionalId<RecordId>(reader, (present & HAS_RECORD) !== 0, 'recordId');
  const grantId = optionalId<GrantId>(reader, (present & HAS_GRANT) !== 0, 'grantId');
  const fields: ClientAuditFields = {
    action,
    actorId,
    folderId,
    recordId,
    version: reader.u32(),
    grantId,
    at: reader.u64(),
  };
  reader.end();
  checkClientFields(fields, clientFormat);
  return { fields, tbs, signature };
}

/** An id slot that is all zeros when absent (anything else there is `FORMAT`). */
function optionalId<T extends RecordId | GrantId>(
  r: ByteReader,
  present: boolean,
  field: string,
): T | null {
  if (present) return r.id<T>();
  if (!equalBytes(r.take(16), ZERO_ID)) throw clientFormat(field, 'zero when absent');
  return null;
}

function checkClientFields(f: ClientAuditFields, fail: Fail): void {
  if (typeof f !== 'object' || f === null) throw fail('fields', 'an object');
  if (!Object.hasOwn(CLIENT_AUDIT_ACTION, f.action)) throw fail('action', 'viewed or exported');
  idBytes(f.actorId, 'actorId', fail);
  idBytes(f.folderId, 'folderId', fail);
  if (f.recordId !== null) idBytes(f.recordId, 'recordId', fail);
  if (f.grantId !== null) idBytes(f.grantId, 'grantId', fail);
  if (!isU32(f.version)) throw fail('version', 'a u32');
  if ((f.recordId === null) !== (f.version === 0))
    throw fail('version', '≥ 1 with a record and 0 without');
  if (!isSafeCount(f.at)) throw fail('at', 'a safe non-negative integer (ms)');
}

/**
 * The relay copies a client-signed event's fields into the event's columns; they must agree,
 * or the relay could show a signed "viewed" under another actor, folder or record.
 */
function checkSignedMatches(e: AuditEvent): void {
  const f = inspectClientAuditEvent(e.signed!);
  const same =
    f.action === e.type &&
    f.actorId === e.actorId &&
    f.folderId === e.folderId &&
    f.recordId === e.recordId &&
    (f.recordId === null ? e.version === null || e.version === 0 : f.version === e.version) &&
    f.grantId === e.grantId;
  if (!same) throw new CarnetError('CONTEXT_MISMATCH');
}

/** Decodes a type read from the wire; `FORMAT` if it is not a known event type. */
export function parseAuditEventType(s: unknown): AuditEventType {
  if (typeof s !== 'string' || !EVENT_TYPES.has(s)) throw eventFormat('type', 'a known event type');
  return s as AuditEventType;
}

/**
 * Decoding of the relay's audit answers (docs/audit.md) into core {@link AuditEvent}s with the
 * hash the relay states for each. Shape only: the chain itself is verified by the caller
 * (`verifyAuditChain`), which recomputes every hash.
 */
import { parseAuditEventType, type AuditEvent } from '../audit';
import { CarnetError } from '../errors';
import {
  isId,
  type AccountId,
  type BlobId,
  type FolderId,
  type GrantId,
  type RecordId,
} from '../ids';
import { arr, bytes, int, obj, str, type Obj } from './wire';

/** An event as served, with the relay's stated hash. */
export interface ServedAuditEvent {
  event: AuditEvent;
  hash: Uint8Array;
}

/** One page of a chain (`GET /folders/:id/audit`, `GET /accounts/me/audit`). */
export interface WireAuditPage {
  chainId: string;
  events: ServedAuditEvent[];
  head: { seq: number; hash: Uint8Array };
  /** Signed grants named by the page's events (bytes as the practitioner signed them). */
  grants: { grantId: GrantId; grant: Uint8Array }[];
}

/** One page of a grant's events across chains (`GET /grants/:id/audit`). */
export interface WireGrantAuditPage {
  grantId: GrantId;
  events: ServedAuditEvent[];
  /** Pass back as `after` to get what follows. */
  cursor: string;
}

function bad(what: string): CarnetError {
  return new CarnetError('FORMAT', `The relay's audit answer is malformed (${what}).`);
}

function nullableId<T extends string>(o: Obj, k: string): T | null {
  const v = o[k];
  if (v === null) return null;
  if (!isId(v)) throw bad(k);
  return v as T;
}

function hash32(o: Obj, k: string): Uint8Array {
  const b = bytes(o, k);
  if (b.length !== 32) throw bad(k);
  return b;
}

/** Decodes one served event of chain `chainId`. */
export function wireAuditEvent(v: unknown, chainId: string): ServedAuditEvent {
  const o = obj(v, 'audit event');
  const version = o.version === null ? null : int(o, 'version');
  return {
    event: {
      chainId,
      seq: int(o, 'seq'),
      at: int(o, 'at'),
      type: parseAuditEventType(o.type),
      actorId: nullableId<AccountId>(o, 'actorId'),
      folderId: nullableId<FolderId>(o, 'folderId'),
      recordId: nullableId<RecordId>(o, 'recordId'),
      version,
      grantId: nullableId<GrantId>(o, 'grantId'),
      blobId: nullableId<BlobId>(o, 'blobId'),
      subjectId: nullableId<AccountId>(o, 'subjectId'),
      signed: o.signed === null ? null : bytes(o, 'signed'),
      prevHash: hash32(o, 'prevHash'),
    },
    hash: hash32(o, 'hash'),
  };
}

/** Decodes a chain page; the relay must answer for the chain asked about. */
export function wireAuditPage(v: unknown, chainId: string): WireAuditPage {
  const o = obj(v, 'audit');
  if (str(o, 'chainId') !== chainId) throw new CarnetError('CONTEXT_MISMATCH');
  const head = obj(o.head, 'head');
  return {
    chainId,
    events: arr(o, 'events').map((e) => wireAuditEvent(e, chainId)),
    head: { seq: int(head, 'seq'), hash: hash32(head, 'hash') },
    grants: arr(o, 'grants').map((g) => {
      const go = obj(g, 'grants');
      const grantId = nullableId<GrantId>(go, 'grantId');
      if (grantId === null) throw bad('grantId');
      return { grantId, grant: bytes(go, 'grant') };
    }),
  };
}

/** Decodes a grant's page of events; each event names its chain. */
export function wireGrantAuditPage(v: unknown, grantId: GrantId): WireGrantAuditPage {
  const o = obj(v, 'grant audit');
  if (str(o, 'grantId') !== grantId) throw new CarnetError('CONTEXT_MISMATCH');
  return {
    grantId,
    events: arr(o, 'events').map((e) => {
      const chainId = str(obj(e, 'events'), 'chainId');
      if (!isId(chainId)) throw bad('chainId');
      const served = wireAuditEvent(e, chainId);
      if (served.event.grantId !== grantId) throw new CarnetError('CONTEXT_MISMATCH');
      return served;
    }),
    cursor: str(o, 'cursor'),
  };
}

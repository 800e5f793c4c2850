/**
 * The audit trail: per-folder and per-account hash chains, client-signed events.
 *
 * Mounted at `/` (after `/folders` and `/grants`): Hono matches routes on the full path, so
 * `/folders/:folderId/audit` is reached here even though `/folders` is another sub-app (the
 * folder app has no route of that shape; `server/test/audit.test.ts` checks it). Because this
 * app sits at the root, authentication is attached to each route, never as a `*` middleware
 * that would also catch `/relay` and every unknown path.
 */
import {
  inspectClientAuditEvent,
  verifyClientAuditEvent,
  verifyKeyBundle,
  type AccountId,
  type ClientAuditFields,
  type IdentityPublicKey,
} from '@carnet/shared/core';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { requireSession } from '../http/auth';
import { readJson } from '../http/body';
import { badRequest, invalid, notFound } from '../http/errors';
import { b64, bytes, ID_RE, pathId } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit, auditStore, type AuditRow, type GrantCursor } from '../store/audit';
import { READERS, requireRole } from './access';

/** Largest client-signed event accepted (a real one is about 200 bytes). */
const MAX_SIGNED_EVENT = 2048;
/** Events per page: default and maximum. */
const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 1000;

const eventBody = z.strictObject({ event: bytes(MAX_SIGNED_EVENT) });

/** The JSON form of one event (`WireAuditEvent` in docs/audit.md). */
export function wireAuditEvent(r: AuditRow) {
  return {
    seq: r.seq,
    at: r.at,
    type: r.type,
    actorId: r.actor_id,
    folderId: r.folder_id,
    recordId: r.record_id,
    version: r.version,
    grantId: r.grant_id,
    blobId: r.blob_id,
    subjectId: r.subject_id,
    signed: r.signed === null ? null : b64(r.signed),
    prevHash: b64(r.prev_hash),
    hash: b64(r.hash),
  };
}

/** `?limit=<n>`: 1 to {@link MAX_LIMIT}. */
function limitQuery(c: Context<AppEnv>): number {
  const limit = c.req.query('limit') ?? String(DEFAULT_LIMIT);
  if (!/^\d{1,4}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LIMIT) {
    throw badRequest(`limit must be 1 to ${MAX_LIMIT}`);
  }
  return Number(limit);
}

/** `?after=<seq>&limit=<n>` of a chain page. */
function pageQuery(c: Context<AppEnv>): { after: number; limit: number } {
  const after = c.req.query('after') ?? '0';
  if (!/^\d{1,15}$/.test(after)) throw badRequest('malformed after');
  return { after: Number(after), limit: limitQuery(c) };
}

/**
 * Grant cursor `<at>.<seq>.<chainId>` ('.' is not a base64url character, so it splits
 * unambiguously); the empty cursor is the beginning.
 */
function parseCursor(raw: string | undefined): GrantCursor {
  if (raw === undefined || raw === '') return { at: 0, chainId: '', seq: 0 };
  const m = /^(\d{1,15})\.(\d{1,15})\.([A-Za-z0-9_-]{22})$/.exec(raw);
  if (!m || !ID_RE.test(m[3]!)) throw badRequest('malformed after');
  return { at: Number(m[1]), seq: Number(m[2]), chainId: m[3]! };
}

const cursorOf = (r: AuditRow): string => `${r.at}.${r.seq}.${r.chain_id}`;

/** The caller's identity key, from the key bundle it registered. */
async function identityKey(relay: Relay, accountId: string): Promise<IdentityPublicKey> {
  const row = relay.accounts.byId(accountId);
  if (!row) throw notFound('no such account');
  const bundle = await verifyKeyBundle(new Uint8Array(row.key_bundle), accountId as AccountId);
  return bundle.identityPublicKey;
}

/** Sub-app factory for the audit routes (mounted at `/`). */
export function auditRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const auth = requireSession(relay);
  const store = auditStore(relay.db);
  const limit = relay.config.jsonBodyLimit;

  /**
   * One page of a chain plus the chain's head and the signed grants its events name, so that
   * a patient (who may not fetch grants) can read the reason and verify it under the owner's key.
   */
  const chainAnswer = (chainId: string, after: number, n: number) => {
    // One read transaction: the head is the head of exactly these events' chain state.
    const { rows, head } = relay.db.transaction(() => ({
      rows: store.chain(chainId, after, n),
      head: store.head(chainId),
    }))();
    const grantIds = [...new Set(rows.flatMap((r) => (r.grant_id === null ? [] : [r.grant_id])))];
    const grants = grantIds.flatMap((grantId) => {
      const g = store.grant(grantId);
      return g ? [{ grantId, grant: b64(g.data) }] : [];
    });
    return {
      chainId,
      events: rows.map(wireAuditEvent),
      head: head
        ? { seq: head.seq, hash: b64(head.hash) }
        : { seq: 0, hash: b64(new Uint8Array(32)) },
      grants,
    };
  };

  app.get('/folders/:folderId/audit', auth, (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const q = pageQuery(c);
    requireRole(relay, folderId, c.var.session.accountId, READERS);
    return c.json(chainAnswer(folderId, q.after, q.limit));
  });

  app.get('/accounts/me/audit', auth, (c) => {
    const q = pageQuery(c);
    return c.json(chainAnswer(c.var.session.accountId, q.after, q.limit));
  });

  app.get('/grants/:grantId/audit', auth, (c) => {
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    const cursor = parseCursor(c.req.query('after'));
    const n = limitQuery(c);
    const g = store.grant(grantId);
    if (!g || g.practitioner_id !== c.var.session.accountId) throw notFound('no such grant');
    const rows = store.byGrant(grantId, cursor, n);
    const last = rows.at(-1);
    return c.json({
      grantId,
      events: rows.map((r) => ({ chainId: r.chain_id, ...wireAuditEvent(r) })),
      cursor: last ? cursorOf(last) : (c.req.query('after') ?? ''),
    });
  });

  app.post('/folders/:folderId/audit/events', auth, async (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, me, READERS);
    const b = await readJson(c, eventBody, limit);
    let fields: ClientAuditFields;
    try {
      fields = inspectClientAuditEvent(new Uint8Array(b.event));
    } catch {
      throw invalid('event: not a client audit event');
    }
    if (fields.actorId !== me) throw invalid('event: the actor must be the caller');
    if (fields.folderId !== folderId) throw invalid('event: another folder');
    // A member's own events name no grant: an agent's go through POST /grants/:id/viewed.
    if (fields.grantId !== null) throw invalid('event: members post events without a grant');
    if (fields.action !== 'viewed' && fields.action !== 'exported') {
      throw invalid('event: action not allowed');
    }
    if (fields.action === 'viewed' && fields.recordId === null) {
      throw invalid('event: a viewed event names a record');
    }
    if (
      fields.recordId !== null &&
      fields.version > 0 &&
      !relay.records.version(folderId, fields.recordId, fields.version)
    ) {
      throw notFound('no such record version');
    }
    try {
      await verifyClientAuditEvent(await identityKey(relay, me), new Uint8Array(b.event));
    } catch {
      throw invalid('event: the signature does not verify under your key bundle');
    }
    relay.db.transaction(() => {
      // Re-checked: the caller may have been removed while the signature was checked.
      requireRole(relay, folderId, me, READERS);
      appendAudit(relay.db, {
        chainId: folderId,
        type: fields.action,
        at: relay.now(),
        actorId: me,
        folderId,
        recordId: fields.recordId,
        version: fields.version > 0 ? fields.version : null,
        signed: b.event,
      });
    })();
    return c.body(null, 204);
  });

  return app;
}

/**
 * What a support agent reaches through a grant, under `/grants/:grantId`: the grant's keys,
 * the in-scope folders, their manifests, records and blobs, and the "viewed" events the
 * agent's client signs. Only the grant's agent, only while the grant is active (inside its
 * window, not revoked — checked on every request, nothing cached), only within its scope;
 * anything else is the same `404`. Every read is audited in the folder's chain, in the same
 * transaction as the checks, so a read that happened is a read that was logged.
 */
import { CarnetError, verifyClientAuditEvent, verifyKeyBundle } from '@carnet/shared/core';
import type { AccountId, IdentityPublicKey } from '@carnet/shared/core';
import { Hono } from 'hono';
import { z } from 'zod';
import { readJson } from '../http/body';
import { badRequest, invalid, notFound, type ApiError } from '../http/errors';
import { b64, bytes, LIMITS, pathId } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit, type AuditInput } from '../store/audit';
import { grantChains, grantStatus, type GrantRow } from '../store/grants';
import { requestedRange, sendBlob } from './blobs';
import { listingJson, versionJson } from './records';

/**
 * A plain copy of request bytes for the core. Request fields are Node Buffers, often views
 * into a shared pool; the core's readers expect their own `Uint8Array` (a Buffer's `slice`
 * is a view, not a copy, and a view at a pool offset decodes wrong numbers).
 */
export const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** A core check failed on something the caller sent: `400 VALIDATION` with the core's words. */
export async function coreCheck<T>(what: string, f: () => Promise<T> | T): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof CarnetError) throw invalid(`${what}: ${e.code}: ${e.message}`);
    throw e;
  }
}

/**
 * The identity public key of an account, from its stored key bundle, verified (registration
 * does not check bundles). `make` builds the error for a missing or unusable bundle.
 */
export async function identityKeyOf(
  relay: Relay,
  accountId: string,
  make: (why: string) => ApiError = invalid,
): Promise<IdentityPublicKey> {
  const row = relay.accounts.publicById(accountId);
  if (!row) throw make('unknown account');
  try {
    const bundle = await verifyKeyBundle(new Uint8Array(row.key_bundle), accountId as AccountId);
    return bundle.identityPublicKey;
  } catch (e) {
    if (e instanceof CarnetError) throw make(`the key bundle of ${accountId} is not valid`);
    throw e;
  }
}

/**
 * The grant if the caller is its agent, it has `rights` and it is active now; otherwise
 * `404`. Call inside the transaction of the read it guards.
 */
export function activeGrant(
  relay: Relay,
  grantId: string,
  me: string,
  rights: GrantRow['rights'],
): GrantRow {
  const g = relay.grants.get(grantId);
  if (!g || g.agent_id !== me || g.rights !== rights || grantStatus(g, relay.now()) !== 'active') {
    throw notFound('no such grant');
  }
  return g;
}

/**
 * The grant's scope within `folderId` (see `GrantStore.folderScope`), if the folder still
 * exists and still belongs to the grant's practitioner; otherwise `404`.
 */
function scopeIn(relay: Relay, g: GrantRow, folderId: string) {
  const scope = relay.grants.folderScope(g.grant_id, folderId);
  const head = relay.folders.head(folderId);
  if (scope === undefined || !head || head.owner_id !== g.practitioner_id) {
    throw notFound('no such folder');
  }
  return { scope, head };
}

const viewedBody = z.strictObject({ event: bytes(LIMITS.signed) });

/** Sub-app factory for the agent's routes, mounted at `/grants/:grantId` (session checked). */
export function grantAccessRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  /** Runs `read` inside one transaction with the grant check and a `grant.read` event. */
  const audited = <T>(
    grantId: string,
    me: string,
    read: (g: GrantRow) => { out: T; event: Omit<AuditInput, 'type' | 'at' | 'chainId'> },
  ): T =>
    relay.db.transaction(() => {
      const g = activeGrant(relay, grantId, me, 'read');
      const { out, event } = read(g);
      const folderId = event.folderId!;
      appendAudit(relay.db, {
        ...event,
        chainId: folderId,
        type: 'grant.read',
        at: relay.now(),
        actorId: me,
        grantId,
      });
      return out;
    })();

  const params = (c: { req: { param: (k: string) => string | undefined } }) => ({
    grantId: pathId(c.req.param('grantId'), 'grantId'),
    folderId: pathId(c.req.param('folderId'), 'folderId'),
  });

  app.get('/keys', (c) => {
    const me = c.var.session.accountId;
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    const out = relay.db.transaction(() => {
      const g = activeGrant(relay, grantId, me, 'read');
      const at = relay.now();
      for (const folderId of grantChains(g, relay.grants.scope(grantId))) {
        appendAudit(relay.db, {
          chainId: folderId,
          type: 'grant.keys',
          at,
          actorId: me,
          folderId,
          grantId,
        });
      }
      return {
        privateWrap: b64(g.private_wrap),
        keyWraps: relay.grants.wraps(grantId).map((w) => ({
          folderId: w.folder_id,
          recordId: w.record_id === '' ? null : w.record_id,
          version: w.version === 0 ? null : w.version,
          epoch: w.epoch,
          wrap: b64(w.wrap),
        })),
      };
    })();
    return c.json(out);
  });

  app.get('/folders/:folderId', (c) => {
    const { grantId, folderId } = params(c);
    const out = audited(grantId, c.var.session.accountId, (g) => {
      const { scope, head } = scopeIn(relay, g, folderId);
      const m = relay.folders.manifestsAfter(folderId, head.seq - 1)[0];
      if (!m) throw notFound('no such folder');
      const profile = scope === 'folder' ? relay.grants.profile(folderId) : null;
      return {
        event: { folderId },
        out: {
          folderId,
          ownerId: head.owner_id,
          epoch: head.epoch,
          manifest: { seq: m.seq, epoch: m.epoch, data: b64(m.data) },
          lineage: relay.grants
            .lineage(folderId)
            .map((l) => ({ epoch: l.epoch, data: b64(l.data) })),
          profile: profile ? { version: profile.version, data: b64(profile.data) } : null,
        },
      };
    });
    return c.json(out);
  });

  app.get('/folders/:folderId/manifests', (c) => {
    const { grantId, folderId } = params(c);
    const raw = c.req.query('after') ?? '0';
    if (!/^\d{1,15}$/.test(raw)) throw badRequest('malformed after');
    const manifests = audited(grantId, c.var.session.accountId, (g) => {
      scopeIn(relay, g, folderId);
      const rows = relay.folders.manifestsAfter(folderId, Number(raw));
      return {
        event: { folderId },
        out: rows.map((m) => ({ seq: m.seq, epoch: m.epoch, data: b64(m.data) })),
      };
    });
    return c.json({ manifests });
  });

  app.get('/folders/:folderId/records', (c) => {
    const { grantId, folderId } = params(c);
    const records = audited(grantId, c.var.session.accountId, (g) => {
      const { scope } = scopeIn(relay, g, folderId);
      let rows = relay.records.listing(folderId);
      if (scope !== 'folder') rows = rows.filter((r) => scope.has(r.record_id));
      return { event: { folderId }, out: listingJson(rows) };
    });
    return c.json({ records });
  });

  app.get('/folders/:folderId/records/:recordId', (c) => {
    const { grantId, folderId } = params(c);
    const recordId = pathId(c.req.param('recordId'), 'recordId');
    const versions = audited(grantId, c.var.session.accountId, (g) => {
      const { scope } = scopeIn(relay, g, folderId);
      if (scope !== 'folder' && !scope.has(recordId)) throw notFound('no such record');
      const rows = relay.records.history(folderId, recordId);
      if (rows.length === 0) throw notFound('no such record');
      return { event: { folderId, recordId }, out: rows.map(versionJson) };
    });
    return c.json({ recordId, versions });
  });

  app.get('/blobs/:blobId', async (c) => {
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    const blobId = pathId(c.req.param('blobId'), 'blobId');
    const blob = audited(grantId, c.var.session.accountId, (g) => {
      const row = relay.blobs.get(blobId);
      if (!row || row.folder_id === null) throw notFound('no such blob');
      const { scope } = scopeIn(relay, g, row.folder_id);
      // The version(s) carrying the blob: with a record scope, one of them must be in scope.
      const carriers = relay.grants
        .blobVersions(row.folder_id, blobId)
        .filter((v) => scope === 'folder' || scope.has(v.record_id));
      const first = carriers[0];
      if (!first) throw notFound('no such blob');
      // A 416 is answered (and rolls back) before the read is logged: no byte leaves.
      const range = requestedRange(c, row.size);
      return {
        event: {
          folderId: row.folder_id,
          recordId: first.record_id,
          version: first.version,
          blobId,
        },
        out: { row, range },
      };
    });
    return sendBlob(c, relay, blob.row, blob.range);
  });

  app.post('/viewed', async (c) => {
    const me = c.var.session.accountId;
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    // Who may post is checked before the body is read or a signature verified.
    relay.db.transaction(() => activeGrant(relay, grantId, me, 'read'))();
    const b = await readJson(c, viewedBody, relay.config.jsonBodyLimit);
    const pub = await identityKeyOf(relay, me);
    const f = await coreCheck('event', () => verifyClientAuditEvent(pub, plain(b.event)));
    if (f.action !== 'viewed') throw invalid('event: the action must be viewed');
    if (f.actorId !== me) throw invalid('event: the actor must be the caller');
    if (f.grantId !== grantId) throw invalid('event: the grant must be this grant');
    relay.db.transaction(() => {
      const g = activeGrant(relay, grantId, me, 'read');
      const { scope } = scopeIn(relay, g, f.folderId);
      if (f.recordId !== null && scope !== 'folder' && !scope.has(f.recordId)) {
        throw notFound('no such record');
      }
      appendAudit(relay.db, {
        chainId: f.folderId,
        type: 'viewed',
        at: relay.now(),
        actorId: me,
        folderId: f.folderId,
        recordId: f.recordId,
        version: f.version === 0 ? null : f.version,
        grantId,
        signed: b.event,
      });
    })();
    return c.body(null, 204);
  });

  return app;
}

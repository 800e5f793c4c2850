/**
 * Records and their versions, mounted under `/folders/:folderId/records` (the parent app has
 * authenticated the caller). A new version must be exactly latest + 1: of two concurrent
 * editors one wins and the other gets 409, and no version is ever overwritten.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { readJson } from '../http/body';
import { conflict, notFound } from '../http/errors';
import { b64, bytes, id, LIMITS, pathId, pathInt, positiveInt } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit } from '../store/audit';
import type { ListingRow, VersionRow } from '../store/records';
import { READERS, requireRole, WRITERS } from './access';

const versionBody = z.strictObject({
  version: positiveInt,
  epoch: positiveInt,
  header: bytes(LIMITS.header),
  signed: bytes(LIMITS.signed),
  dataKey: bytes(LIMITS.dataKey),
  blobId: id.nullable().optional(),
});

/** JSON form of a full version. */
export const versionJson = (v: VersionRow) => ({
  version: v.version,
  epoch: v.epoch,
  createdAt: v.created_at,
  header: b64(v.header),
  signed: b64(v.signed),
  dataKey: b64(v.data_key),
  blobId: v.blob_id,
});

/** Groups listing rows (ordered by record, version) into one entry per record. */
export function listingJson(rows: ListingRow[]) {
  type Entry = {
    recordId: string;
    latest: ReturnType<typeof versionJson> | null;
    versions: { version: number; epoch: number; createdAt: number; signed: string }[];
  };
  const out: Entry[] = [];
  let cur: Entry | undefined;
  for (const r of rows) {
    if (cur?.recordId !== r.record_id) {
      cur = { recordId: r.record_id, latest: null, versions: [] };
      out.push(cur);
    }
    cur.versions.push({
      version: r.version,
      epoch: r.epoch,
      createdAt: r.created_at,
      signed: b64(r.signed),
    });
    if (r.is_latest) {
      cur.latest = versionJson({ ...r, header: r.header!, data_key: r.data_key! });
    }
  }
  return out;
}

/** Sub-app factory for `/folders/:folderId/records`. */
export function recordRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;

  /** Audit: record data keys served to a member (the whole listing, or one record). */
  const audited = <T>(
    me: string,
    folderId: string,
    read: () => T,
    recordId?: string,
    version?: number,
  ): T =>
    relay.db.transaction(() => {
      const out = read();
      appendAudit(relay.db, {
        chainId: folderId,
        type: 'keys.records',
        at: relay.now(),
        actorId: me,
        folderId,
        recordId: recordId ?? null,
        version: version ?? null,
      });
      return out;
    })();

  app.get('/', (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, me, READERS);
    return c.json({
      records: audited(me, folderId, () => listingJson(relay.records.listing(folderId))),
    });
  });

  app.get('/:recordId', (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const recordId = pathId(c.req.param('recordId'), 'recordId');
    const me = c.var.session.accountId;
    requireRole(relay, folderId, me, READERS);
    const versions = relay.records.history(folderId, recordId);
    if (versions.length === 0) throw notFound('no such record');
    return c.json({
      recordId,
      versions: audited(me, folderId, () => versions.map(versionJson), recordId),
    });
  });

  app.get('/:recordId/versions/:version', (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const recordId = pathId(c.req.param('recordId'), 'recordId');
    const version = pathInt(c.req.param('version'), 'version');
    const me = c.var.session.accountId;
    requireRole(relay, folderId, me, READERS);
    const v = relay.records.version(folderId, recordId, version);
    if (!v) throw notFound('no such version');
    return c.json(audited(me, folderId, () => versionJson(v), recordId, version));
  });

  app.post('/:recordId/versions', async (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const recordId = pathId(c.req.param('recordId'), 'recordId');
    requireRole(relay, folderId, me, WRITERS);
    const b = await readJson(c, versionBody, limit);
    const blobId = b.blobId ?? null;
    const row = relay.db.transaction(() => {
      // Re-checked inside the transaction: the role may have changed while the body streamed.
      requireRole(relay, folderId, me, WRITERS);
      const head = relay.folders.head(folderId);
      if (!head) throw notFound('no such folder');
      const latest = relay.records.latest(folderId, recordId);
      if (b.version !== latest + 1) {
        throw conflict(`version must be ${latest + 1} (latest is ${latest})`);
      }
      if (b.epoch !== head.epoch) throw conflict(`epoch must be ${head.epoch}`);
      if (blobId !== null) attachBlob(relay, blobId, folderId, me);
      const now = relay.now();
      relay.records.insert({ ...b, folderId, recordId, blobId, now });
      appendAudit(relay.db, {
        chainId: folderId,
        type: 'record.written',
        at: now,
        actorId: me,
        folderId,
        recordId,
        version: b.version,
        blobId,
      });
      return relay.records.version(folderId, recordId, b.version)!;
    })();
    return c.json(versionJson(row), 201);
  });

  return app;
}

/**
 * Attaches a blob to the folder: it must be the caller's own unattached upload, or already
 * belong to this folder. Anything else is 404: another account's blob is invisible.
 */
function attachBlob(relay: Relay, blobId: string, folderId: string, me: string): void {
  const blob = relay.blobs.get(blobId);
  if (blob?.folder_id === folderId) return;
  if (!blob || blob.folder_id !== null || blob.account_id !== me) throw notFound('no such blob');
  // A blob staged in an import item belongs to the import, not to its uploader.
  if (relay.imports.blobUsed(blobId)) throw notFound('no such blob');
  relay.blobs.attach(blobId, folderId);
}

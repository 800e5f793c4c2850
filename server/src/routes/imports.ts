/**
 * Staged imports. The support agent, under an active import grant, opens a batch and adds
 * signed items (key wrapped to the practitioner, sealed header, optional blob it uploaded):
 * `grantImportRoutes`, mounted at `/grants/:grantId/imports`. It reads nothing back — not
 * even its own blobs, which belong to the import from then on. The practitioner lists,
 * downloads and removes (after adoption, or to reject): `importRoutes`, at `/imports`.
 */
import { verifyImportItem, type AccountId, type FolderId, type GrantId } from '@carnet/shared/core';
import { Hono } from 'hono';
import { z } from 'zod';
import { requireSession } from '../http/auth';
import { readJson } from '../http/body';
import { conflict, notFound } from '../http/errors';
import { b64, bytes, id, LIMITS, pathId, pathInt } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit } from '../store/audit';
import type { ImportItemRow, ImportRow } from '../store/imports';
import { OWNER, requireRole } from './access';
import { requestedRange, sendBlob } from './blobs';
import { activeGrant, coreCheck, identityKeyOf, plain } from './grant-access';

/** Item numbers are u32 in the signed item. */
const itemNumber = z.int().min(1).max(0xffff_ffff);

const createBody = z.strictObject({ importId: id });

const itemBody = z.strictObject({
  item: itemNumber,
  signed: bytes(LIMITS.signed),
  keyWrap: bytes(LIMITS.wrap),
  header: bytes(LIMITS.header),
  blobId: id.nullable().optional(),
});

const importJson = (i: ImportRow) => ({
  importId: i.import_id,
  grantId: i.grant_id,
  createdAt: i.created_at,
});

const itemJson = (i: ImportItemRow) => ({
  item: i.item,
  signed: b64(i.signed),
  keyWrap: b64(i.key_wrap),
  header: b64(i.header),
  blobId: i.blob_id,
  size: i.size,
  createdAt: i.created_at,
});

/** Sub-app factory for the agent's `/grants/:grantId/imports` (session checked by the parent). */
export function grantImportRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;

  app.post('/', async (c) => {
    const me = c.var.session.accountId;
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    relay.db.transaction(() => activeGrant(relay, grantId, me, 'import'))();
    const b = await readJson(c, createBody, limit);
    const out = relay.db.transaction(() => {
      const g = activeGrant(relay, grantId, me, 'import');
      const existing = relay.imports.get(b.importId);
      // Opening the same batch again (a retry, a resumed stage) is harmless.
      if (existing?.grant_id === grantId) return { row: existing, created: false };
      if (existing || relay.folders.exists(b.importId)) throw conflict('importId already taken');
      const now = relay.now();
      relay.imports.create({
        importId: b.importId,
        grantId,
        agentId: me,
        practitionerId: g.practitioner_id,
        now,
      });
      appendAudit(relay.db, {
        chainId: g.practitioner_id,
        type: 'import.staged',
        at: now,
        actorId: me,
        folderId: b.importId,
        grantId,
        subjectId: me,
      });
      return { row: relay.imports.get(b.importId)!, created: true };
    })();
    return c.json(importJson(out.row), out.created ? 201 : 200);
  });

  app.post('/:importId/items', async (c) => {
    const me = c.var.session.accountId;
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    const importId = pathId(c.req.param('importId'), 'importId');
    const owner = relay.db.transaction(() => {
      const g = activeGrant(relay, grantId, me, 'import');
      if (relay.imports.get(importId)?.grant_id !== grantId) throw notFound('no such import');
      return g.practitioner_id;
    })();
    const b = await readJson(c, itemBody, limit);
    const pub = await identityKeyOf(relay, me);
    await coreCheck('signed', () =>
      verifyImportItem(pub, plain(b.signed), {
        grantId: grantId as GrantId,
        importId: importId as FolderId,
        item: b.item,
        practitionerId: owner as AccountId,
        agentId: me as AccountId,
        header: plain(b.header),
        keyWrap: plain(b.keyWrap),
      }),
    );
    const blobId = b.blobId ?? null;
    const createdAt = relay.db.transaction(() => {
      // Again inside the write: the grant may have been revoked, the import removed.
      activeGrant(relay, grantId, me, 'import');
      if (relay.imports.get(importId)?.grant_id !== grantId) throw notFound('no such import');
      if (relay.imports.itemExists(importId, b.item)) throw conflict('item number taken');
      if (blobId !== null) {
        const blob = relay.blobs.get(blobId);
        const mine = blob?.account_id === me && blob.folder_id === null;
        if (!mine || relay.imports.blobUsed(blobId)) throw notFound('no such blob');
      }
      const now = relay.now();
      relay.imports.addItem({ ...b, importId, blobId, now });
      return now;
    })();
    return c.json({ importId, item: b.item, createdAt }, 201);
  });

  return app;
}

/** Sub-app factory for the practitioner's `/imports`. */
export function importRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requireSession(relay));

  /** The import if the caller is its practitioner; else `404`. */
  const mine = (importId: string, me: string): ImportRow => {
    const i = relay.imports.get(importId);
    if (!i || i.practitioner_id !== me) throw notFound('no such import');
    return i;
  };

  app.get('/', (c) => {
    const { imports, items } = relay.imports.listFor(c.var.session.accountId);
    const byImport = new Map<string, ReturnType<typeof itemJson>[]>();
    for (const it of items) {
      const list = byImport.get(it.import_id);
      if (list) list.push(itemJson(it));
      else byImport.set(it.import_id, [itemJson(it)]);
    }
    return c.json({
      imports: imports.map((i) => ({
        ...importJson(i),
        agentId: i.agent_id,
        grant: b64(i.grant_data),
        items: byImport.get(i.import_id) ?? [],
      })),
    });
  });

  app.get('/:importId/items/:item/blob', async (c) => {
    const importId = pathId(c.req.param('importId'), 'importId');
    const item = pathInt(c.req.param('item'), 'item');
    mine(importId, c.var.session.accountId);
    const row = relay.imports.item(importId, item);
    const blob = row?.blob_id ? relay.blobs.get(row.blob_id) : undefined;
    if (!blob) throw notFound('no such blob');
    return sendBlob(c, relay, blob, requestedRange(c, blob.size));
  });

  app.delete('/:importId', async (c) => {
    const me = c.var.session.accountId;
    const importId = pathId(c.req.param('importId'), 'importId');
    const adopted = c.req.query('adopted');
    if (adopted !== undefined) pathId(adopted, 'adopted');
    const blobIds = relay.db.transaction(() => {
      const imp = mine(importId, me);
      if (adopted !== undefined) requireRole(relay, adopted, me, OWNER);
      const removed = relay.imports.delete(importId);
      const at = relay.now();
      const event = { at, actorId: me, grantId: imp.grant_id, subjectId: imp.agent_id };
      if (adopted === undefined) {
        appendAudit(relay.db, {
          ...event,
          chainId: me,
          type: 'import.removed',
          folderId: importId,
        });
      } else {
        // In the practitioner's chain and in the adopted folder's, so that the folder's own
        // history says where its first records came from.
        for (const chainId of [me, adopted]) {
          appendAudit(relay.db, { ...event, chainId, type: 'import.adopted', folderId: adopted });
        }
      }
      return removed;
    })();
    for (const blobId of blobIds) await relay.files.remove(blobId);
    return c.body(null, 204);
  });

  return app;
}

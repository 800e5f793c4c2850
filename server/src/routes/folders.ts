/**
 * Folders: create, list, read, manifest history, manifest update (compare-and-swap on seq,
 * with rotation to a new epoch in the same transaction), profile (compare-and-swap on its
 * version) and deletion.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { requireSession } from '../http/auth';
import { readJson } from '../http/body';
import { badRequest, conflict, invalid, notFound } from '../http/errors';
import {
  b64,
  bytes,
  id,
  ID_RE,
  LIMITS,
  nonNegativeInt,
  pathId,
  positiveInt,
} from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit, auditMembers } from '../store/audit';
import { completeDeletion, deletionStore, folderGone } from '../store/deletion';
import type { FolderPage } from '../store/folders';
import { OWNER, READERS, requireRole, WRITERS } from './access';
import { folderInviteRoutes } from './invites';
import {
  checkMembers,
  checkWraps,
  diffMembers,
  membersSchema,
  requireWraps,
  wrapsSchema,
} from './membership';
import { recordRoutes } from './records';

const createBody = z.strictObject({
  folderId: id,
  seq: positiveInt,
  epoch: positiveInt,
  manifest: bytes(LIMITS.manifest),
  members: membersSchema,
  wraps: wrapsSchema,
  profile: bytes(LIMITS.profile).optional(),
});

/** Body of a manifest update. */
export const manifestBody = z.strictObject({
  expectedSeq: positiveInt,
  seq: positiveInt,
  epoch: positiveInt,
  manifest: bytes(LIMITS.manifest),
  members: membersSchema,
  wraps: wrapsSchema,
  lineage: bytes(LIMITS.lineage).optional(),
});

const profileBody = z.strictObject({
  expectedVersion: nonNegativeInt,
  data: bytes(LIMITS.profile),
});

/** Groups rows of a page by folder id. */
function byFolder<T extends { folder_id: string }>(rows: T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const list = m.get(r.folder_id);
    if (list) list.push(r);
    else m.set(r.folder_id, [r]);
  }
  return m;
}

/** The JSON form of a page of folders (see `Folder` in docs/api.md). */
export function folderViews(page: FolderPage) {
  const manifests = new Map(page.manifests.map((r) => [r.folder_id, r]));
  const members = byFolder(page.members);
  const wraps = byFolder(page.wraps);
  const lineage = byFolder(page.lineage);
  return page.folders.map((f) => {
    const base = { folderId: f.folder_id, ownerId: f.owner_id };
    if (f.role === 'pending') return { ...base, status: 'pending' as const, role: 'pending' };
    const m = manifests.get(f.folder_id);
    const isOwner = f.role === 'owner';
    return {
      ...base,
      status: 'member' as const,
      role: f.role,
      epoch: f.epoch,
      manifest: m ? { seq: m.seq, epoch: m.epoch, data: b64(m.data) } : null,
      members: (members.get(f.folder_id) ?? [])
        .filter((x) => isOwner || x.role !== 'pending')
        .map((x) => ({ accountId: x.account_id, role: x.role })),
      wraps: (wraps.get(f.folder_id) ?? []).map((w) => ({ epoch: w.epoch, wrap: b64(w.wrap) })),
      lineage: (lineage.get(f.folder_id) ?? []).map((l) => ({ epoch: l.epoch, data: b64(l.data) })),
      profile: f.profile ? { version: f.profile_version, data: b64(f.profile) } : null,
    };
  });
}

/** Audit: a member fetched the folder with its key wraps. */
function auditKeyFetch(relay: Relay, folderId: string, me: string): void {
  appendAudit(relay.db, {
    chainId: folderId,
    type: 'keys.folder',
    at: relay.now(),
    actorId: me,
    folderId,
  });
}

/** A manifest update, as `PUT /folders/:id/manifest` and `POST /rotations` take it. */
export type ManifestUpdate = z.output<typeof manifestBody>;

/** The checks of a manifest update that need no transaction: seq step, members, wraps. */
export function checkManifestUpdate(relay: Relay, me: string, b: ManifestUpdate): void {
  if (b.seq !== b.expectedSeq + 1) throw invalid('seq must be expectedSeq + 1');
  checkMembers(relay, me, b.members);
  checkWraps(b.members, b.wraps, b.epoch);
}

/**
 * Compare-and-swap on seq, the epoch, lineage and member rules, then the write with its
 * membership audit events. Call inside a transaction (after {@link checkManifestUpdate}).
 */
export function applyManifestUpdate(
  relay: Relay,
  folderId: string,
  me: string,
  b: ManifestUpdate,
): void {
  const head = relay.folders.head(folderId);
  if (!head || head.owner_id !== me) throw notFound('no such folder');
  if (head.seq !== b.expectedSeq) {
    throw conflict(`expected seq ${b.expectedSeq}, current is ${head.seq}`);
  }
  const diff = diffMembers(relay.folders.members(folderId), b.members);
  const rotating = b.epoch === head.epoch + 1;
  if (!rotating && b.epoch !== head.epoch) throw invalid('epoch must stay or grow by one');
  if (rotating !== (b.lineage !== undefined)) {
    throw invalid('lineage is required with a new epoch, and only then');
  }
  if (!rotating && diff.removed.length > 0) {
    throw invalid('removing a member requires a new epoch');
  }
  if (rotating) {
    requireWraps(
      b.members.map((m) => m.accountId),
      b.wraps,
      b.epoch,
    );
  } else {
    requireWraps(diff.added, b.wraps, b.epoch, (a) => relay.folders.hasWrap(folderId, a, b.epoch));
  }
  relay.folders.applyManifest({
    folderId,
    seq: b.seq,
    epoch: b.epoch,
    manifest: b.manifest,
    members: b.members,
    removed: diff.removed,
    promoted: diff.promoted,
    wraps: b.wraps,
    lineage: b.lineage,
    now: relay.now(),
  });
  auditMembers(relay.db, folderId, me, relay.now(), 'member.added', diff.added);
  auditMembers(relay.db, folderId, me, relay.now(), 'member.removed', diff.removed);
}

/** Sub-app factory for `/folders` (records and invites are mounted next to it). */
export function folderRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;
  app.use('*', requireSession(relay));

  const view = (folderId: string, accountId: string) => {
    const v = folderViews(relay.folders.page(accountId, { folderId }))[0];
    // A former member of a deleted folder learns that it was deleted, and when (410).
    if (!v) throw folderGone(relay.db, folderId, accountId);
    return v;
  };

  app.post('/', async (c) => {
    const me = c.var.session.accountId;
    const b = await readJson(c, createBody, limit);
    checkMembers(relay, me, b.members);
    checkWraps(b.members, b.wraps, b.epoch);
    requireWraps(
      b.members.map((m) => m.accountId),
      b.wraps,
      b.epoch,
    );
    relay.db.transaction(() => {
      if (relay.folders.exists(b.folderId)) throw conflict('folderId already taken');
      const now = relay.now();
      relay.folders.create({ ...b, ownerId: me, now });
      appendAudit(relay.db, {
        chainId: b.folderId,
        type: 'folder.created',
        at: now,
        actorId: me,
        folderId: b.folderId,
      });
      auditMembers(
        relay.db,
        b.folderId,
        me,
        now,
        'member.added',
        b.members.filter((m) => m.accountId !== me).map((m) => m.accountId),
      );
    })();
    return c.json(view(b.folderId, me), 201);
  });

  app.get('/', (c) => {
    const after = c.req.query('after') ?? '';
    if (after !== '' && !ID_RE.test(after)) throw badRequest('malformed after');
    const rawLimit = c.req.query('limit') ?? '500';
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 2000) {
      throw badRequest('limit must be 1 to 2000');
    }
    const n = Number(rawLimit);
    const me = c.var.session.accountId;
    // The page and its `keys.folder` events in one transaction: one commit for the whole page.
    const folders = relay.db.transaction(() => {
      const views = folderViews(relay.folders.page(me, { after, limit: n }));
      for (const v of views) if (v.status === 'member') auditKeyFetch(relay, v.folderId, me);
      return views;
    })();
    const next = folders.length === n ? (folders.at(-1)?.folderId ?? null) : null;
    const deleted = deletionStore(relay.db).tombstones(me);
    return c.json({ folders, next, deleted });
  });

  app.get('/:folderId', (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const v = relay.db.transaction(() => {
      const v = view(folderId, me);
      if (v.status === 'member') auditKeyFetch(relay, folderId, me);
      return v;
    })();
    return c.json(v);
  });

  app.get('/:folderId/manifests', (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, c.var.session.accountId, READERS);
    const raw = c.req.query('after') ?? '0';
    if (!/^\d{1,15}$/.test(raw)) throw badRequest('malformed after');
    const manifests = relay.folders
      .manifestsAfter(folderId, Number(raw))
      .map((m) => ({ seq: m.seq, epoch: m.epoch, data: b64(m.data) }));
    return c.json({ manifests });
  });

  app.put('/:folderId/manifest', async (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, me, OWNER);
    const b = await readJson(c, manifestBody, limit);
    checkManifestUpdate(relay, me, b);
    // Everything from here to the write is one transaction: the CAS check cannot go stale.
    relay.db.transaction(() => applyManifestUpdate(relay, folderId, me, b))();
    return c.json(view(folderId, me));
  });

  app.put('/:folderId/profile', async (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, c.var.session.accountId, WRITERS);
    const b = await readJson(c, profileBody, limit);
    if (!relay.folders.setProfile(folderId, b.expectedVersion, b.data)) {
      throw conflict('profile version changed');
    }
    return c.json({ version: b.expectedVersion + 1 });
  });

  app.delete('/:folderId', async (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const at = relay.now();
    // The owner check and the deletion in one transaction (docs/deletion-and-operations.md).
    const outcome = relay.db.transaction(() => {
      requireRole(relay, folderId, me, OWNER);
      return deletionStore(relay.db).deleteFolder(folderId, me, at);
    })();
    const receipt = await completeDeletion(relay, outcome, {
      subject: 'folder',
      subjectId: folderId,
      requestedBy: me,
      at,
    });
    return c.json({ receipt: b64(receipt) });
  });

  app.route('/:folderId/records', recordRoutes(relay));
  app.route('/:folderId/invites', folderInviteRoutes(relay));
  return app;
}

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

const manifestBody = z.strictObject({
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

/** Sub-app factory for `/folders` (records and invites are mounted next to it). */
export function folderRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;
  app.use('*', requireSession(relay));

  const view = (folderId: string, accountId: string) => {
    const v = folderViews(relay.folders.page(accountId, { folderId }))[0];
    if (!v) throw notFound('no such folder');
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
      relay.folders.create({ ...b, ownerId: me, now: relay.now() });
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
    const folders = folderViews(relay.folders.page(c.var.session.accountId, { after, limit: n }));
    const next = folders.length === n ? (folders.at(-1)?.folderId ?? null) : null;
    return c.json({ folders, next });
  });

  app.get('/:folderId', (c) => {
    return c.json(view(pathId(c.req.param('folderId'), 'folderId'), c.var.session.accountId));
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
    if (b.seq !== b.expectedSeq + 1) throw invalid('seq must be expectedSeq + 1');
    checkMembers(relay, me, b.members);
    checkWraps(b.members, b.wraps, b.epoch);
    // Everything from here to the write is one transaction: the CAS check cannot go stale.
    relay.db.transaction(() => {
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
        requireWraps(diff.added, b.wraps, b.epoch, (a) =>
          relay.folders.hasWrap(folderId, a, b.epoch),
        );
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
    })();
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
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, c.var.session.accountId, OWNER);
    const blobIds = relay.folders.delete(folderId);
    for (const blobId of blobIds) await relay.files.remove(blobId);
    return c.body(null, 204);
  });

  app.route('/:folderId/records', recordRoutes(relay));
  app.route('/:folderId/invites', folderInviteRoutes(relay));
  return app;
}

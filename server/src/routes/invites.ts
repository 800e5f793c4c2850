/**
 * Invites. The owner creates one under `/folders/:folderId/invites` with a lookup id derived
 * from a secret the relay never sees; the invitee fetches it under `/invites/:lookupId`,
 * accepts it once, and waits as a *pending* member until the owner verifies the response and
 * publishes a manifest naming them. Used, expired and unknown invites are all 404.
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import { requireSession, sha256 } from '../http/auth';
import { readJson } from '../http/body';
import { conflict, invalid, notFound } from '../http/errors';
import { b64, bytes, id, LIMITS, pathId, positiveInt } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit, auditMembers } from '../store/audit';
import type { InviteRow } from '../store/invites';
import { OWNER, requireRole } from './access';

const createBody = z.strictObject({
  lookupId: id,
  sealedKey: bytes(LIMITS.sealedKey),
  expiresAt: positiveInt,
  role: z.enum(['editor', 'reader']),
});

const acceptBody = z.strictObject({ response: bytes(LIMITS.inviteResponse) });

/** The relay keeps only a hash of the lookup id. */
const lookupHash = (lookupId: string): Buffer => sha256(`carnet invite lookup\0${lookupId}`);

const inviteJson = (i: InviteRow) => ({
  inviteId: i.invite_id,
  role: i.role,
  createdAt: i.created_at,
  expiresAt: i.expires_at,
  status: i.accepted_at === null ? ('open' as const) : ('accepted' as const),
  inviteeId: i.invitee_id,
  acceptedAt: i.accepted_at,
  response: i.response ? b64(i.response) : null,
});

/** Sub-app factory for `/folders/:folderId/invites` (authenticated by the parent). */
export function folderInviteRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;

  app.post('/', async (c) => {
    const me = c.var.session.accountId;
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, me, OWNER);
    const b = await readJson(c, createBody, limit);
    const now = relay.now();
    if (b.expiresAt <= now || b.expiresAt > now + relay.config.maxInviteTtlMs) {
      throw invalid('expiresAt must be in the future and within the maximum invite lifetime');
    }
    const hash = lookupHash(b.lookupId);
    const inviteId = randomBytes(16).toString('base64url');
    relay.db.transaction(() => {
      if (relay.invites.lookupTaken(hash)) throw conflict('lookupId already used');
      relay.invites.insert({ ...b, inviteId, lookupHash: hash, folderId, inviterId: me, now });
      appendAudit(relay.db, {
        chainId: folderId,
        type: 'invite.created',
        at: now,
        actorId: me,
        folderId,
      });
    })();
    return c.json({ inviteId, expiresAt: b.expiresAt }, 201);
  });

  app.get('/', (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    requireRole(relay, folderId, c.var.session.accountId, OWNER);
    return c.json({ invites: relay.invites.byFolder(folderId).map(inviteJson) });
  });

  app.delete('/:inviteId', (c) => {
    const folderId = pathId(c.req.param('folderId'), 'folderId');
    const inviteId = pathId(c.req.param('inviteId'), 'inviteId');
    const me = c.var.session.accountId;
    requireRole(relay, folderId, me, OWNER);
    relay.db.transaction(() => {
      // Read first for the audit: the invitee (if it had accepted) is the event's subject.
      const inv = relay.invites.byFolder(folderId).find((i) => i.invite_id === inviteId);
      if (!inv || !relay.invites.revoke(folderId, inviteId)) throw notFound('no such invite');
      const e = { type: 'invite.revoked' as const, at: relay.now(), actorId: me, folderId };
      appendAudit(relay.db, { chainId: folderId, ...e, subjectId: inv.invitee_id });
      if (inv.invitee_id)
        appendAudit(relay.db, { chainId: inv.invitee_id, ...e, subjectId: inv.invitee_id });
    })();
    return c.body(null, 204);
  });

  return app;
}

/** Sub-app factory for `/invites` (any authenticated account holding a lookup id). */
export function inviteRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;
  app.use('*', requireSession(relay));

  app.get('/:lookupId', (c) => {
    const lookupId = pathId(c.req.param('lookupId'), 'lookupId');
    const inv = relay.invites.open(lookupHash(lookupId), relay.now());
    if (!inv) throw notFound('no such invite');
    return c.json({
      folderId: inv.folder_id,
      inviterId: inv.inviter_id,
      sealedKey: b64(inv.sealed_key),
      expiresAt: inv.expires_at,
      role: inv.role,
    });
  });

  app.post('/:lookupId/accept', async (c) => {
    const lookupId = pathId(c.req.param('lookupId'), 'lookupId');
    const b = await readJson(c, acceptBody, limit);
    const me = c.var.session.accountId;
    const r = relay.db.transaction(() => {
      const now = relay.now();
      const r = relay.invites.accept(lookupHash(lookupId), me, b.response, now);
      if (r.ok) auditMembers(relay.db, r.folderId, me, now, 'member.pending', [me]);
      return r;
    })();
    if (!r.ok && r.why === 'member') throw conflict('already a member of this folder');
    if (!r.ok) throw notFound('no such invite');
    return c.json({ folderId: r.folderId });
  });

  return app;
}

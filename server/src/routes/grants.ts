/**
 * Support grants: creation by a practitioner (signed grant, key wraps checked against the
 * folders and records in scope), listing by either party, revocation, and the agent's own
 * routes (`grant-access.ts`, imports in `imports.ts`) mounted under `/grants/:grantId`.
 *
 * The relay enforces the grant's window and revocation on every request; the agent's client
 * verifies the grant itself as well, so a relay that kept serving an ended grant would still
 * be refused by the client (docs/api-grants.md).
 */
import { inspectGrant, verifyGrantSignature, type GrantFields } from '@carnet/shared/core';
import { Hono } from 'hono';
import { z } from 'zod';
import { requireSession } from '../http/auth';
import { readJson } from '../http/body';
import { conflict, invalid, notFound } from '../http/errors';
import { b64, bytes, id, LIMITS, pathId, positiveInt } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { appendAudit } from '../store/audit';
import { grantChains, grantStatus, type GrantRow, type KeyWrapInfo } from '../store/grants';
import { OWNER, requireRole } from './access';
import { coreCheck, grantAccessRoutes, identityKeyOf, plain } from './grant-access';
import { grantImportRoutes } from './imports';

/** Largest signed grant: a record scope of about 8,000 records. */
const GRANT_MAX = 256 * 1024;
/** Most key wraps in one grant. */
const MAX_KEY_WRAPS = 20_000;

const keyWrap = z.strictObject({
  folderId: id,
  recordId: id.nullable().optional(),
  version: positiveInt.nullable().optional(),
  epoch: positiveInt,
  wrap: bytes(LIMITS.wrap),
});

const createBody = z.strictObject({
  grant: bytes(GRANT_MAX),
  privateWrap: bytes(LIMITS.wrap),
  keyWraps: z.array(keyWrap).max(MAX_KEY_WRAPS),
});

type KeyWrapIn = z.output<typeof keyWrap>;

/** The JSON `GrantEntry` of a grant (key wraps without their bytes). */
export function grantEntry(g: GrantRow, wraps: KeyWrapInfo[], now: number) {
  return {
    grantId: g.grant_id,
    practitionerId: g.practitioner_id,
    agentId: g.agent_id,
    rights: g.rights,
    notBefore: g.not_before,
    expiresAt: g.expires_at,
    createdAt: g.created_at,
    revokedAt: g.revoked_at,
    status: grantStatus(g, now),
    grant: b64(g.data),
    keyWraps: wraps.map((w) => ({
      folderId: w.folder_id,
      recordId: w.record_id === '' ? null : w.record_id,
      version: w.version === 0 ? null : w.version,
      epoch: w.epoch,
    })),
  };
}

/** Scope rows of a grant's fields (`record_id` `''` for a whole folder). */
function scopeRows(f: GrantFields): { folderId: string; recordId: string }[] {
  if ('folders' in f.scope) return f.scope.folders.map((folderId) => ({ folderId, recordId: '' }));
  return f.scope.records.map((r) => ({ folderId: r.folderId, recordId: r.recordId }));
}

const wrapKey = (folderId: string, recordId: string, version: number) =>
  `${folderId}/${recordId}/${version}`;

/**
 * Checks a read grant's key wraps against its scope: one folder key per folder at the
 * folder's current epoch (folder scope), or one data key per stored version of each record
 * at that version's epoch (record scope); nothing else. The caller must own every folder.
 * Runs inside the creation transaction, so the epochs and versions cannot move meanwhile.
 */
function checkReadScope(relay: Relay, me: string, f: GrantFields, wraps: KeyWrapIn[]): void {
  // "folder/record/version" → the epoch its wrap must have, and whether it is a folder key.
  const expected = new Map<string, { epoch: number; folderKey: boolean }>();
  for (const s of scopeRows(f)) {
    requireRole(relay, s.folderId, me, OWNER);
    if (s.recordId === '') {
      const head = relay.folders.head(s.folderId)!;
      expected.set(wrapKey(s.folderId, '', 0), { epoch: head.epoch, folderKey: true });
      continue;
    }
    const versions = relay.grants.versionEpochs(s.folderId, s.recordId);
    if (versions.length === 0) throw notFound('no such record');
    for (const v of versions) {
      expected.set(wrapKey(s.folderId, s.recordId, v.version), {
        epoch: v.epoch,
        folderKey: false,
      });
    }
  }
  const seen = new Set<string>();
  for (const w of wraps) {
    const k = wrapKey(w.folderId, w.recordId ?? '', w.version ?? 0);
    const want = expected.get(k);
    if (!want || (w.recordId == null) !== (w.version == null)) {
      throw invalid('keyWraps: a key wrap outside the grant scope');
    }
    if (seen.has(k)) throw invalid('keyWraps: two key wraps for one key');
    seen.add(k);
    if (w.epoch !== want.epoch) {
      // A folder rotated since the client looked is a race to retry; a version's epoch never
      // changes, so a wrong one is the client's mistake.
      if (want.folderKey) throw conflict(`folder ${w.folderId} is at epoch ${want.epoch}`);
      throw invalid(`keyWraps: version ${w.version} of ${w.recordId} is at epoch ${want.epoch}`);
    }
  }
  for (const k of expected.keys()) {
    if (!seen.has(k)) throw invalid(`keyWraps: missing the key wrap for ${k}`);
  }
}

/** An import grant's scope is one fresh id naming the batch; it carries no key at all. */
function checkImportScope(relay: Relay, f: GrantFields, wraps: KeyWrapIn[]): void {
  if (wraps.length > 0) throw invalid('keyWraps: an import grant carries no key');
  if (!('folders' in f.scope) || f.scope.folders.length !== 1) {
    throw invalid('grant: the scope of an import grant is one new folder id');
  }
  const batch = f.scope.folders[0]!;
  if (relay.folders.exists(batch) || relay.imports.get(batch)) {
    throw conflict('the import id is already taken');
  }
}

/** Sub-app factory for `/grants`. */
export function grantRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const limit = relay.config.jsonBodyLimit;
  app.use('*', requireSession(relay));

  const entry = (g: GrantRow) => grantEntry(g, relay.grants.wrapInfo(g.grant_id), relay.now());

  app.post('/', async (c) => {
    const me = c.var.session.accountId;
    const b = await readJson(c, createBody, limit);
    if (relay.accounts.publicById(me)?.role !== 'practitioner') {
      throw invalid('only a practitioner grants support access');
    }
    const structure = await coreCheck('grant', () => inspectGrant(plain(b.grant)));
    if (structure.practitionerId !== me)
      throw invalid('grant: the practitioner must be the caller');
    const pub = await identityKeyOf(relay, me);
    const f = await coreCheck('grant', () => verifyGrantSignature(pub, plain(b.grant)));
    if (relay.accounts.publicById(f.agentId)?.role !== 'support') {
      throw invalid('grant: the agent must be a support account');
    }
    const now = relay.now();
    if (f.expiresAt <= now) throw invalid('grant: already expired');
    const row = relay.db.transaction(() => {
      if (relay.grants.exists(f.grantId)) throw conflict('grantId already taken');
      if (f.rights === 'import') checkImportScope(relay, f, b.keyWraps);
      else checkReadScope(relay, me, f, b.keyWraps);
      const scope = scopeRows(f);
      relay.grants.insert({
        grantId: f.grantId,
        practitionerId: me,
        agentId: f.agentId,
        rights: f.rights,
        notBefore: f.notBefore,
        expiresAt: f.expiresAt,
        data: b.grant,
        privateWrap: b.privateWrap,
        now,
        scope,
        wraps: b.keyWraps.map((w) => ({
          folderId: w.folderId,
          recordId: w.recordId ?? '',
          version: w.version ?? 0,
          epoch: w.epoch,
          wrap: w.wrap,
        })),
      });
      const g = relay.grants.get(f.grantId)!;
      const chains = [...grantChains(g, relay.grants.scope(f.grantId)), f.agentId];
      for (const chainId of chains) {
        appendAudit(relay.db, {
          chainId,
          type: 'grant.created',
          at: now,
          actorId: me,
          folderId: chainId === me || chainId === f.agentId ? null : chainId,
          grantId: f.grantId,
          subjectId: f.agentId,
        });
      }
      return g;
    })();
    return c.json(entry(row), 201);
  });

  app.get('/', (c) => {
    const me = c.var.session.accountId;
    const now = relay.now();
    const wraps = new Map<string, KeyWrapInfo[]>();
    for (const w of relay.grants.wrapInfoFor(me)) {
      const list = wraps.get(w.grant_id);
      if (list) list.push(w);
      else wraps.set(w.grant_id, [w]);
    }
    const grants = relay.grants
      .listFor(me)
      .map((g) => grantEntry(g, wraps.get(g.grant_id) ?? [], now));
    return c.json({ grants });
  });

  app.get('/:grantId', (c) => {
    const me = c.var.session.accountId;
    const g = relay.grants.get(pathId(c.req.param('grantId'), 'grantId'));
    if (!g || (g.practitioner_id !== me && g.agent_id !== me)) throw notFound('no such grant');
    return c.json(entry(g));
  });

  app.post('/:grantId/revoke', (c) => {
    const me = c.var.session.accountId;
    const grantId = pathId(c.req.param('grantId'), 'grantId');
    const row = relay.db.transaction(() => {
      const g = relay.grants.get(grantId);
      if (!g || g.practitioner_id !== me) throw notFound('no such grant');
      const now = relay.now();
      // Idempotent; and a grant that already expired has ended: nothing left to revoke.
      if (g.revoked_at !== null || now >= g.expires_at) return g;
      relay.grants.revoke(grantId, now);
      for (const chainId of grantChains(g, relay.grants.scope(grantId))) {
        appendAudit(relay.db, {
          chainId,
          type: 'grant.revoked',
          at: now,
          actorId: me,
          folderId: chainId === me ? null : chainId,
          grantId,
          subjectId: g.agent_id,
        });
      }
      return relay.grants.get(grantId)!;
    })();
    return c.json(entry(row));
  });

  app.route('/:grantId/imports', grantImportRoutes(relay));
  app.route('/:grantId', grantAccessRoutes(relay));
  return app;
}

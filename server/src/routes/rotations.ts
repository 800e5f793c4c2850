/**
 * Batch folder rotation: new epochs for up to 200 folders in one transaction, which is what a
 * practitioner's client does when a support grant ends (every folder in scope moves to a key
 * the agent never held). Each entry follows the rules of `PUT /folders/:id/manifest` with a
 * new epoch, plus an optional profile re-encrypted under the new key; one compare-and-swap
 * failure anywhere and nothing at all is written.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import { requireSession } from '../http/auth';
import { readJson } from '../http/body';
import { conflict, invalid, notFound } from '../http/errors';
import { b64, bytes, id, LIMITS, nonNegativeInt } from '../http/schemas';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import { applyManifestUpdate, checkManifestUpdate, manifestBody } from './folders';

/** Most folders in one rotation request. */
export const MAX_ROTATION_FOLDERS = 200;

const entry = manifestBody.extend({
  folderId: id,
  lineage: bytes(LIMITS.lineage),
  profile: z
    .strictObject({ expectedVersion: nonNegativeInt, data: bytes(LIMITS.profile) })
    .optional(),
});

const rotationBody = z.strictObject({
  folders: z.array(entry).min(1).max(MAX_ROTATION_FOLDERS),
});

const recordsBody = z.strictObject({
  folderIds: z.array(id).min(1).max(MAX_ROTATION_FOLDERS),
});

/** Sub-app factory for `/rotations`. */
export function rotationRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // A full batch carries up to 200 manifests and their wraps: allow four JSON bodies' worth.
  const limit = 4 * relay.config.jsonBodyLimit;
  app.use('*', requireSession(relay));

  // The signed version objects and manifests of many folders at once (owner only): what the
  // owner's client needs to recompute each record-list digest before rotating. No key, header or blob id is
  // served, so this is not a key fetch and appends no audit event.
  app.post('/records', async (c) => {
    const me = c.var.session.accountId;
    const b = await readJson(c, recordsBody, relay.config.jsonBodyLimit);
    const folders = relay.db.transaction(() =>
      [...new Set(b.folderIds)].map((folderId) => {
        if (relay.folders.head(folderId)?.owner_id !== me) throw notFound('no such folder');
        const records: { recordId: string; versions: unknown[] }[] = [];
        for (const row of relay.records.signedListing(folderId)) {
          if (records.at(-1)?.recordId !== row.record_id)
            records.push({ recordId: row.record_id, versions: [] });
          records.at(-1)!.versions.push({
            version: row.version,
            epoch: row.epoch,
            createdAt: row.created_at,
            signed: b64(row.signed),
          });
        }
        const manifests = relay.folders
          .manifestsAfter(folderId, 0)
          .map((m) => ({ seq: m.seq, epoch: m.epoch, data: b64(m.data) }));
        return { folderId, records, manifests };
      }),
    )();
    return c.json({ folders });
  });

  app.post('/', async (c) => {
    const me = c.var.session.accountId;
    const b = await readJson(c, rotationBody, limit);
    const seen = new Set<string>();
    for (const f of b.folders) {
      if (seen.has(f.folderId)) throw invalid(`folders: ${f.folderId} listed twice`);
      seen.add(f.folderId);
      checkManifestUpdate(relay, me, f);
    }
    const folders = relay.db.transaction(() =>
      b.folders.map((f) => {
        const head = relay.folders.head(f.folderId);
        // The owner check and the CAS on seq are applyManifestUpdate's; a rotation must also
        // move to the next epoch (a same-epoch update has no business in this batch).
        const atSeq = head?.owner_id === me && head.seq === f.expectedSeq;
        if (head && atSeq && f.epoch !== head.epoch + 1) {
          throw invalid(`folders: ${f.folderId} must move to epoch ${head.epoch + 1}`);
        }
        applyManifestUpdate(relay, f.folderId, me, f);
        let profileVersion: number | null = null;
        if (f.profile) {
          const { expectedVersion, data } = f.profile;
          if (!relay.folders.setProfile(f.folderId, expectedVersion, data)) {
            throw conflict(`profile of ${f.folderId} changed`);
          }
          profileVersion = expectedVersion + 1;
        }
        return { folderId: f.folderId, seq: f.seq, epoch: f.epoch, profileVersion };
      }),
    )();
    return c.json({ folders });
  });

  return app;
}

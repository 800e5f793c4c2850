/**
 * Backup and restore of a data directory (the load test with a live relay and the SDK is in
 * tests/test/backup.test.ts): a round trip, a deletion racing the backup, and the refusals.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupRelay, BackupError, restoreRelay } from '../src/admin/backup';
import {
  createFolder,
  digestHeader,
  newId,
  register,
  tempDir,
  testRelay,
  versionBody,
  type TestAccount,
  type TestRelay,
} from './helpers';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function relay(dataDir?: string): TestRelay {
  const t = testRelay(dataDir === undefined ? {} : { dataDir });
  cleanup.push(() => t.dispose());
  return t;
}

function dir(): string {
  const d = tempDir('carnet-backup-test-');
  cleanup.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A folder with one record whose version carries a document; returns ids and bytes. */
async function folderWithDocument(t: TestRelay, owner: TestAccount) {
  const folderId = await createFolder(t.api, owner);
  const data = randomBytes(3000);
  const up = await t.api.call<{ blobId: string }>('POST', 'blobs', {
    token: owner.token,
    body: new Uint8Array(data),
    headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
  });
  expect(up.status).toBe(201);
  const recordId = newId();
  const v = await t.api.post(
    `folders/${folderId}/records/${recordId}/versions`,
    versionBody(1, 1, up.body.blobId),
    owner.token,
  );
  expect(v.status).toBe(201);
  return { folderId, recordId, blobId: up.body.blobId, data };
}

describe('backup and restore', () => {
  it('round-trips a data directory: rows, blob files and both keys', async () => {
    const t = relay();
    const owner = await register(t.api);
    const f = await folderWithDocument(t, owner);
    const work = dir();
    const out = join(work, 'relay.tar');
    const { manifest } = await backupRelay({ dataDir: t.dir, out });
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(manifest).toMatchObject({ blobs: 1, blobBytes: 3000, skipped: [], orphaned: [] });

    const target = join(work, 'restored');
    await restoreRelay({ from: out, dataDir: target });
    for (const key of ['secret.key', 'relay-signing.key']) {
      expect(readFileSync(join(target, key))).toEqual(readFileSync(join(t.dir, key)));
    }
    const r = relay(target);
    const login = await r.api.post<{ session: { token: string } }>('auth/login', {
      userName: owner.userName,
      authKey: owner.authKey,
    });
    expect(login.status).toBe(200);
    const token = login.body.session.token;
    expect((await r.api.get(`folders/${f.folderId}/records/${f.recordId}`, token)).status).toBe(
      200,
    );
    const res = await r.app.request(`/api/v1/blobs/${f.blobId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(Buffer.from(await res.arrayBuffer())).toEqual(f.data);
    expect((await r.api.get('relay')).body).toEqual((await t.api.get('relay')).body);
  });

  it('drops a folder deleted while the backup ran, and stays consistent', async () => {
    const t = relay();
    const owner = await register(t.api);
    const gone = await folderWithDocument(t, owner);
    const kept = await folderWithDocument(t, owner);
    const work = dir();
    const out = join(work, 'relay.tar');
    const { manifest } = await backupRelay({
      dataDir: t.dir,
      out,
      afterSnapshot: async () => {
        expect((await t.api.delete(`folders/${gone.folderId}`, owner.token)).status).toBe(200);
      },
    });
    expect(manifest.droppedFolders).toEqual([gone.folderId]);
    expect(manifest.skipped).toEqual([{ blobId: gone.blobId, folderId: gone.folderId }]);
    const target = join(work, 'restored');
    await restoreRelay({ from: out, dataDir: target });
    const r = relay(target);
    const token = (
      await r.api.post<{ session: { token: string } }>('auth/login', {
        userName: owner.userName,
        authKey: owner.authKey,
      })
    ).body.session.token;
    expect((await r.api.get(`folders/${gone.folderId}`, token)).status).toBe(404);
    expect((await r.api.get(`folders/${kept.folderId}`, token)).status).toBe(200);
  });

  it('refuses a non-empty target and a damaged backup, leaving nothing behind', async () => {
    const t = relay();
    const owner = await register(t.api);
    const f = await folderWithDocument(t, owner);
    const work = dir();
    const out = join(work, 'relay.tar');
    await backupRelay({ dataDir: t.dir, out });

    const busy = join(work, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'something'), 'x');
    await expect(restoreRelay({ from: out, dataDir: busy })).rejects.toThrow(BackupError);

    // Flip one byte of the document inside the archive: its digest no longer matches its row.
    const bytes = readFileSync(out);
    const at = bytes.indexOf(f.data.subarray(0, 32));
    expect(at).toBeGreaterThan(0);
    bytes[at + 100] = (bytes[at + 100] as number) ^ 1;
    const damaged = join(work, 'damaged.tar');
    writeFileSync(damaged, bytes);
    const target = join(work, 'restored');
    await expect(restoreRelay({ from: damaged, dataDir: target })).rejects.toThrow(
      /does not match/,
    );
    expect(() => statSync(target)).toThrow();

    const notTar = join(work, 'not.tar');
    writeFileSync(notTar, randomBytes(5000));
    await expect(restoreRelay({ from: notTar, dataDir: target })).rejects.toThrow(BackupError);
    // No staging directory or temporary file is left next to the target.
    expect(readdirSync(work).filter((n) => n.startsWith('.'))).toEqual([]);

    // An empty directory is a valid target (replaced by the restored one).
    const empty = join(work, 'empty');
    mkdirSync(empty);
    await restoreRelay({ from: out, dataDir: empty });
    expect(statSync(join(empty, 'carnet.db')).isFile()).toBe(true);
  });
});

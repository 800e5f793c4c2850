import { afterEach, describe, expect, it } from 'vitest';
import {
  b64,
  createFolder,
  digestHeader,
  newId,
  register,
  rnd,
  testRelay,
  versionBody,
  type TestAccount,
  type TestRelay,
} from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

interface Version {
  version: number;
  epoch: number;
  header: string;
  signed: string;
  dataKey: string;
  blobId: string | null;
  createdAt: number;
}
interface Listing {
  records: {
    recordId: string;
    latest: Version;
    versions: { version: number; epoch: number; signed: string; createdAt: number }[];
  }[];
}

const path = (folderId: string, recordId: string) =>
  `folders/${folderId}/records/${recordId}/versions`;

async function upload(owner: TestAccount, data: Buffer): Promise<string> {
  const r = await t.api.call<{ blobId: string }>('POST', 'blobs', {
    token: owner.token,
    body: new Uint8Array(data),
    headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
  });
  expect(r.status).toBe(201);
  return r.body.blobId;
}

describe('record versions', () => {
  it('creates version 1, then only latest+1', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const rec = newId();
    expect((await t.api.post(path(folderId, rec), versionBody(2), owner.token)).status).toBe(409);
    const v1 = await t.api.post<Version>(path(folderId, rec), versionBody(1), owner.token);
    expect(v1.status).toBe(201);
    expect(v1.body.version).toBe(1);
    expect((await t.api.post(path(folderId, rec), versionBody(1), owner.token)).status).toBe(409);
    expect((await t.api.post(path(folderId, rec), versionBody(3), owner.token)).status).toBe(409);
    expect((await t.api.post(path(folderId, rec), versionBody(2), owner.token)).status).toBe(201);
  });

  it('of two concurrent editors one wins, the other gets 409, and no version is lost', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const editor = await register(t.api);
    const folderId = await createFolder(t.api, owner, [{ account: editor, role: 'editor' }]);
    const rec = newId();
    await t.api.post(path(folderId, rec), versionBody(1), owner.token);
    const mine = versionBody(2);
    const theirs = versionBody(2);
    const [a, b] = await Promise.all([
      t.api.post(path(folderId, rec), mine, owner.token),
      t.api.post(path(folderId, rec), theirs, editor.token),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const loser = a.status === 409 ? mine : theirs;
    const winner = a.status === 409 ? theirs : mine;
    // The loser re-reads and retries on top: both edits survive, in order.
    const retry = await t.api.post(path(folderId, rec), { ...loser, version: 3 }, owner.token);
    expect(retry.status).toBe(201);
    const hist = await t.api.get<{ versions: Version[] }>(
      `folders/${folderId}/records/${rec}`,
      owner.token,
    );
    expect(hist.body.versions.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(hist.body.versions[1]!.signed).toBe(winner.signed);
    expect(hist.body.versions[2]!.signed).toBe(loser.signed);
  });

  it('refuses a version sealed under an old epoch after a rotation', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    await t.api.put(
      `folders/${folderId}/manifest`,
      {
        expectedSeq: 1,
        seq: 2,
        epoch: 2,
        manifest: b64('m2'),
        members: [{ accountId: owner.accountId, role: 'owner' }],
        wraps: [{ accountId: owner.accountId, epoch: 2, wrap: rnd(80) }],
        lineage: b64('lineage'),
      },
      owner.token,
    );
    const rec = newId();
    expect((await t.api.post(path(folderId, rec), versionBody(1, 1), owner.token)).status).toBe(
      409,
    );
    expect((await t.api.post(path(folderId, rec), versionBody(1, 2), owner.token)).status).toBe(
      201,
    );
  });

  it('lists records with the full latest version and every signed version', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const recA = newId();
    const recB = newId();
    const a = [versionBody(1), versionBody(2), versionBody(3)];
    for (const v of a) await t.api.post(path(folderId, recA), v, owner.token);
    const b1 = versionBody(1);
    await t.api.post(path(folderId, recB), b1, owner.token);
    const list = await t.api.get<Listing>(`folders/${folderId}/records`, owner.token);
    expect(list.status).toBe(200);
    const byId = new Map(list.body.records.map((r) => [r.recordId, r]));
    const ra = byId.get(recA)!;
    expect(ra.latest.version).toBe(3);
    expect(ra.latest.header).toBe(a[2]!.header);
    expect(ra.latest.dataKey).toBe(a[2]!.dataKey);
    expect(ra.versions.map((v) => v.signed)).toEqual(a.map((v) => v.signed));
    expect(ra.versions[0]).not.toHaveProperty('header');
    expect(byId.get(recB)!.latest.signed).toBe(b1.signed);
    const one = await t.api.get<Version>(
      `folders/${folderId}/records/${recA}/versions/2`,
      owner.token,
    );
    expect(one.body.header).toBe(a[1]!.header);
    expect(
      (await t.api.get(`folders/${folderId}/records/${recA}/versions/9`, owner.token)).status,
    ).toBe(404);
    expect(
      (await t.api.get(`folders/${folderId}/records/${recA}/versions/0`, owner.token)).status,
    ).toBe(400);
  });

  it('lets readers read but not write (404)', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const reader = await register(t.api);
    const folderId = await createFolder(t.api, owner, [{ account: reader, role: 'reader' }]);
    const rec = newId();
    await t.api.post(path(folderId, rec), versionBody(1), owner.token);
    expect((await t.api.get(`folders/${folderId}/records`, reader.token)).status).toBe(200);
    expect((await t.api.post(path(folderId, rec), versionBody(2), reader.token)).status).toBe(404);
  });
});

describe('blob attachment', () => {
  it('attaches my own unattached blob, and makes it readable to the folder members', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const patient = await register(t.api, 'patient');
    const folderId = await createFolder(t.api, owner, [{ account: patient, role: 'reader' }]);
    const blobId = await upload(owner, Buffer.from('encrypted file'));
    expect((await t.api.get(`blobs/${blobId}`, patient.token)).status).toBe(404);
    const rec = newId();
    const v = await t.api.post<Version>(
      path(folderId, rec),
      versionBody(1, 1, blobId),
      owner.token,
    );
    expect(v.body.blobId).toBe(blobId);
    const dl = await t.api.get(`blobs/${blobId}`, patient.token);
    expect(dl.status).toBe(200);
    expect(dl.body).toBe('encrypted file');
    // A later version may keep the same blob (same folder).
    expect(
      (await t.api.post(path(folderId, rec), versionBody(2, 1, blobId), owner.token)).status,
    ).toBe(201);
    // Attached blobs cannot be deleted on their own.
    expect((await t.api.delete(`blobs/${blobId}`, owner.token)).status).toBe(409);
  });

  it("refuses someone else's blob or a blob of another folder with 404", async () => {
    t = testRelay();
    const owner = await register(t.api);
    const other = await register(t.api);
    const f1 = await createFolder(t.api, owner);
    const f2 = await createFolder(t.api, owner);
    const foreign = await upload(other, Buffer.from('not yours'));
    expect(
      (await t.api.post(path(f1, newId()), versionBody(1, 1, foreign), owner.token)).status,
    ).toBe(404);
    const mine = await upload(owner, Buffer.from('mine'));
    expect((await t.api.post(path(f1, newId()), versionBody(1, 1, mine), owner.token)).status).toBe(
      201,
    );
    expect((await t.api.post(path(f2, newId()), versionBody(1, 1, mine), owner.token)).status).toBe(
      404,
    );
    expect(
      (await t.api.post(path(f1, newId()), versionBody(1, 1, newId()), owner.token)).status,
    ).toBe(404);
  });

  it('maintenance deletes unattached blobs past their time to live, not attached ones', async () => {
    t = testRelay({ unattachedBlobTtlMs: 60_000 });
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const loose = await upload(owner, Buffer.from('loose'));
    const kept = await upload(owner, Buffer.from('kept'));
    await t.api.post(path(folderId, newId()), versionBody(1, 1, kept), owner.token);
    t.clock.t += 61_000;
    expect((await t.maintain()).blobs).toBe(1);
    expect(t.relay.blobs.get(loose)).toBeUndefined();
    expect(t.relay.blobs.get(kept)).toBeDefined();
  });
});

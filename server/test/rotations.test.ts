/**
 * Batch rotation through `app.request()`: every folder moves to a new epoch with the rules of
 * a manifest update, and one failed compare-and-swap (seq or profile version), one folder not
 * owned or one invalid entry means nothing at all is written.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  b64,
  createFolder,
  newId,
  register,
  rnd,
  testRelay,
  type TestAccount,
  type TestRelay,
  versionBody,
} from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

interface Err {
  error: { code: string; message: string };
}
interface Rotated {
  folders: { folderId: string; seq: number; epoch: number; profileVersion: number | null }[];
}
interface Folder {
  epoch: number;
  manifest: { seq: number; epoch: number };
  members: { accountId: string; role: string }[];
  lineage: { epoch: number }[];
  profile: { version: number; data: string } | null;
}

/** A rotation entry from seq/epoch 1 to 2 for `members` (owner first). */
const entry = (
  folderId: string,
  members: { accountId: string; role: string }[],
  extra: Record<string, unknown> = {},
) => ({
  folderId,
  expectedSeq: 1,
  seq: 2,
  epoch: 2,
  manifest: b64(`manifest 2 of ${folderId}`),
  members,
  wraps: members.map((m) => ({ accountId: m.accountId, epoch: 2, wrap: rnd(80) })),
  lineage: rnd(60),
  ...extra,
});

const owner = (a: TestAccount) => ({ accountId: a.accountId, role: 'owner' });

async function state(folderId: string, token: string) {
  return (await t.api.get<Folder>(`folders/${folderId}`, token)).body;
}

describe('POST /rotations', () => {
  it('rotates many folders in one request, profiles included', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const reader = await register(t.api, 'patient');
    const a = await createFolder(t.api, pract, [{ account: reader, role: 'reader' }]);
    const b = await createFolder(t.api, pract);
    const members = [owner(pract), { accountId: reader.accountId, role: 'reader' }];
    const r = await t.api.post<Rotated>(
      'rotations',
      {
        folders: [
          entry(a, members, { profile: { expectedVersion: 1, data: b64('profile 2') } }),
          entry(b, [owner(pract)]),
        ],
      },
      pract.token,
    );
    expect(r.status).toBe(200);
    expect(r.body.folders).toEqual([
      { folderId: a, seq: 2, epoch: 2, profileVersion: 2 },
      { folderId: b, seq: 2, epoch: 2, profileVersion: null },
    ]);
    const sa = await state(a, pract.token);
    expect(sa).toMatchObject({ epoch: 2, manifest: { seq: 2, epoch: 2 }, lineage: [{ epoch: 2 }] });
    expect(sa.profile).toEqual({ version: 2, data: b64('profile 2') });
    expect((await state(a, reader.token)).epoch).toBe(2);
    expect((await state(b, pract.token)).epoch).toBe(2);
  });

  it('writes nothing when one compare-and-swap fails', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const folders = [];
    for (let i = 0; i < 3; i++) folders.push(await createFolder(t.api, pract));
    const [a, b, c] = folders as [string, string, string];
    const stale = await t.api.post<Err>(
      'rotations',
      {
        folders: [
          entry(a, [owner(pract)]),
          entry(b, [owner(pract)], { expectedSeq: 2, seq: 3 }),
          entry(c, [owner(pract)]),
        ],
      },
      pract.token,
    );
    expect([stale.status, stale.body.error.code]).toEqual([409, 'CONFLICT']);
    const staleProfile = await t.api.post<Err>(
      'rotations',
      {
        folders: [
          entry(a, [owner(pract)]),
          entry(b, [owner(pract)], { profile: { expectedVersion: 7, data: b64('p') } }),
        ],
      },
      pract.token,
    );
    expect(staleProfile.status).toBe(409);
    for (const f of folders) {
      const s = await state(f, pract.token);
      expect(s).toMatchObject({ epoch: 1, manifest: { seq: 1 }, lineage: [] });
      expect(s.profile?.version).toBe(1);
    }
    // The same batch, corrected, goes through.
    const ok = await t.api.post(
      'rotations',
      { folders: folders.map((f) => entry(f, [owner(pract)])) },
      pract.token,
    );
    expect(ok.status).toBe(200);
  });

  it('writes nothing when one folder is not the caller own', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const colleague = await register(t.api);
    const mine = await createFolder(t.api, pract);
    const shared = await createFolder(t.api, colleague, [{ account: pract, role: 'editor' }]);
    for (const other of [shared, newId()]) {
      const r = await t.api.post(
        'rotations',
        { folders: [entry(mine, [owner(pract)]), entry(other, [owner(pract)])] },
        pract.token,
      );
      expect(r.status).toBe(404);
    }
    expect((await state(mine, pract.token)).epoch).toBe(1);
    expect((await state(shared, colleague.token)).epoch).toBe(1);
  });

  it('applies the manifest rules to every entry', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const reader = await register(t.api, 'patient');
    const a = await createFolder(t.api, pract, [{ account: reader, role: 'reader' }]);
    const b = await createFolder(t.api, pract);
    const both = [owner(pract), { accountId: reader.accountId, role: 'reader' }];
    const bad: unknown[] = [
      [entry(a, both), entry(b, [owner(pract)], { epoch: 1, wraps: [] })], // no new epoch
      [entry(a, both), entry(b, [owner(pract)], { epoch: 3 })], // skips one
      [entry(a, both), entry(b, [owner(pract)], { lineage: undefined })], // no lineage
      [entry(a, both, { wraps: [{ accountId: pract.accountId, epoch: 2, wrap: rnd(80) }] })],
      [entry(a, both), entry(a, both)], // twice
      [entry(a, both, { seq: 3 })], // seq must be expectedSeq + 1
      [entry(a, [{ accountId: reader.accountId, role: 'reader' }])], // owner missing
      [],
      Array.from({ length: 201 }, () => entry(newId(), [owner(pract)])),
      [{ ...entry(a, both), extra: 1 }],
    ];
    for (const folders of bad) {
      const r = await t.api.post<Err>('rotations', { folders }, pract.token);
      expect([r.status, r.body.error.code]).toEqual([400, 'VALIDATION']);
    }
    expect((await state(a, pract.token)).epoch).toBe(1);
    expect((await state(b, pract.token)).epoch).toBe(1);
  });

  it('removes members dropped by the rotation', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const reader = await register(t.api, 'patient');
    const a = await createFolder(t.api, pract, [{ account: reader, role: 'reader' }]);
    const r = await t.api.post('rotations', { folders: [entry(a, [owner(pract)])] }, pract.token);
    expect(r.status).toBe(200);
    expect((await t.api.get(`folders/${a}`, reader.token)).status).toBe(404);
    expect((await state(a, pract.token)).members).toEqual([owner(pract)]);
    // Not for anyone but a signed-in caller.
    expect((await t.api.post('rotations', { folders: [] })).status).toBe(401);
  });
});

describe('POST /rotations/records', () => {
  interface Listed {
    folders: {
      folderId: string;
      records: { recordId: string; versions: Record<string, unknown>[] }[];
      manifests: { seq: number; epoch: number; data: string }[];
    }[];
  }

  it('lists signed versions and manifests of my folders, no key, no header, no audit event', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const a = await createFolder(t.api, pract);
    const b = await createFolder(t.api, pract);
    const rec = newId();
    const v1 = versionBody(1);
    expect((await t.api.post(`folders/${a}/records/${rec}/versions`, v1, pract.token)).status).toBe(
      201,
    );
    const v2 = versionBody(2);
    expect((await t.api.post(`folders/${a}/records/${rec}/versions`, v2, pract.token)).status).toBe(
      201,
    );
    const events = () =>
      (t.relay.db.prepare('SELECT COUNT(*) AS n FROM audit_events').get() as { n: number }).n;
    const before = events();

    const r = await t.api.post<Listed>('rotations/records', { folderIds: [a, b] }, pract.token);
    expect(r.status).toBe(200);
    expect(events()).toBe(before);
    const [fa, fb] = r.body.folders;
    expect(fa?.folderId).toBe(a);
    expect(fa?.records).toEqual([
      {
        recordId: rec,
        versions: [
          { version: 1, epoch: 1, createdAt: expect.any(Number), signed: v1.signed },
          { version: 2, epoch: 1, createdAt: expect.any(Number), signed: v2.signed },
        ],
      },
    ]);
    expect(fa?.manifests).toEqual([{ seq: 1, epoch: 1, data: b64('manifest 1') }]);
    expect(fb).toEqual({ folderId: b, records: [], manifests: [expect.any(Object)] });
  });

  it('answers 404 when one folder is not mine, and refuses malformed lists', async () => {
    t = testRelay();
    const pract = await register(t.api);
    const reader = await register(t.api, 'patient');
    const mine = await createFolder(t.api, pract, [{ account: reader, role: 'reader' }]);
    const other = await createFolder(t.api, reader);
    const post = (body: unknown, token = pract.token) =>
      t.api.post<Err>('rotations/records', body, token);
    expect((await post({ folderIds: [mine, other] })).status).toBe(404);
    expect((await post({ folderIds: [mine] }, reader.token)).status).toBe(404);
    expect((await post({ folderIds: [] })).body.error.code).toBe('VALIDATION');
    expect((await post({ folderIds: [mine], extra: 1 })).body.error.code).toBe('VALIDATION');
  });
});

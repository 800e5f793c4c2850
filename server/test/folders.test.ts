import { existsSync } from 'node:fs';
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

interface Folder {
  folderId: string;
  status: string;
  role: string;
  epoch: number;
  manifest: { seq: number; epoch: number; data: string };
  members: { accountId: string; role: string }[];
  wraps: { epoch: number; wrap: string }[];
  lineage: { epoch: number; data: string }[];
  profile: { version: number; data: string } | null;
}

const manifestUpdate = (
  owner: TestAccount,
  expectedSeq: number,
  epoch: number,
  others: { account: TestAccount; role: string }[],
  extra: Record<string, unknown> = {},
): {
  expectedSeq: number;
  seq: number;
  epoch: number;
  manifest: string;
  members: { accountId: string; role: string }[];
  wraps: { accountId: string; epoch: number; wrap: string }[];
  lineage?: string;
} => {
  const members = [
    { accountId: owner.accountId, role: 'owner' },
    ...others.map((o) => ({ accountId: o.account.accountId, role: o.role })),
  ];
  return {
    expectedSeq,
    seq: expectedSeq + 1,
    epoch,
    manifest: b64(`manifest ${expectedSeq + 1}`),
    members,
    wraps: [] as { accountId: string; epoch: number; wrap: string }[],
    ...extra,
  };
};

describe('folders', () => {
  it('creates a folder and shows each member their own wraps', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const patient = await register(t.api, 'patient');
    const folderId = await createFolder(t.api, owner, [{ account: patient, role: 'editor' }]);
    const mine = await t.api.get<Folder>(`folders/${folderId}`, owner.token);
    const theirs = await t.api.get<Folder>(`folders/${folderId}`, patient.token);
    expect(mine.body.role).toBe('owner');
    expect(theirs.body.role).toBe('editor');
    expect(mine.body.manifest).toEqual({ seq: 1, epoch: 1, data: b64('manifest 1') });
    expect(mine.body.wraps).toHaveLength(1);
    expect(theirs.body.wraps).toHaveLength(1);
    expect(mine.body.wraps[0]!.wrap).not.toBe(theirs.body.wraps[0]!.wrap);
    expect(mine.body.profile).toEqual({ version: 1, data: b64('profile 1') });
    expect(mine.body.members).toHaveLength(2);
  });

  it('refuses a creation whose owner is not the caller, lacks wraps, or reuses an id', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const other = await register(t.api);
    const base = {
      folderId: newId(),
      seq: 1,
      epoch: 1,
      manifest: b64('m'),
      members: [{ accountId: owner.accountId, role: 'owner' }],
      wraps: [{ accountId: owner.accountId, epoch: 1, wrap: rnd(80) }],
    };
    expect((await t.api.post('folders', base, other.token)).status).toBe(400);
    expect((await t.api.post('folders', { ...base, wraps: [] }, owner.token)).status).toBe(400);
    const ghost = newId();
    const withGhost = {
      ...base,
      members: [...base.members, { accountId: ghost, role: 'reader' }],
      wraps: [...base.wraps, { accountId: ghost, epoch: 1, wrap: rnd(80) }],
    };
    expect((await t.api.post('folders', withGhost, owner.token)).status).toBe(400);
    expect((await t.api.post('folders', base, owner.token)).status).toBe(201);
    expect((await t.api.post('folders', base, owner.token)).status).toBe(409);
  });

  it('lists my folders page by page', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await createFolder(t.api, owner));
    const seen: string[] = [];
    let after = '';
    for (;;) {
      const r = await t.api.get<{ folders: Folder[]; next: string | null }>(
        `folders?limit=2${after ? `&after=${after}` : ''}`,
        owner.token,
      );
      expect(r.status).toBe(200);
      seen.push(...r.body.folders.map((f) => f.folderId));
      for (const f of r.body.folders) expect(f.wraps).toHaveLength(1);
      if (r.body.next === null) break;
      after = r.body.next;
    }
    expect(seen).toEqual([...ids].sort());
    const stranger = await register(t.api);
    const none = await t.api.get<{ folders: Folder[] }>('folders', stranger.token);
    expect(none.body.folders).toEqual([]);
    expect((await t.api.get('folders?limit=0', owner.token)).status).toBe(400);
    expect((await t.api.get('folders?after=../x', owner.token)).status).toBe(400);
  });
});

describe('manifest compare-and-swap', () => {
  it('accepts seq+1 on the current seq and answers 409 to a stale expectedSeq', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const ok = await t.api.put<Folder>(
      `folders/${folderId}/manifest`,
      manifestUpdate(owner, 1, 1, []),
      owner.token,
    );
    expect(ok.status).toBe(200);
    expect(ok.body.manifest.seq).toBe(2);
    const stale = await t.api.put<{ error: { code: string } }>(
      `folders/${folderId}/manifest`,
      manifestUpdate(owner, 1, 1, []),
      owner.token,
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('CONFLICT');
    const skip = { ...manifestUpdate(owner, 2, 1, []), seq: 5 };
    expect((await t.api.put(`folders/${folderId}/manifest`, skip, owner.token)).status).toBe(400);
    const history = await t.api.get<{ manifests: { seq: number }[] }>(
      `folders/${folderId}/manifests?after=0`,
      owner.token,
    );
    expect(history.body.manifests.map((m) => m.seq)).toEqual([1, 2]);
  });

  it('of two concurrent updates on the same seq, exactly one wins', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const [a, b] = await Promise.all([
      t.api.put(`folders/${folderId}/manifest`, manifestUpdate(owner, 1, 1, []), owner.token),
      t.api.put(`folders/${folderId}/manifest`, manifestUpdate(owner, 1, 1, []), owner.token),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
  });

  it('adds a member only with a wrap, and removes one only with a new epoch', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const colleague = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const path = `folders/${folderId}/manifest`;
    const add = manifestUpdate(owner, 1, 1, [{ account: colleague, role: 'reader' }]);
    expect((await t.api.put(path, add, owner.token)).status).toBe(400);
    add.wraps = [{ accountId: colleague.accountId, epoch: 1, wrap: rnd(80) }];
    expect((await t.api.put(path, add, owner.token)).status).toBe(200);
    expect((await t.api.get(`folders/${folderId}`, colleague.token)).status).toBe(200);

    // Removal without rotation is refused.
    expect((await t.api.put(path, manifestUpdate(owner, 2, 1, []), owner.token)).status).toBe(400);
    // Rotation without lineage or without wraps for everyone is refused.
    const rotate = manifestUpdate(owner, 2, 2, []);
    expect((await t.api.put(path, rotate, owner.token)).status).toBe(400);
    rotate.lineage = b64('FK1 under FK2');
    expect((await t.api.put(path, rotate, owner.token)).status).toBe(400);
    rotate.wraps = [{ accountId: owner.accountId, epoch: 2, wrap: rnd(80) }];
    const done = await t.api.put<Folder>(path, rotate, owner.token);
    expect(done.status).toBe(200);
    expect(done.body.epoch).toBe(2);
    expect(done.body.lineage).toEqual([{ epoch: 2, data: b64('FK1 under FK2') }]);
    expect(done.body.wraps.map((w) => w.epoch)).toEqual([1, 2]);
    // The removed member sees nothing any more, and their wraps are gone.
    expect((await t.api.get(`folders/${folderId}`, colleague.token)).status).toBe(404);
    const left = t.relay.db
      .prepare('SELECT COUNT(*) AS n FROM member_wraps WHERE account_id = ?')
      .get(colleague.accountId) as { n: number };
    expect(left.n).toBe(0);
    // Epochs move by one at most.
    const jump = manifestUpdate(owner, 3, 4, [], {
      lineage: b64('x'),
      wraps: [{ accountId: owner.accountId, epoch: 4, wrap: rnd(8) }],
    });
    expect((await t.api.put(path, jump, owner.token)).status).toBe(400);
  });

  it('writes nothing when a rotation is refused (one transaction)', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const bad = manifestUpdate(owner, 1, 2, [], {
      lineage: b64('l'),
      wraps: [{ accountId: newId(), epoch: 2, wrap: rnd(8) }],
    });
    expect((await t.api.put(`folders/${folderId}/manifest`, bad, owner.token)).status).toBe(400);
    const f = await t.api.get<Folder>(`folders/${folderId}`, owner.token);
    expect(f.body.manifest.seq).toBe(1);
    expect(f.body.epoch).toBe(1);
    expect(f.body.lineage).toEqual([]);
  });

  it('lets only the owner update the manifest (others get 404)', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const editor = await register(t.api);
    const folderId = await createFolder(t.api, owner, [{ account: editor, role: 'editor' }]);
    const r = await t.api.put(
      `folders/${folderId}/manifest`,
      manifestUpdate(editor, 1, 1, []),
      editor.token,
    );
    expect(r.status).toBe(404);
  });
});

describe('profile', () => {
  it('is versioned with compare-and-swap', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const reader = await register(t.api);
    const folderId = await createFolder(t.api, owner, [{ account: reader, role: 'reader' }]);
    const path = `folders/${folderId}/profile`;
    const ok = await t.api.put(path, { expectedVersion: 1, data: b64('profile 2') }, owner.token);
    expect(ok.body).toEqual({ version: 2 });
    expect(
      (await t.api.put(path, { expectedVersion: 1, data: b64('lost') }, owner.token)).status,
    ).toBe(409);
    expect(
      (await t.api.put(path, { expectedVersion: 2, data: b64('x') }, reader.token)).status,
    ).toBe(404);
    const f = await t.api.get<Folder>(`folders/${folderId}`, reader.token);
    expect(f.body.profile).toEqual({ version: 2, data: b64('profile 2') });
  });
});

describe('deletion', () => {
  it('deletes the folder, its records and its blob files', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    const data = Buffer.from('ciphertext');
    const up = await t.api.call<{ blobId: string }>('POST', 'blobs', {
      token: owner.token,
      body: new Uint8Array(data),
      headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
    });
    expect(up.status).toBe(201);
    const rec = newId();
    const v = await t.api.post(
      `folders/${folderId}/records/${rec}/versions`,
      versionBody(1, 1, up.body.blobId),
      owner.token,
    );
    expect(v.status).toBe(201);
    expect((await t.api.delete(`folders/${folderId}`, owner.token)).status).toBe(200);
    expect((await t.api.get(`folders/${folderId}`, owner.token)).status).toBe(410);
    expect((await t.api.get(`blobs/${up.body.blobId}`, owner.token)).status).toBe(404);
    expect(existsSync(t.relay.files.path(up.body.blobId))).toBe(false);
    for (const table of [
      'folders',
      'folder_manifests',
      'folder_members',
      'member_wraps',
      'record_versions',
      'blobs',
    ]) {
      const n = t.relay.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number };
      expect(n.n, table).toBe(0);
    }
  });
});

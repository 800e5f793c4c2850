/**
 * Every folder- and blob-scoped route, tried by accounts that may not see the object: a
 * stranger, a pending invitee and a removed member. All get 404, with the same body as for an
 * id that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
let owner: TestAccount;
let stranger: TestAccount;
let pending: TestAccount;
let removed: TestAccount;
const ids = { folder: '', record: '', attached: '', loose: '', invite: '', removedOwn: '' };

beforeAll(async () => {
  t = testRelay();
  owner = await register(t.api);
  stranger = await register(t.api);
  pending = await register(t.api, 'patient');
  removed = await register(t.api);
  ids.folder = await createFolder(t.api, owner, [{ account: removed, role: 'editor' }]);
  const upload = async (data: Buffer) =>
    (
      await t.api.call<{ blobId: string }>('POST', 'blobs', {
        token: owner.token,
        body: new Uint8Array(data),
        headers: {
          'content-type': 'application/octet-stream',
          'content-digest': digestHeader(data),
        },
      })
    ).body.blobId;
  ids.attached = await upload(Buffer.from('attached'));
  ids.loose = await upload(Buffer.from('loose'));
  ids.record = newId();
  await t.api.post(
    `folders/${ids.folder}/records/${ids.record}/versions`,
    versionBody(1, 1, ids.attached),
    owner.token,
  );
  const lookupId = newId();
  const inv = await t.api.post<{ inviteId: string }>(
    `folders/${ids.folder}/invites`,
    { lookupId, sealedKey: rnd(50), expiresAt: t.clock.t + 3_600_000, role: 'reader' },
    owner.token,
  );
  ids.invite = inv.body.inviteId;
  await t.api.post(`invites/${lookupId}/accept`, { response: b64('r') }, pending.token);
  // `removed`, still an editor, uploads a blob and attaches it to a record of its own.
  const own = Buffer.from('written before removal');
  ids.removedOwn = (
    await t.api.call<{ blobId: string }>('POST', 'blobs', {
      token: removed.token,
      body: new Uint8Array(own),
      headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(own) },
    })
  ).body.blobId;
  await t.api.post(
    `folders/${ids.folder}/records/${newId()}/versions`,
    versionBody(1, 1, ids.removedOwn),
    removed.token,
  );
  // Remove `removed` with a rotation.
  const rot = await t.api.put(
    `folders/${ids.folder}/manifest`,
    {
      expectedSeq: 1,
      seq: 2,
      epoch: 2,
      manifest: b64('m2'),
      members: [{ accountId: owner.accountId, role: 'owner' }],
      wraps: [{ accountId: owner.accountId, epoch: 2, wrap: rnd(80) }],
      lineage: b64('l2'),
    },
    owner.token,
  );
  expect(rot.status).toBe(200);
});
afterAll(() => t.dispose());

type Route = { method: string; template: string; path: (f: string) => string; json?: unknown };

const routes = (): Route[] => [
  { method: 'GET', template: '/api/v1/folders/:folderId', path: (f) => `folders/${f}` },
  {
    method: 'GET',
    template: '/api/v1/folders/:folderId/manifests',
    path: (f) => `folders/${f}/manifests`,
  },
  {
    method: 'PUT',
    template: '/api/v1/folders/:folderId/manifest',
    path: (f) => `folders/${f}/manifest`,
    json: { expectedSeq: 2, seq: 3, epoch: 2, manifest: b64('x'), members: [], wraps: [] },
  },
  {
    method: 'PUT',
    template: '/api/v1/folders/:folderId/profile',
    path: (f) => `folders/${f}/profile`,
    json: { expectedVersion: 1, data: b64('x') },
  },
  { method: 'DELETE', template: '/api/v1/folders/:folderId', path: (f) => `folders/${f}` },
  {
    method: 'GET',
    template: '/api/v1/folders/:folderId/records',
    path: (f) => `folders/${f}/records`,
  },
  {
    method: 'GET',
    template: '/api/v1/folders/:folderId/records/:recordId',
    path: (f) => `folders/${f}/records/${ids.record}`,
  },
  {
    method: 'GET',
    template: '/api/v1/folders/:folderId/records/:recordId/versions/:version',
    path: (f) => `folders/${f}/records/${ids.record}/versions/1`,
  },
  {
    method: 'POST',
    template: '/api/v1/folders/:folderId/records/:recordId/versions',
    path: (f) => `folders/${f}/records/${ids.record}/versions`,
    json: versionBody(2, 2),
  },
  {
    method: 'POST',
    template: '/api/v1/folders/:folderId/invites',
    path: (f) => `folders/${f}/invites`,
    json: { lookupId: newId(), sealedKey: rnd(8), expiresAt: t.clock.t + 60_000, role: 'reader' },
  },
  {
    method: 'GET',
    template: '/api/v1/folders/:folderId/invites',
    path: (f) => `folders/${f}/invites`,
  },
  {
    method: 'DELETE',
    template: '/api/v1/folders/:folderId/invites/:inviteId',
    path: (f) => `folders/${f}/invites/${ids.invite}`,
  },
  {
    method: 'GET',
    template: '/api/v1/folders/:folderId/audit',
    path: (f) => `folders/${f}/audit`,
  },
  {
    method: 'POST',
    template: '/api/v1/folders/:folderId/audit/events',
    path: (f) => `folders/${f}/audit/events`,
    json: { event: b64('x') },
  },
];

describe('access control: 404 for whatever the caller may not see', () => {
  it('covers every folder- and blob-scoped route of the app', () => {
    const tested = new Set([
      ...routes().map((r) => `${r.method} ${r.template}`),
      'GET /api/v1/blobs/:blobId',
      'DELETE /api/v1/blobs/:blobId',
      // A support agent's routes, open to the grant's agent alone: grants.test.ts tries them
      // as the practitioner, another agent, outside the window, after revocation and out of scope.
      'GET /api/v1/grants/:grantId/folders/:folderId',
      'GET /api/v1/grants/:grantId/folders/:folderId/manifests',
      'GET /api/v1/grants/:grantId/folders/:folderId/records',
      'GET /api/v1/grants/:grantId/folders/:folderId/records/:recordId',
      'GET /api/v1/grants/:grantId/blobs/:blobId',
    ]);
    const scoped = t.app.routes
      .filter((r) => r.method !== 'ALL' && /:(folderId|blobId)/.test(r.path))
      .map((r) => `${r.method} ${r.path}`);
    expect(scoped.length).toBeGreaterThan(0);
    for (const r of scoped) expect(tested, r).toContain(r);
  });

  for (const who of ['stranger', 'pending', 'removed'] as const) {
    it(`a ${who} account gets 404 everywhere, same as for a missing folder`, async () => {
      const acct = { stranger, pending, removed }[who];
      for (const r of routes()) {
        if (who === 'pending' && r.method === 'GET' && r.template === '/api/v1/folders/:folderId') {
          // By design (docs/api.md) a pending invitee sees that the folder exists, nothing more.
          const f = await t.api.get(r.path(ids.folder), acct.token);
          expect(f.body).toEqual({
            folderId: ids.folder,
            ownerId: owner.accountId,
            status: 'pending',
            role: 'pending',
          });
          continue;
        }
        const real = await t.api.call(r.method, r.path(ids.folder), {
          token: acct.token,
          json: r.json,
        });
        const missing = await t.api.call(r.method, r.path(newId()), {
          token: acct.token,
          json: r.json,
        });
        expect(real.status, `${r.method} ${r.template}`).toBe(404);
        expect(real.body, `${r.method} ${r.template}`).toEqual(missing.body);
      }
      for (const blob of [ids.attached, ids.loose]) {
        expect((await t.api.get(`blobs/${blob}`, acct.token)).status).toBe(404);
        expect((await t.api.delete(`blobs/${blob}`, acct.token)).status).toBe(404);
      }
    });
  }

  it('nothing was changed by those attempts', async () => {
    const f = await t.api.get<{ manifest: { seq: number }; profile: { version: number } }>(
      `folders/${ids.folder}`,
      owner.token,
    );
    expect(f.body.manifest.seq).toBe(2);
    expect(f.body.profile.version).toBe(1);
    const inv = await t.api.get<{ invites: unknown[] }>(
      `folders/${ids.folder}/invites`,
      owner.token,
    );
    expect(inv.body.invites).toHaveLength(1);
    expect((await t.api.get(`blobs/${ids.loose}`, owner.token)).status).toBe(200);
  });

  it('an unauthenticated request gets 401 on every API route but health and login', async () => {
    for (const r of routes()) {
      expect((await t.api.call(r.method, r.path(ids.folder), { json: r.json })).status).toBe(401);
    }
  });

  it('a removed uploader deleting its own attached blob gets 404, not a 409 that confirms it', async () => {
    const own = await t.api.call('DELETE', `blobs/${ids.removedOwn}`, { token: removed.token });
    const missing = await t.api.call('DELETE', `blobs/${newId()}`, { token: removed.token });
    expect(own.status).toBe(404);
    expect(own.body).toEqual(missing.body);
  });
});

import { afterEach, describe, expect, it } from 'vitest';
import { b64, createFolder, newId, register, rnd, testRelay, type TestRelay } from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

interface InviteList {
  invites: {
    inviteId: string;
    status: string;
    inviteeId: string | null;
    response: string | null;
  }[];
}

const DAY = 24 * 60 * 60_000;

async function setup() {
  t = testRelay();
  const owner = await register(t.api);
  const patient = await register(t.api, 'patient');
  const folderId = await createFolder(t.api, owner);
  const lookupId = newId();
  const created = await t.api.post<{ inviteId: string }>(
    `folders/${folderId}/invites`,
    { lookupId, sealedKey: rnd(100), expiresAt: t.clock.t + DAY, role: 'editor' },
    owner.token,
  );
  expect(created.status).toBe(201);
  return { owner, patient, folderId, lookupId, inviteId: created.body.inviteId };
}

describe('invites', () => {
  it('goes from invite to pending member to full member', async () => {
    const { owner, patient, folderId, lookupId } = await setup();
    const fetched = await t.api.get<{ folderId: string; inviterId: string }>(
      `invites/${lookupId}`,
      patient.token,
    );
    expect(fetched.status).toBe(200);
    expect(fetched.body.folderId).toBe(folderId);
    expect(fetched.body.inviterId).toBe(owner.accountId);

    const response = b64('MACed key bundle');
    const acc = await t.api.post(`invites/${lookupId}/accept`, { response }, patient.token);
    expect(acc.status).toBe(200);
    expect(acc.body).toEqual({ folderId });

    // Pending: the folder is listed as pending and nothing in it is served.
    const list = await t.api.get<{ folders: { folderId: string; status: string }[] }>(
      'folders',
      patient.token,
    );
    expect(list.body.folders).toEqual([
      { folderId, ownerId: owner.accountId, status: 'pending', role: 'pending' },
    ]);
    expect((await t.api.get(`folders/${folderId}/records`, patient.token)).status).toBe(404);
    expect((await t.api.get(`folders/${folderId}/manifests`, patient.token)).status).toBe(404);

    const pending = await t.api.get<InviteList>(`folders/${folderId}/invites`, owner.token);
    expect(pending.body.invites).toHaveLength(1);
    expect(pending.body.invites[0]).toMatchObject({
      status: 'accepted',
      inviteeId: patient.accountId,
      response,
    });

    // The owner publishes a manifest naming the patient, with a wrap: promotion.
    const up = await t.api.put(
      `folders/${folderId}/manifest`,
      {
        expectedSeq: 1,
        seq: 2,
        epoch: 1,
        manifest: b64('m2'),
        members: [
          { accountId: owner.accountId, role: 'owner' },
          { accountId: patient.accountId, role: 'editor' },
        ],
        wraps: [{ accountId: patient.accountId, epoch: 1, wrap: rnd(80) }],
      },
      owner.token,
    );
    expect(up.status).toBe(200);
    const now = await t.api.get<{ status: string; role: string; wraps: unknown[] }>(
      `folders/${folderId}`,
      patient.token,
    );
    expect(now.body).toMatchObject({ status: 'member', role: 'editor' });
    expect(now.body.wraps).toHaveLength(1);
    const after = await t.api.get<InviteList>(`folders/${folderId}/invites`, owner.token);
    expect(after.body.invites).toEqual([]);
  });

  it('is single-use: of two concurrent accepts one wins, and a used invite is 404', async () => {
    const { lookupId } = await setup();
    const other = await register(t.api, 'patient');
    const third = await register(t.api, 'patient');
    const [a, b] = await Promise.all([
      t.api.post(`invites/${lookupId}/accept`, { response: b64('a') }, other.token),
      t.api.post(`invites/${lookupId}/accept`, { response: b64('b') }, third.token),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 404]);
    expect((await t.api.get(`invites/${lookupId}`, other.token)).status).toBe(404);
  });

  it('expires (404), and expired open invites are cleaned up', async () => {
    const { patient, lookupId } = await setup();
    t.clock.t += DAY;
    const login = await t.api.post<{ session: { token: string } }>('auth/login', {
      userName: patient.userName,
      authKey: patient.authKey,
    });
    const token = login.body.session.token;
    expect((await t.api.get(`invites/${lookupId}`, token)).status).toBe(404);
    expect(
      (await t.api.post(`invites/${lookupId}/accept`, { response: b64('r') }, token)).status,
    ).toBe(404);
    expect((await t.maintain()).invites).toBe(1);
  });

  it('refuses a member accepting into their own folder (409) and unknown lookups (404)', async () => {
    const { owner, patient, lookupId } = await setup();
    expect(
      (await t.api.post(`invites/${lookupId}/accept`, { response: b64('r') }, owner.token)).status,
    ).toBe(409);
    expect((await t.api.get(`invites/${newId()}`, patient.token)).status).toBe(404);
  });

  it('lets only the owner create, list and revoke; revoking drops the pending member', async () => {
    const { owner, patient, folderId, lookupId, inviteId } = await setup();
    const editor = await register(t.api);
    const body = {
      lookupId: newId(),
      sealedKey: rnd(10),
      expiresAt: t.clock.t + DAY,
      role: 'reader',
    };
    expect((await t.api.post(`folders/${folderId}/invites`, body, editor.token)).status).toBe(404);
    expect((await t.api.get(`folders/${folderId}/invites`, patient.token)).status).toBe(404);
    // Same lookup id twice: conflict. Expiry in the past or too far: refused.
    expect(
      (await t.api.post(`folders/${folderId}/invites`, { ...body, lookupId }, owner.token)).status,
    ).toBe(409);
    expect(
      (
        await t.api.post(
          `folders/${folderId}/invites`,
          { ...body, expiresAt: t.clock.t - 1 },
          owner.token,
        )
      ).status,
    ).toBe(400);
    expect(
      (
        await t.api.post(
          `folders/${folderId}/invites`,
          { ...body, expiresAt: t.clock.t + 400 * DAY },
          owner.token,
        )
      ).status,
    ).toBe(400);

    await t.api.post(`invites/${lookupId}/accept`, { response: b64('r') }, patient.token);
    expect(
      (await t.api.delete(`folders/${folderId}/invites/${inviteId}`, patient.token)).status,
    ).toBe(404);
    expect(
      (await t.api.delete(`folders/${folderId}/invites/${inviteId}`, owner.token)).status,
    ).toBe(204);
    const list = await t.api.get<{ folders: unknown[] }>('folders', patient.token);
    expect(list.body.folders).toEqual([]);
  });

  it('stores a hash of the lookup id, never the id itself', async () => {
    const { lookupId } = await setup();
    const rows = t.relay.db.prepare('SELECT * FROM invites').all() as Record<string, unknown>[];
    const dump = rows
      .flatMap((r) => Object.values(r))
      .map((v) =>
        Buffer.isBuffer(v) ? `${v.toString('base64url')} ${v.toString('latin1')}` : String(v),
      )
      .join('\n');
    expect(dump).not.toContain(lookupId);
  });
});

/**
 * Staged imports through `app.request()`: the agent opens a batch and adds signed items under
 * an active import grant, and reads nothing back (not even its own blobs); the practitioner
 * lists, downloads (with ranges) and removes; import blobs outlive the unattached-blob
 * clean-up; every step is audited in the practitioner's account chain.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  signImportItem,
  type AccountId,
  type FolderId,
  type GrantId,
  type ImportItemFields,
} from '@carnet/shared/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  auditRows,
  auditTypes,
  HOUR,
  keyedAccount,
  LONG_SESSIONS,
  signGrant,
  upload,
  type KeyedAccount,
} from './grant-helpers';
import { createFolder, newId, rnd, testRelay, versionBody, type TestRelay } from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

interface Err {
  error: { code: string; message: string };
}
interface ImportList {
  imports: {
    importId: string;
    grantId: string;
    agentId: string;
    createdAt: number;
    grant: string;
    items: {
      item: number;
      signed: string;
      keyWrap: string;
      header: string;
      blobId: string | null;
      size: number | null;
      createdAt: number;
    }[];
  }[];
}

const sha = (s: string) =>
  new Uint8Array(createHash('sha256').update(Buffer.from(s, 'base64url')).digest());

/** A practitioner, an agent and an active import grant naming a fresh batch id. */
async function world(grantHours = 2) {
  t = testRelay(LONG_SESSIONS);
  const pract = await keyedAccount(t.api, 'practitioner');
  const agent = await keyedAccount(t.api, 'support');
  const importId = newId();
  const g = await signGrant(pract, agent, {
    folders: [importId],
    rights: 'import',
    notBefore: t.clock.t,
    expiresAt: t.clock.t + grantHours * HOUR,
  });
  const r = await t.api.post(
    'grants',
    { grant: g.grant, privateWrap: rnd(90), keyWraps: [] },
    pract.token,
  );
  expect(r.status).toBe(201);
  return { pract, agent, importId, grantId: g.grantId };
}

type World = Awaited<ReturnType<typeof world>>;

/** An item body signed by `signer` (the agent unless given), with optional overrides. */
async function itemBody(
  w: World,
  item: number,
  o: { blobId?: string; signer?: KeyedAccount; fields?: Partial<ImportItemFields> } = {},
) {
  const header = rnd(300);
  const keyWrap = rnd(120);
  const signer = o.signer ?? w.agent;
  const signed = await signImportItem(signer.secrets.identityPrivateKey, {
    grantId: w.grantId as GrantId,
    importId: w.importId as FolderId,
    item,
    agentId: signer.accountId as AccountId,
    practitionerId: w.pract.accountId as AccountId,
    headerHash: sha(header),
    contentDigest: new Uint8Array(32),
    keyWrapHash: sha(keyWrap),
    at: t.clock.t,
    ...o.fields,
  });
  return {
    item,
    signed: Buffer.from(signed).toString('base64url'),
    keyWrap,
    header,
    ...(o.blobId === undefined ? {} : { blobId: o.blobId }),
  };
}

const openImport = (w: World, importId = w.importId, who = w.agent) =>
  t.api.post<Err & { importId: string }>(`grants/${w.grantId}/imports`, { importId }, who.token);

const addItem = (w: World, body: unknown, importId = w.importId, who = w.agent) =>
  t.api.post<Err>(`grants/${w.grantId}/imports/${importId}/items`, body, who.token);

describe('staging', () => {
  it('opens a batch once (a retry is harmless) and audits it', async () => {
    const w = await world();
    const first = await openImport(w);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ importId: w.importId, grantId: w.grantId });
    expect((await openImport(w)).status).toBe(200);
    const staged = auditRows(t, w.pract.accountId).filter((e) => e.type === 'import.staged');
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatchObject({ actor_id: w.agent.accountId, grant_id: w.grantId });
    // An id that is a folder is taken.
    const folderId = await createFolder(t.api, w.pract);
    expect((await openImport(w, folderId)).status).toBe(409);
    // Nobody but the agent; never under a read grant.
    expect((await openImport(w, newId(), w.pract)).status).toBe(404);
    const readGrant = await signGrant(w.pract, w.agent, {
      folders: [folderId],
      notBefore: t.clock.t,
      expiresAt: t.clock.t + HOUR,
    });
    await t.api.post(
      'grants',
      {
        grant: readGrant.grant,
        privateWrap: rnd(90),
        keyWraps: [{ folderId, epoch: 1, wrap: rnd(90) }],
      },
      w.pract.token,
    );
    const viaRead = await t.api.post(
      `grants/${readGrant.grantId}/imports`,
      { importId: newId() },
      w.agent.token,
    );
    expect(viaRead.status).toBe(404);
    // And an import grant opens no read route.
    expect((await t.api.get(`grants/${w.grantId}/keys`, w.agent.token)).status).toBe(404);
  });

  it('adds signed items and refuses forged, mismatched or duplicate ones', async () => {
    const w = await world();
    await openImport(w);
    expect((await addItem(w, await itemBody(w, 1))).status).toBe(201);
    expect((await addItem(w, await itemBody(w, 1))).status).toBe(409);
    const other = await keyedAccount(t.api, 'support');
    const invalid = [
      await itemBody(w, 2, { signer: other }), // not the agent
      await itemBody(w, 2, { fields: { item: 3 } }), // signed for another number
      await itemBody(w, 2, { fields: { grantId: newId() as GrantId } }),
      await itemBody(w, 2, { fields: { practitionerId: other.accountId as AccountId } }),
      { ...(await itemBody(w, 2)), header: rnd(300) }, // header not the one signed
      { ...(await itemBody(w, 2)), keyWrap: rnd(120) },
      { ...(await itemBody(w, 2)), signed: rnd(238) },
    ];
    for (const body of invalid) {
      const r = await addItem(w, body);
      expect(r.body.error?.code).toBe('VALIDATION');
    }
    // Into a batch that does not exist, or as someone else: 404.
    expect((await addItem(w, await itemBody(w, 2), newId())).status).toBe(404);
    expect((await addItem(w, await itemBody(w, 2), w.importId, other)).status).toBe(404);
    expect((await addItem(w, await itemBody(w, 2))).status).toBe(201);
    const list = await t.api.get<ImportList>('imports', w.pract.token);
    expect(list.body.imports[0]!.items.map((i) => i.item)).toEqual([1, 2]);
  });

  it('stops at the end of the grant and at revocation', async () => {
    const w = await world();
    await openImport(w);
    await t.api.post(`grants/${w.grantId}/revoke`, {}, w.pract.token);
    expect((await addItem(w, await itemBody(w, 1))).status).toBe(404);
    expect((await openImport(w, newId())).status).toBe(404);
    const w2 = await world(1);
    await openImport(w2);
    t.clock.t += HOUR;
    expect((await addItem(w2, await itemBody(w2, 1))).status).toBe(404);
    expect((await t.maintain()).grants).toBe(1);
    expect(auditTypes(t, w2.pract.accountId)).toContain('grant.expired');
  });
});

describe('import blobs', () => {
  it('belong to the import: the agent cannot read, delete or reuse its own upload', async () => {
    const w = await world();
    await openImport(w);
    const data = Buffer.from(rnd(5000));
    const blobId = await upload(t.api, w.agent.token, data);
    // Before staging, the uploader may read its own unattached blob back (ordinary rule).
    expect((await t.api.get(`blobs/${blobId}`, w.agent.token)).status).toBe(200);
    expect((await addItem(w, await itemBody(w, 1, { blobId }))).status).toBe(201);
    expect((await t.api.get(`blobs/${blobId}`, w.agent.token)).status).toBe(404);
    expect((await t.api.delete(`blobs/${blobId}`, w.agent.token)).status).toBe(404);
    expect((await t.api.get(`blobs/${blobId}`, w.pract.token)).status).toBe(404);
    expect((await t.api.get('imports', w.agent.token)).body).toEqual({ imports: [] });
    expect((await t.api.get(`imports/${w.importId}/items/1/blob`, w.agent.token)).status).toBe(404);
    // Nor attach it to a record of a folder of its own, nor stage it twice.
    const own = await createFolder(t.api, w.agent);
    const attach = await t.api.post(
      `folders/${own}/records/${newId()}/versions`,
      versionBody(1, 1, blobId),
      w.agent.token,
    );
    expect(attach.status).toBe(404);
    expect((await addItem(w, await itemBody(w, 2, { blobId }))).status).toBe(404);
    // Someone else's blob cannot be staged.
    const foreign = await upload(t.api, w.pract.token, Buffer.from('x'));
    expect((await addItem(w, await itemBody(w, 2, { blobId: foreign }))).status).toBe(404);

    // The practitioner downloads it, whole or in part.
    const list = await t.api.get<ImportList>('imports', w.pract.token);
    expect(list.body.imports).toHaveLength(1);
    expect(list.body.imports[0]).toMatchObject({
      importId: w.importId,
      grantId: w.grantId,
      agentId: w.agent.accountId,
      items: [{ item: 1, blobId, size: data.length }],
    });
    const whole = await t.api.get<string>(`imports/${w.importId}/items/1/blob`, w.pract.token);
    expect(whole.status).toBe(200);
    expect(whole.body).toBe(data.toString());
    const part = await t.api.call<string>('GET', `imports/${w.importId}/items/1/blob`, {
      token: w.pract.token,
      headers: { range: 'bytes=-10' },
    });
    expect(part.status).toBe(206);
    expect(part.body).toBe(data.subarray(-10).toString());
  });

  it('survive the unattached-blob clean-up until the import is removed', async () => {
    const w = await world();
    await openImport(w);
    const staged = await upload(t.api, w.agent.token, Buffer.from('staged'));
    const loose = await upload(t.api, w.agent.token, Buffer.from('loose'));
    await addItem(w, await itemBody(w, 1, { blobId: staged }));
    t.clock.t += t.relay.config.unattachedBlobTtlMs + 1;
    const report = await t.maintain();
    expect(report.blobs).toBe(1);
    expect(t.relay.blobs.exists(loose)).toBe(false);
    expect(t.relay.blobs.exists(staged)).toBe(true);
    expect(existsSync(t.relay.files.path(staged))).toBe(true);
    expect(existsSync(t.relay.files.path(loose))).toBe(false);
    expect((await t.api.get(`imports/${w.importId}/items/1/blob`, w.pract.token)).status).toBe(200);
  });
});

describe('removal', () => {
  it('removes rows and blob files; only the practitioner; audited', async () => {
    const w = await world();
    await openImport(w);
    const blobId = await upload(t.api, w.agent.token, Buffer.from(rnd(100)));
    await addItem(w, await itemBody(w, 1, { blobId }));
    await addItem(w, await itemBody(w, 2));
    expect((await t.api.delete(`imports/${w.importId}`, w.agent.token)).status).toBe(404);
    expect((await t.api.delete(`imports/${newId()}`, w.pract.token)).status).toBe(404);
    expect((await t.api.delete(`imports/${w.importId}`, w.pract.token)).status).toBe(204);
    expect(t.relay.blobs.exists(blobId)).toBe(false);
    expect(existsSync(t.relay.files.path(blobId))).toBe(false);
    expect((await t.api.get<ImportList>('imports', w.pract.token)).body.imports).toEqual([]);
    expect((await t.api.delete(`imports/${w.importId}`, w.pract.token)).status).toBe(404);
    const removed = auditRows(t, w.pract.accountId).filter((e) => e.type === 'import.removed');
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ actor_id: w.pract.accountId, grant_id: w.grantId });
  });

  it('records an adoption in the practitioner and the adopted folder chains', async () => {
    const w = await world();
    await openImport(w);
    await addItem(w, await itemBody(w, 1));
    const stranger = await keyedAccount(t.api, 'practitioner');
    const foreign = await createFolder(t.api, stranger);
    const bad = await t.api.delete(`imports/${w.importId}?adopted=${foreign}`, w.pract.token);
    expect(bad.status).toBe(404);
    expect((await t.api.delete(`imports/${w.importId}?adopted=nope`, w.pract.token)).status).toBe(
      400,
    );
    const folderId = await createFolder(t.api, w.pract);
    const ok = await t.api.delete(`imports/${w.importId}?adopted=${folderId}`, w.pract.token);
    expect(ok.status).toBe(204);
    for (const chain of [w.pract.accountId, folderId]) {
      const adopted = auditRows(t, chain).filter((e) => e.type === 'import.adopted');
      expect(adopted).toHaveLength(1);
      expect(adopted[0]).toMatchObject({ folder_id: folderId, grant_id: w.grantId });
    }
    expect(auditTypes(t, w.pract.accountId)).not.toContain('import.removed');
  });
});

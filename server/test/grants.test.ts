/**
 * Support grants through `app.request()`: creation rules (signature, parties, ownership, key
 * wraps), listing and revocation, and the agent's access — only its own grant, only inside
 * the window, never after revocation (from the very next request), only within the scope —
 * with the audit events each step appends, and the expiry logged by maintenance.
 */
import {
  signClientAuditEvent,
  type AccountId,
  type FolderId,
  type GrantId,
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
  wrapEntry,
  type GrantSpec,
  type KeyedAccount,
} from './grant-helpers';
import {
  createFolder,
  newId,
  register,
  rnd,
  testRelay,
  versionBody,
  type TestRelay,
} from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

interface GrantEntry {
  grantId: string;
  practitionerId: string;
  agentId: string;
  rights: string;
  notBefore: number;
  expiresAt: number;
  createdAt: number;
  revokedAt: number | null;
  status: string;
  grant: string;
  keyWraps: { folderId: string; recordId: string | null; version: number | null; epoch: number }[];
}
interface Err {
  error: { code: string; message: string };
}

/** A practitioner with two folders (records r1 with a blob and r2 in A), an agent, a spare agent. */
async function world() {
  t = testRelay(LONG_SESSIONS);
  const pract = await keyedAccount(t.api, 'practitioner');
  const agent = await keyedAccount(t.api, 'support');
  const otherAgent = await keyedAccount(t.api, 'support');
  const folderA = await createFolder(t.api, pract);
  const folderB = await createFolder(t.api, pract);
  const blobData = Buffer.from(rnd(3000));
  const blobId = await upload(t.api, pract.token, blobData);
  const r1 = newId();
  const r2 = newId();
  for (const [rec, body] of [
    [r1, versionBody(1, 1, blobId)],
    [r1, versionBody(2, 1)],
    [r2, versionBody(1, 1)],
  ] as const) {
    const r = await t.api.post(`folders/${folderA}/records/${rec}/versions`, body, pract.token);
    expect(r.status).toBe(201);
  }
  return { pract, agent, otherAgent, folderA, folderB, blobId, blobData, r1, r2 };
}

type World = Awaited<ReturnType<typeof world>>;

const now = () => t.clock.t;
const window = (): Pick<GrantSpec, 'notBefore' | 'expiresAt'> => ({
  notBefore: now(),
  expiresAt: now() + 2 * HOUR,
});

async function postGrant(token: string, grant: string, keyWraps: ReturnType<typeof wrapEntry>[]) {
  return t.api.post<GrantEntry & Err>('grants', { grant, privateWrap: rnd(90), keyWraps }, token);
}

/** A folder-scope read grant on folder A, created; returns its id. */
async function folderGrant(w: World, spec: Partial<GrantSpec> = {}): Promise<string> {
  const g = await signGrant(w.pract, w.agent, { folders: [w.folderA], ...window(), ...spec });
  const r = await postGrant(w.pract.token, g.grant, [wrapEntry(w.folderA, 1)]);
  expect(r.status).toBe(201);
  return g.grantId;
}

/** The agent's read routes of a folder-scope grant on A; status of each. */
async function agentStatuses(w: World, grantId: string, who: KeyedAccount = w.agent) {
  const base = `grants/${grantId}`;
  const paths = [
    `${base}/keys`,
    `${base}/folders/${w.folderA}`,
    `${base}/folders/${w.folderA}/manifests`,
    `${base}/folders/${w.folderA}/records`,
    `${base}/folders/${w.folderA}/records/${w.r1}`,
    `${base}/blobs/${w.blobId}`,
  ];
  const out: number[] = [];
  for (const p of paths) out.push((await t.api.get(p, who.token)).status);
  return out;
}

describe('grant creation', () => {
  it('creates a folder-scope read grant that both parties see, and audits it', async () => {
    const w = await world();
    const g = await signGrant(w.pract, w.agent, { folders: [w.folderA, w.folderB], ...window() });
    const r = await postGrant(w.pract.token, g.grant, [
      wrapEntry(w.folderA, 1),
      wrapEntry(w.folderB, 1),
    ]);
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      grantId: g.grantId,
      practitionerId: w.pract.accountId,
      agentId: w.agent.accountId,
      rights: 'read',
      revokedAt: null,
      status: 'active',
      grant: g.grant,
    });
    expect(r.body.keyWraps).toHaveLength(2);
    expect(r.body.keyWraps[0]).toEqual({
      folderId: expect.any(String),
      recordId: null,
      version: null,
      epoch: 1,
    });
    for (const who of [w.pract, w.agent]) {
      const list = await t.api.get<{ grants: GrantEntry[] }>('grants', who.token);
      expect(list.body.grants.map((x) => x.grantId)).toEqual([g.grantId]);
      expect((await t.api.get(`grants/${g.grantId}`, who.token)).status).toBe(200);
    }
    expect((await t.api.get<{ grants: [] }>('grants', w.otherAgent.token)).body.grants).toEqual([]);
    expect((await t.api.get(`grants/${g.grantId}`, w.otherAgent.token)).status).toBe(404);
    for (const chain of [w.folderA, w.folderB, w.agent.accountId]) {
      const created = auditRows(t, chain).filter((e) => e.type === 'grant.created');
      expect(created).toHaveLength(1);
      expect(created[0]).toMatchObject({
        actor_id: w.pract.accountId,
        grant_id: g.grantId,
        subject_id: w.agent.accountId,
      });
    }
    // A scheduled grant is listed as such.
    const later = await signGrant(w.pract, w.agent, {
      folders: [w.folderB],
      notBefore: now() + HOUR,
      expiresAt: now() + 3 * HOUR,
    });
    const s = await postGrant(w.pract.token, later.grant, [wrapEntry(w.folderB, 1)]);
    expect(s.body.status).toBe('scheduled');
  });

  it('refuses bad signatures, wrong parties, past grants and reused ids', async () => {
    const w = await world();
    const patient = await keyedAccount(t.api, 'patient');
    const colleague = await keyedAccount(t.api, 'practitioner');
    const wraps = [wrapEntry(w.folderA, 1)];
    const expectCode = async (grant: string, code: string, token = w.pract.token) => {
      const r = await postGrant(token, grant, wraps);
      expect(r.body.error?.code, r.body.error?.message).toBe(code);
    };
    const good = await signGrant(w.pract, w.agent, { folders: [w.folderA], ...window() });
    // Tampered: one byte of the reason changed.
    const tampered = Buffer.from(good.bytes);
    tampered[tampered.length - 100]! ^= 1;
    await expectCode(tampered.toString('base64url'), 'VALIDATION');
    // Garbage.
    await expectCode(rnd(200), 'VALIDATION');
    // Signed by someone else in the practitioner's name.
    const forged = await signGrant(colleague, w.agent, {
      folders: [w.folderA],
      ...window(),
      practitionerId: w.pract.accountId,
    });
    await expectCode(forged.grant, 'VALIDATION');
    // A grant naming another practitioner, posted by this one.
    const theirs = await signGrant(colleague, w.agent, { folders: [w.folderA], ...window() });
    await expectCode(theirs.grant, 'VALIDATION');
    // The agent must be a support account.
    const toPatient = await signGrant(w.pract, patient, { folders: [w.folderA], ...window() });
    await expectCode(toPatient.grant, 'VALIDATION');
    // Only a practitioner grants.
    const byPatient = await signGrant(patient, w.agent, { folders: [w.folderA], ...window() });
    await expectCode(byPatient.grant, 'VALIDATION', patient.token);
    // A practitioner whose stored key bundle is not a real one cannot have signed anything.
    const fake = await register(t.api, 'practitioner');
    await expectCode(good.grant, 'VALIDATION', fake.token);
    // Already over.
    const past = await signGrant(w.pract, w.agent, {
      folders: [w.folderA],
      notBefore: now() - 2 * HOUR,
      expiresAt: now(),
    });
    await expectCode(past.grant, 'VALIDATION');
    // The good one passes once; its id cannot be reused.
    expect((await postGrant(w.pract.token, good.grant, wraps)).status).toBe(201);
    await expectCode(good.grant, 'CONFLICT');
    expect(auditTypes(t, w.folderA).filter((x) => x === 'grant.created')).toHaveLength(1);
  });

  it('requires the caller to own every folder in scope', async () => {
    const w = await world();
    const colleague = await keyedAccount(t.api, 'practitioner');
    const shared = await createFolder(t.api, colleague, [{ account: w.pract, role: 'editor' }]);
    const foreign = await createFolder(t.api, colleague);
    for (const folderId of [shared, foreign, newId()]) {
      const g = await signGrant(w.pract, w.agent, { folders: [w.folderA, folderId], ...window() });
      const r = await postGrant(w.pract.token, g.grant, [
        wrapEntry(w.folderA, 1),
        wrapEntry(folderId, 1),
      ]);
      expect(r.status).toBe(404);
    }
    expect((await t.api.get<{ grants: [] }>('grants', w.pract.token)).body.grants).toEqual([]);
  });

  it('checks folder key wraps: exactly one per folder, at its current epoch', async () => {
    const w = await world();
    const g = await signGrant(w.pract, w.agent, { folders: [w.folderA, w.folderB], ...window() });
    const cases: [ReturnType<typeof wrapEntry>[], number, string][] = [
      [[wrapEntry(w.folderA, 1)], 400, 'VALIDATION'], // missing B
      [[], 400, 'VALIDATION'],
      [
        [wrapEntry(w.folderA, 1), wrapEntry(w.folderB, 1), wrapEntry(newId(), 1)],
        400,
        'VALIDATION',
      ],
      [
        [wrapEntry(w.folderA, 1), wrapEntry(w.folderA, 1), wrapEntry(w.folderB, 1)],
        400,
        'VALIDATION',
      ],
      [[wrapEntry(w.folderA, 1), wrapEntry(w.folderB, 1, w.r1, 1)], 400, 'VALIDATION'],
      [[wrapEntry(w.folderA, 1), wrapEntry(w.folderB, 2)], 409, 'CONFLICT'], // stale epoch
    ];
    for (const [wraps, status, code] of cases) {
      const r = await postGrant(w.pract.token, g.grant, wraps);
      expect([r.status, r.body.error?.code]).toEqual([status, code]);
    }
    const ok = await postGrant(w.pract.token, g.grant, [
      wrapEntry(w.folderB, 1),
      wrapEntry(w.folderA, 1),
    ]);
    expect(ok.status).toBe(201);
  });

  it('checks record key wraps: one per stored version, at that version epoch', async () => {
    const w = await world();
    const g = await signGrant(w.pract, w.agent, {
      records: [{ folderId: w.folderA, recordId: w.r1 }],
      ...window(),
    });
    const v1 = wrapEntry(w.folderA, 1, w.r1, 1);
    const v2 = wrapEntry(w.folderA, 1, w.r1, 2);
    const bad: ReturnType<typeof wrapEntry>[][] = [
      [v1], // a version missing
      [v1, v2, wrapEntry(w.folderA, 1, w.r2, 1)], // out of scope
      [v1, v2, wrapEntry(w.folderA, 1)], // a folder key with a record scope
      [v1, { ...v2, epoch: 2 }], // wrong epoch
      [v1, { ...v2, version: undefined }], // record without version
    ];
    for (const wraps of bad) {
      const r = await postGrant(w.pract.token, g.grant, wraps);
      expect(r.body.error?.code).toBe('VALIDATION');
    }
    const ghost = await signGrant(w.pract, w.agent, {
      records: [{ folderId: w.folderA, recordId: newId() }],
      ...window(),
    });
    expect((await postGrant(w.pract.token, ghost.grant, [])).status).toBe(404);
    const ok = await postGrant(w.pract.token, g.grant, [v2, v1]);
    expect(ok.status).toBe(201);
    expect(ok.body.keyWraps.map((k) => [k.recordId, k.version])).toEqual([
      [w.r1, 1],
      [w.r1, 2],
    ]);
  });

  it('refuses key wraps on an import grant, and an import id that is a folder', async () => {
    const w = await world();
    const importId = newId();
    const g = await signGrant(w.pract, w.agent, {
      folders: [importId],
      rights: 'import',
      ...window(),
    });
    const withWrap = await postGrant(w.pract.token, g.grant, [wrapEntry(importId, 1)]);
    expect(withWrap.body.error?.code).toBe('VALIDATION');
    const onFolder = await signGrant(w.pract, w.agent, {
      folders: [w.folderA],
      rights: 'import',
      ...window(),
    });
    expect((await postGrant(w.pract.token, onFolder.grant, [])).status).toBe(409);
    const two = await signGrant(w.pract, w.agent, {
      folders: [newId(), newId()],
      rights: 'import',
      ...window(),
    });
    expect((await postGrant(w.pract.token, two.grant, [])).body.error?.code).toBe('VALIDATION');
    const ok = await postGrant(w.pract.token, g.grant, []);
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ rights: 'import', keyWraps: [] });
    // An import grant is recorded in the practitioner's account chain, not in a folder's.
    expect(auditTypes(t, w.pract.accountId)).toContain('grant.created');
    expect(auditTypes(t, importId)).toEqual([]);
  });
});

describe('agent access', () => {
  it('serves the keys, folder, records and blobs in scope, auditing every read', async () => {
    const w = await world();
    const grantId = await folderGrant(w);
    const keys = await t.api.get<{
      privateWrap: string;
      keyWraps: { folderId: string; recordId: null; version: null; epoch: number; wrap: string }[];
    }>(`grants/${grantId}/keys`, w.agent.token);
    expect(keys.status).toBe(200);
    expect(keys.body.keyWraps).toEqual([
      { folderId: w.folderA, recordId: null, version: null, epoch: 1, wrap: expect.any(String) },
    ]);
    const folder = await t.api.get<{
      folderId: string;
      ownerId: string;
      epoch: number;
      manifest: { seq: number };
      lineage: unknown[];
      profile: { version: number } | null;
    }>(`grants/${grantId}/folders/${w.folderA}`, w.agent.token);
    expect(folder.body).toMatchObject({
      folderId: w.folderA,
      ownerId: w.pract.accountId,
      epoch: 1,
      manifest: { seq: 1, epoch: 1 },
      lineage: [],
      profile: { version: 1 },
    });
    const records = await t.api.get<{ records: { recordId: string; versions: unknown[] }[] }>(
      `grants/${grantId}/folders/${w.folderA}/records`,
      w.agent.token,
    );
    expect(records.body.records.map((r) => r.recordId).sort()).toEqual([w.r1, w.r2].sort());
    const history = await t.api.get<{ versions: unknown[] }>(
      `grants/${grantId}/folders/${w.folderA}/records/${w.r1}`,
      w.agent.token,
    );
    expect(history.body.versions).toHaveLength(2);
    const manifests = await t.api.get<{ manifests: unknown[] }>(
      `grants/${grantId}/folders/${w.folderA}/manifests?after=0`,
      w.agent.token,
    );
    expect(manifests.body.manifests).toHaveLength(1);
    const whole = await t.api.get<string>(`grants/${grantId}/blobs/${w.blobId}`, w.agent.token);
    expect(whole.status).toBe(200);
    expect(whole.body).toBe(w.blobData.toString());
    const part = await t.api.call<string>('GET', `grants/${grantId}/blobs/${w.blobId}`, {
      token: w.agent.token,
      headers: { range: 'bytes=10-19' },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-19/${w.blobData.length}`);
    expect(part.body).toBe(w.blobData.subarray(10, 20).toString());
    const beyond = await t.api.call('GET', `grants/${grantId}/blobs/${w.blobId}`, {
      token: w.agent.token,
      headers: { range: `bytes=${w.blobData.length}-` },
    });
    expect(beyond.status).toBe(416);

    const events = auditRows(t, w.folderA).filter((e) => e.grant_id === grantId);
    expect(events.map((e) => e.type)).toEqual([
      'grant.created',
      'grant.keys',
      'grant.read', // folder
      'grant.read', // records
      'grant.read', // record history
      'grant.read', // manifests
      'grant.read', // whole blob
      'grant.read', // range; the unsatisfiable one is not logged
    ]);
    expect(events[4]).toMatchObject({ actor_id: w.agent.accountId, record_id: w.r1 });
    expect(events[6]).toMatchObject({ blob_id: w.blobId, record_id: w.r1, version: 1 });
  });

  it('answers 404 to anyone but the agent, and outside the scope', async () => {
    const w = await world();
    const grantId = await folderGrant(w);
    for (const who of [w.otherAgent, w.pract]) {
      expect(await agentStatuses(w, grantId, who)).toEqual([404, 404, 404, 404, 404, 404]);
    }
    const base = `grants/${grantId}`;
    const outside = [
      `${base}/folders/${w.folderB}`,
      `${base}/folders/${w.folderB}/records`,
      `${base}/folders/${w.folderB}/manifests`,
      `${base}/folders/${newId()}`,
      `${base}/folders/${w.folderA}/records/${newId()}`,
      `${base}/blobs/${newId()}`,
      `grants/${newId()}/keys`,
    ];
    for (const p of outside) expect((await t.api.get(p, w.agent.token)).status, p).toBe(404);
    // A blob of another folder of the same practitioner is outside too.
    const other = await upload(t.api, w.pract.token, Buffer.from('other'));
    await t.api.post(
      `folders/${w.folderB}/records/${newId()}/versions`,
      versionBody(1, 1, other),
      w.pract.token,
    );
    expect((await t.api.get(`${base}/blobs/${other}`, w.agent.token)).status).toBe(404);
    // The agent is no member of the folder: the ordinary routes stay closed.
    expect((await t.api.get(`folders/${w.folderA}`, w.agent.token)).status).toBe(404);
    expect((await t.api.get(`blobs/${w.blobId}`, w.agent.token)).status).toBe(404);
  });

  it('limits a record-scope grant to its records', async () => {
    const w = await world();
    const g = await signGrant(w.pract, w.agent, {
      records: [{ folderId: w.folderA, recordId: w.r2 }],
      ...window(),
    });
    const created = await postGrant(w.pract.token, g.grant, [wrapEntry(w.folderA, 1, w.r2, 1)]);
    expect(created.status).toBe(201);
    const base = `grants/${g.grantId}/folders/${w.folderA}`;
    const list = await t.api.get<{ records: { recordId: string }[] }>(
      `${base}/records`,
      w.agent.token,
    );
    expect(list.body.records.map((r) => r.recordId)).toEqual([w.r2]);
    expect((await t.api.get(`${base}/records/${w.r2}`, w.agent.token)).status).toBe(200);
    expect((await t.api.get(`${base}/records/${w.r1}`, w.agent.token)).status).toBe(404);
    // r1's blob is in the folder but not in the scope.
    expect((await t.api.get(`grants/${g.grantId}/blobs/${w.blobId}`, w.agent.token)).status).toBe(
      404,
    );
    const folder = await t.api.get<{ profile: unknown }>(base, w.agent.token);
    expect(folder.status).toBe(200);
    expect(folder.body.profile).toBeNull();
    const keys = await t.api.get<{ keyWraps: unknown[] }>(
      `grants/${g.grantId}/keys`,
      w.agent.token,
    );
    expect(keys.body.keyWraps).toEqual([
      { folderId: w.folderA, recordId: w.r2, version: 1, epoch: 1, wrap: expect.any(String) },
    ]);
  });

  it('serves nothing before notBefore or from expiry on, and logs the expiry once', async () => {
    const w = await world();
    const start = now();
    const grantId = await folderGrant(w, { notBefore: start + HOUR, expiresAt: start + 3 * HOUR });
    expect(await agentStatuses(w, grantId)).toEqual([404, 404, 404, 404, 404, 404]);
    t.clock.t = start + HOUR - 1;
    expect((await t.api.get(`grants/${grantId}/keys`, w.agent.token)).status).toBe(404);
    t.clock.t = start + HOUR;
    expect(await agentStatuses(w, grantId)).toEqual([200, 200, 200, 200, 200, 200]);
    t.clock.t = start + 3 * HOUR - 1;
    expect((await t.api.get(`grants/${grantId}/keys`, w.agent.token)).status).toBe(200);
    expect((await t.maintain()).grants).toBe(0);
    t.clock.t = start + 3 * HOUR;
    expect(await agentStatuses(w, grantId)).toEqual([404, 404, 404, 404, 404, 404]);
    expect((await t.api.get<GrantEntry>(`grants/${grantId}`, w.pract.token)).body.status).toBe(
      'expired',
    );
    expect((await t.maintain()).grants).toBe(1);
    expect((await t.maintain()).grants).toBe(0);
    const expired = auditRows(t, w.folderA).filter((e) => e.type === 'grant.expired');
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ grant_id: grantId, subject_id: w.agent.accountId });
    // Revoking an ended grant changes nothing.
    const r = await t.api.post<GrantEntry>(`grants/${grantId}/revoke`, {}, w.pract.token);
    expect(r.body).toMatchObject({ status: 'expired', revokedAt: null });
    expect(auditTypes(t, w.folderA)).not.toContain('grant.revoked');
  });

  it('stops serving on the request right after a revocation', async () => {
    const w = await world();
    const grantId = await folderGrant(w);
    expect(await agentStatuses(w, grantId)).toEqual([200, 200, 200, 200, 200, 200]);
    // Only the practitioner revokes.
    expect((await t.api.post(`grants/${grantId}/revoke`, {}, w.agent.token)).status).toBe(404);
    expect((await t.api.post(`grants/${grantId}/revoke`, {}, w.otherAgent.token)).status).toBe(404);
    const r = await t.api.post<GrantEntry>(`grants/${grantId}/revoke`, {}, w.pract.token);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'revoked', revokedAt: now() });
    expect(await agentStatuses(w, grantId)).toEqual([404, 404, 404, 404, 404, 404]);
    const again = await t.api.post<GrantEntry>(`grants/${grantId}/revoke`, {}, w.pract.token);
    expect(again.body).toEqual(r.body);
    expect(auditTypes(t, w.folderA).filter((x) => x === 'grant.revoked')).toHaveLength(1);
    // A revoked grant does not also "expire" later.
    t.clock.t += 5 * HOUR;
    expect((await t.maintain()).grants).toBe(0);
    expect(auditTypes(t, w.folderA)).not.toContain('grant.expired');
  });

  it('stores the viewed events the agent signs, only for its grant and scope', async () => {
    const w = await world();
    const grantId = await folderGrant(w);
    const sign = (who: KeyedAccount, f: Partial<Parameters<typeof signClientAuditEvent>[1]> = {}) =>
      signClientAuditEvent(who.secrets.identityPrivateKey, {
        action: 'viewed',
        actorId: who.accountId as AccountId,
        folderId: w.folderA as FolderId,
        recordId: w.r1 as never,
        version: 2,
        grantId: grantId as GrantId,
        at: now(),
        ...f,
      }).then((b) => ({ event: Buffer.from(b).toString('base64url') }));
    const post = async (body: { event: string }, who = w.agent) =>
      (await t.api.post<Err>(`grants/${grantId}/viewed`, body, who.token)).status;
    expect(await post(await sign(w.agent))).toBe(204);
    const viewed = auditRows(t, w.folderA).filter((e) => e.type === 'viewed');
    expect(viewed).toHaveLength(1);
    expect(viewed[0]).toMatchObject({
      actor_id: w.agent.accountId,
      record_id: w.r1,
      version: 2,
      grant_id: grantId,
    });
    expect(viewed[0]!.signed).not.toBeNull();
    expect(await post(await sign(w.agent, { action: 'exported' }))).toBe(400);
    expect(await post(await sign(w.agent, { grantId: newId() as GrantId }))).toBe(400);
    expect(await post(await sign(w.otherAgent))).toBe(400); // signed by someone else
    expect(await post(await sign(w.agent, { folderId: w.folderB as FolderId }))).toBe(404);
    expect(await post(await sign(w.otherAgent), w.otherAgent)).toBe(404);
    const forged = Buffer.from((await sign(w.agent)).event, 'base64url');
    forged[forged.length - 1]! ^= 1;
    expect(await post({ event: forged.toString('base64url') })).toBe(400);
    expect(auditRows(t, w.folderA).filter((e) => e.type === 'viewed')).toHaveLength(1);
  });
});

/**
 * Support grants end to end through the SDK, against a real relay on 127.0.0.1 whose clock the
 * test moves (as the clients' clocks): a practitioner grants a support agent read access to a
 * folder and to single records; the agent reads within scope, and is refused (typed errors, and
 * the relay's 404) out of scope, before the grant starts, after it expires and after it is
 * revoked, even by a relay that keeps serving an expired grant. When a grant ends, the
 * practitioner's next login rotates the folders it covered, and none of the keys the agent's
 * client ever saw opens what is written afterwards (forward secrecy). The patient sees the
 * support access in the folder's audit trail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CarnetClient,
  MemoryLocalStore,
  isApiError,
  type FetchLike,
  type FolderDetails,
  type RecordSummary,
} from '@carnet/shared/client';
import {
  asKey,
  fromBase64url,
  isCarnetError,
  openDataKey,
  openLineage,
  openProfile,
  openRecordHeader,
  unwrapFolderKeyAsMember,
  unwrapGrantPrivateKeyAsAgent,
  unwrapKeyAsGrant,
  type AccountId,
  type DataKey,
  type EncryptionPrivateKey,
  type FolderId,
  type FolderKey,
  type GrantId,
  type GrantPrivateKey,
  type RecordId,
} from '@carnet/shared/core';
import { startTestRelay, type TestRelay } from '../src/relay';
import {
  digestStream,
  generatedStream,
  heldKeys,
  hostileFetch,
  rejectsWith,
  relayDb,
} from '../src/sdk-helpers';

const MINUTE = 60_000;
const PASSWORD = { dr: 'grants dr password', agent: 'grants agent password', patient: 'pt pw 99' };

let relay: TestRelay;
/**
 * The one clock of the relay and of every client: tests move it. It ticks by a millisecond per
 * reading, as a real one would between requests (the record-list check orders versions by the
 * relay's timestamps, which a frozen clock would make all equal).
 */
let clock = Date.UTC(2030, 0, 7, 9, 0, 0);
const now = (): number => clock++;

beforeAll(async () => {
  relay = await startTestRelay({
    now,
    // The clock jumps by minutes: sessions must outlive the jumps.
    idleTimeoutMs: 48 * 60 * MINUTE,
    absoluteTimeoutMs: 48 * 60 * MINUTE,
  });
});
afterAll(async () => {
  await relay?.close();
});

function client(store = new MemoryLocalStore(), fetchImpl?: FetchLike): CarnetClient {
  return new CarnetClient({
    relayUrl: relay.url,
    store,
    now,
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
}

/** A raw request to the relay with a client's saved session token (to see the relay's own answer). */
async function raw(store: MemoryLocalStore, path: string): Promise<number> {
  const saved = JSON.parse((await store.get('session'))!) as { token: string };
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${saved.token}` },
  });
  await res.body?.cancel();
  return res.status;
}

async function rejectsApi(p: Promise<unknown>, code: string, status: number): Promise<void> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isApiError(e) ? `${e.status} ${e.code}` : e).toBe(`${status} ${code}`);
}

describe('support grants', () => {
  const drStore = new MemoryLocalStore();
  const agentStore = new MemoryLocalStore();
  const patientStore = new MemoryLocalStore();
  // Everything the agent's client ever received, to rebuild every key it could have held.
  const agentWire = hostileFetch();
  let dr: CarnetClient;
  let agent: CarnetClient;
  let patient: CarnetClient;
  let agentCode = '';
  let agentId = '' as AccountId;
  let folderA: FolderDetails;
  let folderB: FolderDetails;
  let folderC: FolderDetails;
  let noteA: RecordSummary;
  let docA: RecordSummary;
  let docSha = '';
  let recB: RecordSummary;
  let otherB: RecordSummary;
  let grantA = '';
  let grantRecords = '';

  it('sets up a practitioner with patients, a support agent and a patient member', async () => {
    dr = client(drStore);
    agent = client(agentStore, agentWire.fetch);
    patient = client(patientStore);
    await dr.signUp({ userName: 'dr.grant', password: PASSWORD.dr, role: 'practitioner' });
    const a = await agent.signUp({
      userName: 'help.desk',
      password: PASSWORD.agent,
      role: 'support',
    });
    agentCode = a.account.safetyCode;
    agentId = a.account.accountId;
    await patient.signUp({ userName: 'pat.grant', password: PASSWORD.patient, role: 'patient' });
    folderA = await dr.createFolder({ name: 'Agnès Roux', birthDate: '1970-05-02' });
    folderB = await dr.createFolder({ name: 'Bernard Roy' });
    folderC = await dr.createFolder({ name: 'Chloé Sand' });
    noteA = await dr.addRecord(folderA.folderId, {
      kind: 'note',
      title: 'Consultation',
      text: 'Douleur lombaire.',
    });
    const file = generatedStream(70_000, 7);
    docA = await dr.addRecord(folderA.folderId, {
      kind: 'document',
      fileName: 'scan.pdf',
      mimeType: 'application/pdf',
      size: 70_000,
      body: file.body,
    });
    docSha = await file.sha256;
    recB = await dr.addRecord(folderB.folderId, { kind: 'note', title: 'B1', text: 'v1' });
    recB = await dr.editRecord(
      folderB.folderId,
      recB.recordId,
      { kind: 'note', title: 'B1', text: 'v2' },
      { expectedVersion: 1 },
    );
    otherB = await dr.addRecord(folderB.folderId, { kind: 'note', title: 'B2', text: 'secret' });
    await dr.addRecord(folderC.folderId, { kind: 'note', title: 'C1', text: 'not granted' });
    const { link } = await dr.invitePatient(folderA.folderId);
    await patient.acceptInvite(link);
    await dr.processInvites(folderA.folderId);
  });

  it('refuses a grant to a wrong safety code, a non-support account or over 24 hours', async () => {
    const wrong = agentCode.replace(/^\d/, (d) => String((Number(d) + 1) % 10));
    const base = {
      agent: 'help.desk',
      folders: [folderA.folderId],
      rights: 'read' as const,
      durationMs: 10 * MINUTE,
      reason: 'Ticket 1',
    };
    await rejectsWith(dr.grants.create({ ...base, safetyCode: wrong }), 'KEY_UNVERIFIED');
    const patientCode = patient.account!.safetyCode;
    await rejectsWith(
      dr.grants.create({ ...base, agent: 'pat.grant', safetyCode: patientCode }),
      'INVALID_ARGUMENT',
    );
    await rejectsWith(
      dr.grants.create({ ...base, safetyCode: agentCode, durationMs: 24 * 60 * MINUTE + 1 }),
      'INVALID_ARGUMENT',
    );
    expect(await dr.grants.list()).toEqual([]);
  });

  it('lets the agent read a granted folder, and nothing else', async () => {
    const g = await dr.grants.create({
      agent: 'help.desk',
      safetyCode: agentCode,
      folders: [folderA.folderId],
      rights: 'read',
      durationMs: 10 * MINUTE,
      reason: 'Ticket 4521: the scan does not open',
    });
    grantA = g.grantId;
    expect(g).toMatchObject({ role: 'practitioner', status: 'active', rights: 'read' });

    const listed = await agent.grants.list();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      grantId: grantA,
      role: 'agent',
      status: 'active',
      reason: 'Ticket 4521: the scan does not open',
      scope: { folders: [folderA.folderId] },
    });
    const folder = await agent.grants.folder(grantA, folderA.folderId);
    expect(folder.profile?.name).toBe('Agnès Roux');
    const records = await agent.grants.listRecords(grantA, folderA.folderId);
    expect(records.map((r) => r.title).sort()).toEqual(['Consultation', 'scan.pdf']);
    const note = await agent.grants.readRecord(grantA, folderA.folderId, noteA.recordId);
    expect(note.text).toBe('Douleur lombaire.');
    const doc = await agent.grants.openDocument(grantA, folderA.folderId, docA.recordId);
    expect(await digestStream(doc.body)).toEqual({ sha256: docSha, size: 70_000 });

    // Out of scope: the client refuses before asking; the relay answers 404 anyway.
    await rejectsWith(agent.grants.listRecords(grantA, folderC.folderId), 'GRANT_SCOPE');
    await rejectsWith(
      agent.grants.readRecord(grantA, folderB.folderId, otherB.recordId),
      'GRANT_SCOPE',
    );
    expect(await raw(agentStore, `/grants/${grantA}/folders/${folderC.folderId}/records`)).toBe(
      404,
    );
    // The agent is not a member: the ordinary routes know nothing of the folder.
    await rejectsApi(agent.listRecords(folderA.folderId), 'NOT_FOUND', 404);
  });

  it('lets the agent read single records: every version, and no other record', async () => {
    const g = await dr.grants.create({
      agent: 'help.desk',
      safetyCode: agentCode,
      records: [{ folderId: folderB.folderId, recordId: recB.recordId }],
      rights: 'read',
      durationMs: 10 * MINUTE,
      reason: 'Ticket 4522',
    });
    grantRecords = g.grantId;
    const listed = await agent.grants.listRecords(grantRecords, folderB.folderId);
    expect(listed.map((r) => [r.title, r.version])).toEqual([['B1', 2]]);
    expect(
      (await agent.grants.readRecord(grantRecords, folderB.folderId, recB.recordId)).text,
    ).toBe('v2');
    const v1 = await agent.grants.readRecord(grantRecords, folderB.folderId, recB.recordId, {
      version: 1,
    });
    expect(v1.text).toBe('v1');
    const folder = await agent.grants.folder(grantRecords, folderB.folderId);
    expect(folder.profile).toBeUndefined();
    expect(folder.records).toEqual([recB.recordId]);
    await rejectsWith(
      agent.grants.readRecord(grantRecords, folderB.folderId, otherB.recordId),
      'GRANT_SCOPE',
    );
    expect(
      await raw(
        agentStore,
        `/grants/${grantRecords}/folders/${folderB.folderId}/records/${otherB.recordId}`,
      ),
    ).toBe(404);
  });

  it('refuses a grant before its start (client and relay)', async () => {
    const g = await dr.grants.create({
      agent: 'help.desk',
      safetyCode: agentCode,
      folders: [folderC.folderId],
      rights: 'read',
      notBefore: clock + 5 * MINUTE,
      durationMs: 10 * MINUTE,
      reason: 'Planned maintenance',
    });
    expect(g.status).toBe('scheduled');
    await rejectsWith(agent.grants.listRecords(g.grantId, folderC.folderId), 'GRANT_NOT_YET_VALID');
    expect(await raw(agentStore, `/grants/${g.grantId}/keys`)).toBe(404);
    await dr.grants.revoke(g.grantId);
  });

  it('refuses a grant that expires during a call', async () => {
    const g = await dr.grants.create({
      agent: 'help.desk',
      safetyCode: agentCode,
      folders: [folderC.folderId],
      rights: 'read',
      durationMs: 5 * MINUTE,
      reason: 'Short look',
    });
    // The relay answers the record list, and by the time the client returns, it is over.
    const saved = clock;
    const late = client(agentStore, async (input, init) => {
      const res = await fetch(input, init);
      if (input.endsWith(`/grants/${g.grantId}/folders/${folderC.folderId}/records`)) {
        clock = saved + 5 * MINUTE;
      }
      return res;
    });
    await late.unlock({ password: PASSWORD.agent });
    await rejectsWith(late.grants.listRecords(g.grantId, folderC.folderId), 'GRANT_EXPIRED');
    clock = saved;
    await dr.grants.revoke(g.grantId);
  });

  it('cuts a revoked grant off at the next request', async () => {
    const g = await dr.grants.create({
      agent: 'help.desk',
      safetyCode: agentCode,
      folders: [folderC.folderId],
      rights: 'read',
      durationMs: 30 * MINUTE,
      reason: 'Ticket 4600',
    });
    expect(await agent.grants.listRecords(g.grantId, folderC.folderId)).toHaveLength(1);
    const epochBefore = (await dr.getFolder(folderC.folderId)).epoch!;
    const { grant, rotated } = await dr.grants.revoke(g.grantId);
    expect(grant.status).toBe('revoked');
    // Revocation rotates at once.
    expect(rotated).toContain(folderC.folderId);
    expect((await dr.getFolder(folderC.folderId)).epoch).toBe(epochBefore + 1);
    // The relay refuses the very next request; the client, told so, refuses too.
    expect(await raw(agentStore, `/grants/${g.grantId}/keys`)).toBe(404);
    await rejectsWith(agent.grants.listRecords(g.grantId, folderC.folderId), 'GRANT_EXPIRED');
    // A relay that hides the revocation from the grant's entry still serves nothing: 404.
    agentWire.rewrite = (method, path, body) =>
      path === `/grants/${g.grantId}`
        ? { ...(body as object), status: 'active', revokedAt: null }
        : body;
    try {
      await rejectsApi(agent.grants.listRecords(g.grantId, folderC.folderId), 'NOT_FOUND', 404);
    } finally {
      agentWire.rewrite = undefined;
    }
    expect((await agent.grants.get(g.grantId)).status).toBe('revoked');
    // The practitioner still reads everything under the new key.
    expect((await dr.listRecords(folderC.folderId)).map((r) => r.title)).toEqual(['C1']);
  });

  it('refuses an expired grant, even when the relay keeps serving it', async () => {
    clock += 11 * MINUTE; // grantA and grantRecords are over
    await rejectsWith(agent.grants.listRecords(grantA, folderA.folderId), 'GRANT_EXPIRED');
    await rejectsWith(
      agent.grants.readRecord(grantRecords, folderB.folderId, recB.recordId),
      'GRANT_EXPIRED',
    );
    expect(await raw(agentStore, `/grants/${grantA}/keys`)).toBe(404);
    expect((await agent.grants.get(grantA)).status).toBe('expired');

    // A relay that ignores the end: the signed expiry still decides.
    const db = relayDb(relay.dataDir);
    try {
      db.prepare('UPDATE grants SET expires_at = ? WHERE grant_id = ?').run(
        clock + 60 * MINUTE,
        grantA,
      );
    } finally {
      db.close();
    }
    expect(await raw(agentStore, `/grants/${grantA}/keys`)).toBe(200);
    await rejectsWith(agent.grants.listRecords(grantA, folderA.folderId), 'GRANT_EXPIRED');
    await rejectsWith(
      agent.grants.readRecord(grantA, folderA.folderId, noteA.recordId),
      'GRANT_EXPIRED',
    );
  });

  it('rotates the folders of ended grants at the next login, and only once', async () => {
    const epochA = (await dr.getFolder(folderA.folderId)).epoch!;
    const epochB = (await dr.getFolder(folderB.folderId)).epoch!;
    const again = client(drStore);
    await again.login({ userName: 'dr.grant', password: PASSWORD.dr });
    expect((await again.getFolder(folderA.folderId)).epoch).toBe(epochA + 1);
    expect((await again.getFolder(folderB.folderId)).epoch).toBe(epochB + 1);
    // Members keep reading: the owner and the patient, old and new records alike.
    expect((await again.listRecords(folderA.folderId)).map((r) => r.title).sort()).toEqual([
      'Consultation',
      'scan.pdf',
    ]);
    expect((await patient.getFolder(folderA.folderId)).profile?.name).toBe('Agnès Roux');
    expect((await patient.listRecords(folderA.folderId)).length).toBe(2);
    // Nothing left to do: a second pass rotates nothing.
    expect(await again.grants.rotateEnded()).toEqual({ rotated: [] });
    dr = again;
  });

  it('forward secrecy: no key the agent ever saw opens anything written after the grant', async () => {
    const { keys: own } = await heldKeys(relay.url, 'help.desk', PASSWORD.agent);
    const encPriv = asKey<EncryptionPrivateKey>(own[1]!);
    const grantKeys: GrantPrivateKey[] = [];
    const folderKeys: { folderId: FolderId; epoch: number; key: FolderKey }[] = [];
    const dataKeys: DataKey[] = [];
    const bodies = agentWire.seen.map((s) => ({
      path: s.path,
      body: s.body as Record<string, unknown>,
    }));
    for (const { path, body } of bodies) {
      const m = /^\/grants\/([^/]+)\/keys$/.exec(path);
      if (!m || typeof body.privateWrap !== 'string') continue;
      const grantId = m[1] as GrantId;
      const priv = await unwrapGrantPrivateKeyAsAgent(encPriv, fromBase64url(body.privateWrap), {
        grantId,
        agentId,
      });
      grantKeys.push(priv);
      for (const w of body.keyWraps as {
        folderId: FolderId;
        recordId: RecordId | null;
        version: number | null;
        epoch: number;
        wrap: string;
      }[]) {
        const wrap = fromBase64url(w.wrap);
        if (w.recordId === null) {
          const key = await unwrapKeyAsGrant(priv, wrap, {
            grantId,
            folderId: w.folderId,
            epoch: w.epoch,
          });
          folderKeys.push({ folderId: w.folderId, epoch: w.epoch, key });
        } else {
          dataKeys.push(
            await unwrapKeyAsGrant(priv, wrap, {
              grantId,
              folderId: w.folderId,
              recordId: w.recordId,
              version: w.version!,
              epoch: w.epoch,
            }),
          );
        }
      }
    }
    // Older folder keys through every lineage link the agent was served.
    for (const { path, body } of bodies) {
      if (!/^\/grants\/[^/]+\/folders\/[^/]+$/.test(path)) continue;
      const folderId = body.folderId as FolderId;
      for (const l of body.lineage as { epoch: number; data: string }[]) {
        const newer = folderKeys.find((k) => k.folderId === folderId && k.epoch === l.epoch);
        if (newer === undefined) continue;
        folderKeys.push({
          folderId,
          epoch: l.epoch - 1,
          key: openLineage(newer.key, fromBase64url(l.data), folderId, l.epoch),
        });
      }
    }
    // Every data key the agent's folder keys open, from every record version it was served.
    for (const { path, body } of bodies) {
      const m = /^\/grants\/[^/]+\/folders\/([^/]+)\/records(?:\/([^/]+))?$/.exec(path);
      if (!m) continue;
      const folderId = m[1] as FolderId;
      const versions: { version: number; epoch: number; dataKey: string; recordId: RecordId }[] =
        m[2] !== undefined
          ? (body.versions as { version: number; epoch: number; dataKey: string }[]).map((v) => ({
              ...v,
              recordId: m[2] as RecordId,
            }))
          : (
              body.records as {
                recordId: RecordId;
                latest: { version: number; epoch: number; dataKey: string };
              }[]
            ).map((r) => ({ ...r.latest, recordId: r.recordId }));
      for (const v of versions) {
        const fk = folderKeys.find((k) => k.folderId === folderId && k.epoch === v.epoch);
        if (fk === undefined) continue;
        dataKeys.push(
          openDataKey(fk.key, fromBase64url(v.dataKey), {
            folderId,
            recordId: v.recordId,
            version: v.version,
            epoch: v.epoch,
          }),
        );
      }
    }
    expect(grantKeys.length).toBeGreaterThanOrEqual(2);
    expect(folderKeys.some((k) => k.folderId === folderA.folderId)).toBe(true);
    expect(dataKeys.length).toBeGreaterThanOrEqual(4);
    const held: Uint8Array[] = [...own, ...grantKeys, ...folderKeys.map((k) => k.key), ...dataKeys];

    // After the grant ended and the folder was rotated, the practitioner writes a new record.
    const fresh = await dr.addRecord(folderA.folderId, {
      kind: 'note',
      title: 'After the grant',
      text: 'Written once support access had ended.',
    });
    const db = relayDb(relay.dataDir);
    let row: { header: Buffer; data_key: Buffer; epoch: number };
    let oldRow: { data_key: Buffer; epoch: number };
    let wraps: { account_id: string; epoch: number; wrap: Buffer }[];
    let lineage: { data: Buffer } | undefined;
    let profile: { profile: Buffer } | undefined;
    try {
      row = db
        .prepare(
          'SELECT header, data_key, epoch FROM record_versions WHERE folder_id = ? AND record_id = ?',
        )
        .get(folderA.folderId, fresh.recordId) as typeof row;
      oldRow = db
        .prepare(
          'SELECT data_key, epoch FROM record_versions WHERE folder_id = ? AND record_id = ?',
        )
        .get(folderA.folderId, noteA.recordId) as typeof oldRow;
      wraps = db
        .prepare(
          'SELECT account_id, epoch, wrap FROM member_wraps WHERE folder_id = ? AND epoch = ?',
        )
        .all(folderA.folderId, row.epoch) as typeof wraps;
      lineage = db
        .prepare('SELECT data FROM folder_lineage WHERE folder_id = ? AND epoch = ?')
        .get(folderA.folderId, row.epoch) as typeof lineage;
      profile = db
        .prepare('SELECT profile FROM folders WHERE folder_id = ?')
        .get(folderA.folderId) as typeof profile | undefined;
    } finally {
      db.close();
    }
    expect(row.epoch).toBeGreaterThan(oldRow.epoch);
    expect(wraps.length).toBe(2); // the practitioner and the patient
    expect(lineage).toBeDefined();
    const folderId = folderA.folderId;
    const recordId = fresh.recordId;
    const epoch = row.epoch;

    // The test can fail: the held keys do open what was written before.
    const oldOpened = held.filter((k) =>
      opens(() =>
        openDataKey(asKey<FolderKey>(k), new Uint8Array(oldRow.data_key), {
          folderId,
          recordId: noteA.recordId,
          version: 1,
          epoch: oldRow.epoch,
        }),
      ),
    );
    expect(oldOpened.length).toBeGreaterThan(0);

    for (const k of held) {
      expect(
        opens(() =>
          openDataKey(asKey<FolderKey>(k), new Uint8Array(row.data_key), {
            folderId,
            recordId,
            version: 1,
            epoch,
          }),
        ),
      ).toBe(false);
      expect(
        opens(() =>
          openRecordHeader(asKey<DataKey>(k), new Uint8Array(row.header), {
            folderId,
            recordId,
            version: 1,
          }),
        ),
      ).toBe(false);
      expect(
        opens(() =>
          openLineage(asKey<FolderKey>(k), new Uint8Array(lineage!.data), folderId, epoch),
        ),
      ).toBe(false);
      if (profile?.profile) {
        expect(
          opens(() =>
            openProfile(asKey<FolderKey>(k), new Uint8Array(profile!.profile), folderId, epoch),
          ),
        ).toBe(false);
      }
      for (const w of wraps) {
        expect(
          await opensAsync(() =>
            unwrapFolderKeyAsMember(asKey<EncryptionPrivateKey>(k), new Uint8Array(w.wrap), {
              folderId,
              epoch,
              accountId: w.account_id as AccountId,
            }),
          ),
        ).toBe(false);
      }
    }
    // And the members read it.
    expect((await patient.readRecord(folderId, recordId)).text).toBe(
      'Written once support access had ended.',
    );
  });

  it('shows the patient every support access in the folder audit trail', async () => {
    const trail = await patient.audit.folder(folderA.folderId);
    const support = trail.events.filter((e) => e.grantId === grantA);
    const types = new Set(support.map((e) => e.type));
    expect(types).toContain('grant.created');
    expect(types).toContain('grant.keys');
    expect(types).toContain('grant.read');
    expect(types).toContain('viewed');
    const read = support.find((e) => e.type === 'grant.read' && e.recordId === noteA.recordId);
    expect(read?.actorId).toBe(agentId);
    expect(read?.text).toMatch(/help\.desk/);
    const viewed = support.find((e) => e.type === 'viewed');
    expect(viewed?.signed?.status).toBe('verified');
    expect(viewed?.signed?.fields.grantId).toBe(grantA);
  });
});

function opens(f: () => unknown): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (!isCarnetError(e)) throw e;
    return false;
  }
}

async function opensAsync(f: () => Promise<unknown>): Promise<boolean> {
  try {
    await f();
    return true;
  } catch (e) {
    if (!isCarnetError(e)) throw e;
    return false;
  }
}

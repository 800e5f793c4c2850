/**
 * The audit trail through `app.request()`: an event for each audited route, in the same
 * transaction as the write it records; chains linked by hashes; who may read which chain;
 * client-signed events; and the offline check finding edited, deleted and truncated rows.
 */
import {
  auditEventHash,
  createKeyBundle,
  generateAccountKeys,
  newId as coreNewId,
  signClientAuditEvent,
  verifyAuditChain,
  type AccountId,
  type AccountSecrets,
  type AuditEvent,
  type ClientAuditFields,
  type FolderId,
} from '@carnet/shared/core';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyAuditDatabase } from '../src/admin/verify-audit';
import { appendAudit, rowToEvent, type AuditRow } from '../src/store/audit';
import {
  b64,
  createFolder,
  digestHeader,
  kdf,
  newId,
  register,
  rnd,
  testRelay,
  versionBody,
  type Api,
  type TestAccount,
  type TestRelay,
} from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

interface WireEvent {
  seq: number;
  at: number;
  type: string;
  actorId: string | null;
  folderId: string | null;
  recordId: string | null;
  version: number | null;
  grantId: string | null;
  blobId: string | null;
  subjectId: string | null;
  signed: string | null;
  prevHash: string;
  hash: string;
}
interface ChainAnswer {
  chainId: string;
  events: WireEvent[];
  head: { seq: number; hash: string };
  grants: { grantId: string; grant: string }[];
}

const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));

/** Decodes served events back to core events. */
function toEvents(chainId: string, events: WireEvent[]): AuditEvent[] {
  return events.map(
    (e) =>
      ({
        ...e,
        chainId,
        signed: e.signed === null ? null : bytes(e.signed),
        prevHash: bytes(e.prevHash),
      }) as unknown as AuditEvent,
  );
}

/** Every stored row of a chain, oldest first (straight from the database). */
function rows(chainId: string): AuditRow[] {
  return t.relay.db
    .prepare<[string], AuditRow>('SELECT * FROM audit_events WHERE chain_id = ? ORDER BY seq')
    .all(chainId);
}
const types = (chainId: string) => rows(chainId).map((r) => r.type);

async function folderAudit(api: Api, folderId: string, token: string) {
  return api.get<ChainAnswer>(`folders/${folderId}/audit`, token);
}

/** Registers an account with a real, signed key bundle (for client-signed events). */
async function registerReal(api: Api): Promise<TestAccount & { secrets: AccountSecrets }> {
  const secrets = await generateAccountKeys();
  const accountId = coreNewId<AccountId>();
  const keyBundle = await createKeyBundle(secrets, {
    accountId,
    role: 'practitioner',
    createdAt: 1,
  });
  const a = {
    accountId: accountId as string,
    userName: `real.${rnd(6)
      .toLowerCase()
      .replace(/[^a-z0-9]/g, 'x')}`,
    authKey: rnd(32),
    recoveryAuthKey: rnd(32),
  };
  const r = await api.post<{ session: { token: string } }>('accounts', {
    accountId: a.accountId,
    userName: a.userName,
    role: 'practitioner',
    keyBundle: Buffer.from(keyBundle).toString('base64url'),
    authKey: a.authKey,
    kdf: kdf(),
    keyring: b64('k'),
    recovery: { authKey: a.recoveryAuthKey, keyring: b64('r') },
  });
  expect(r.status).toBe(201);
  return { ...a, token: r.body.session.token, secrets };
}

async function upload(api: Api, token: string, data: Buffer): Promise<string> {
  const r = await api.call<{ blobId: string }>('POST', 'blobs', {
    token,
    body: new Uint8Array(data),
    headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
  });
  expect(r.status).toBe(201);
  return r.body.blobId;
}

describe('audit hooks', () => {
  it('appends one event per audited route, linked as a chain', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const colleague = await register(t.api);
    const folderId = await createFolder(t.api, owner, [{ account: colleague, role: 'reader' }]);
    expect(types(folderId)).toEqual(['folder.created', 'member.added']);
    expect(rows(folderId)[1]).toMatchObject({
      actor_id: owner.accountId,
      subject_id: colleague.accountId,
    });
    // The subject sees it in its own account chain.
    expect(types(colleague.accountId)).toEqual(['member.added']);

    expect((await t.api.get(`folders/${folderId}`, colleague.token)).status).toBe(200);
    expect((await t.api.get('folders', owner.token)).status).toBe(200);
    expect(
      rows(folderId)
        .slice(2)
        .map((r) => [r.type, r.actor_id]),
    ).toEqual([
      ['keys.folder', colleague.accountId],
      ['keys.folder', owner.accountId],
    ]);

    const recordId = newId();
    const blobId = await upload(t.api, owner.token, Buffer.from('ciphertext'));
    const posted = await t.api.post(
      `folders/${folderId}/records/${recordId}/versions`,
      versionBody(1, 1, blobId),
      owner.token,
    );
    expect(posted.status).toBe(201);
    // A lost compare-and-swap writes nothing, its event included.
    const lost = await t.api.post(
      `folders/${folderId}/records/${recordId}/versions`,
      versionBody(1, 1),
      owner.token,
    );
    expect(lost.status).toBe(409);
    expect(rows(folderId).at(-1)).toMatchObject({
      type: 'record.written',
      record_id: recordId,
      version: 1,
      blob_id: blobId,
    });

    const before = rows(folderId).length;
    await t.api.get(`folders/${folderId}/records`, colleague.token);
    await t.api.get(`folders/${folderId}/records/${recordId}`, colleague.token);
    await t.api.get(`folders/${folderId}/records/${recordId}/versions/1`, colleague.token);
    await t.api.get(`blobs/${blobId}`, colleague.token);
    await t.api.call('HEAD', `blobs/${blobId}`, { token: colleague.token });
    expect(
      rows(folderId)
        .slice(before)
        .map((r) => [r.type, r.record_id, r.version, r.blob_id]),
    ).toEqual([
      ['keys.records', null, null, null],
      ['keys.records', recordId, null, null],
      ['keys.records', recordId, 1, null],
      ['blob.read', null, null, blobId],
    ]);

    const a = await folderAudit(t.api, folderId, colleague.token);
    expect(a.status).toBe(200);
    expect(a.body.chainId).toBe(folderId);
    expect(a.body.head.seq).toBe(a.body.events.length);
    const head = verifyAuditChain(toEvents(folderId, a.body.events), {
      chainId: folderId,
      hashes: a.body.events.map((e) => bytes(e.hash)),
    });
    expect(b64url(head)).toBe(a.body.head.hash);
    // Paging: after/limit.
    const page = await t.api.get<ChainAnswer>(
      `folders/${folderId}/audit?after=2&limit=3`,
      owner.token,
    );
    expect(page.body.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(page.body.head).toEqual(a.body.head);
  });

  it('records invites and membership changes', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const patient = await register(t.api, 'patient');
    const folderId = await createFolder(t.api, owner);
    const invite = async () => {
      const lookupId = newId();
      const r = await t.api.post<{ inviteId: string }>(
        `folders/${folderId}/invites`,
        { lookupId, sealedKey: rnd(50), expiresAt: t.clock.t + 3_600_000, role: 'editor' },
        owner.token,
      );
      expect(r.status).toBe(201);
      return { lookupId, inviteId: r.body.inviteId };
    };
    const first = await invite();
    expect(
      (await t.api.post(`invites/${first.lookupId}/accept`, { response: b64('r') }, patient.token))
        .status,
    ).toBe(200);
    // Revoking an accepted invite drops the pending invitee: the subject is named.
    expect(
      (await t.api.delete(`folders/${folderId}/invites/${first.inviteId}`, owner.token)).status,
    ).toBe(204);
    expect((await t.api.delete(`folders/${folderId}/invites/${newId()}`, owner.token)).status).toBe(
      404,
    );
    const second = await invite();
    await t.api.post(`invites/${second.lookupId}/accept`, { response: b64('r') }, patient.token);
    const promote = await t.api.put(
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
    expect(promote.status).toBe(200);
    const remove = await t.api.put(
      `folders/${folderId}/manifest`,
      {
        expectedSeq: 2,
        seq: 3,
        epoch: 2,
        manifest: b64('m3'),
        members: [{ accountId: owner.accountId, role: 'owner' }],
        wraps: [{ accountId: owner.accountId, epoch: 2, wrap: rnd(80) }],
        lineage: b64('l'),
      },
      owner.token,
    );
    expect(remove.status).toBe(200);
    const events = rows(folderId).filter((r) => r.type !== 'keys.folder');
    expect(events.map((r) => [r.type, r.actor_id, r.subject_id])).toEqual([
      ['folder.created', owner.accountId, null],
      ['invite.created', owner.accountId, null],
      ['member.pending', patient.accountId, patient.accountId],
      ['invite.revoked', owner.accountId, patient.accountId],
      ['invite.created', owner.accountId, null],
      ['member.pending', patient.accountId, patient.accountId],
      ['member.added', owner.accountId, patient.accountId],
      ['member.removed', owner.accountId, patient.accountId],
    ]);
    // The patient's account chain tells the whole story, the removal included.
    expect(types(patient.accountId)).toEqual([
      'member.pending',
      'invite.revoked',
      'member.pending',
      'member.added',
      'member.removed',
    ]);
    const mine = await t.api.get<ChainAnswer>('accounts/me/audit', patient.token);
    expect(mine.status).toBe(200);
    expect(mine.body.chainId).toBe(patient.accountId);
    expect(mine.body.events).toHaveLength(5);
    // A removed member no longer reads the folder's chain.
    expect((await folderAudit(t.api, folderId, patient.token)).status).toBe(404);
  });
});

describe('audit access control', () => {
  it('serves a folder chain to full members only', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const stranger = await register(t.api);
    const pending = await register(t.api, 'patient');
    const folderId = await createFolder(t.api, owner);
    const lookupId = newId();
    await t.api.post(
      `folders/${folderId}/invites`,
      { lookupId, sealedKey: rnd(50), expiresAt: t.clock.t + 3_600_000, role: 'reader' },
      owner.token,
    );
    await t.api.post(`invites/${lookupId}/accept`, { response: b64('r') }, pending.token);
    const missing = await folderAudit(t.api, newId(), owner.token);
    expect(missing.status).toBe(404);
    for (const who of [stranger, pending]) {
      const r = await folderAudit(t.api, folderId, who.token);
      expect(r.status).toBe(404);
      expect(r.body).toEqual(missing.body);
    }
    expect((await folderAudit(t.api, folderId, owner.token)).status).toBe(200);
    expect((await t.api.get(`folders/${folderId}/audit`)).status).toBe(401);
    expect((await t.api.get('accounts/me/audit')).status).toBe(401);
    for (const q of ['after=-1', 'after=x', 'limit=0', 'limit=1001']) {
      expect((await t.api.get(`folders/${folderId}/audit?${q}`, owner.token)).status).toBe(400);
    }
    // The account chain of a fresh account: empty, head at seq 0.
    const empty = await t.api.get<ChainAnswer>('accounts/me/audit', stranger.token);
    expect(empty.body).toEqual({
      chainId: stranger.accountId,
      events: [],
      head: { seq: 0, hash: b64url(new Uint8Array(32)) },
      grants: [],
    });
  });

  it('serves a grant’s events across chains to its practitioner, with a strict cursor', async () => {
    t = testRelay();
    const practitioner = await register(t.api);
    const agent = await register(t.api, 'support');
    const folderA = await createFolder(t.api, practitioner);
    const folderB = await createFolder(t.api, practitioner);
    const grantId = newId();
    const data = Buffer.from('signed grant bytes');
    t.relay.db
      .prepare(
        `INSERT INTO grants (grant_id, practitioner_id, agent_id, rights, not_before, expires_at,
          data, private_wrap, created_at) VALUES (?, ?, ?, 'read', ?, ?, ?, ?, ?)`,
      )
      .run(
        grantId,
        practitioner.accountId,
        agent.accountId,
        t.clock.t,
        t.clock.t + 3_600_000,
        data,
        Buffer.from('w'),
        t.clock.t,
      );
    // Several events in one millisecond, across two chains: the cursor must not skip any.
    const at = t.clock.t;
    for (const folderId of [folderA, folderB, folderA]) {
      appendAudit(t.relay.db, {
        chainId: folderId,
        type: 'grant.read',
        at,
        actorId: agent.accountId,
        folderId,
        grantId,
      });
    }
    appendAudit(t.relay.db, {
      chainId: folderA,
      type: 'grant.revoked',
      at: at + 1,
      actorId: practitioner.accountId,
      folderId: folderA,
      grantId,
    });
    type GrantAnswer = { events: (WireEvent & { chainId: string })[]; cursor: string };
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const r = await t.api.get<GrantAnswer>(
        `grants/${grantId}/audit?after=${encodeURIComponent(cursor)}&limit=1`,
        practitioner.token,
      );
      expect(r.status).toBe(200);
      if (r.body.events.length === 0) {
        expect(r.body.cursor).toBe(cursor);
        break;
      }
      seen.push(...r.body.events.map((e) => `${e.chainId}/${e.seq}/${e.type}`));
      cursor = r.body.cursor;
    }
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);
    expect(seen.at(-1)).toMatch(/grant\.revoked$/);
    // The agent, a stranger and unknown grants: 404.
    expect((await t.api.get(`grants/${grantId}/audit`, agent.token)).status).toBe(404);
    expect((await t.api.get(`grants/${newId()}/audit`, practitioner.token)).status).toBe(404);
    expect(
      (await t.api.get(`grants/${grantId}/audit?after=bogus`, practitioner.token)).status,
    ).toBe(400);
    // The folder answer carries the signed grant its events name (the patient's only source).
    const fa = await folderAudit(t.api, folderA, practitioner.token);
    expect(fa.body.grants).toEqual([{ grantId, grant: data.toString('base64url') }]);
    // The partial index serves the query.
    const plan = t.relay.db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT * FROM audit_events WHERE grant_id = ? AND grant_id IS NOT NULL
         AND at >= ? AND (at, chain_id, seq) > (?, ?, ?) ORDER BY at, chain_id, seq LIMIT ?`,
      )
      .all(grantId, 0, 0, '', 0, 10) as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toContain('audit_by_grant');
  });
});

describe('client-signed events', () => {
  it('stores a member’s signed "viewed" event, and refuses anything else', async () => {
    t = testRelay();
    const owner = await registerReal(t.api);
    const other = await registerReal(t.api);
    const folderId = await createFolder(t.api, owner, [{ account: other, role: 'reader' }]);
    const recordId = newId();
    await t.api.post(
      `folders/${folderId}/records/${recordId}/versions`,
      versionBody(1),
      owner.token,
    );
    const fields: ClientAuditFields = {
      action: 'viewed',
      actorId: owner.accountId as AccountId,
      folderId: folderId as FolderId,
      recordId: recordId as ClientAuditFields['recordId'],
      version: 1,
      grantId: null,
      at: t.clock.t,
    };
    const post = (event: Uint8Array, token = owner.token, f = folderId) =>
      t.api.post(`folders/${f}/audit/events`, { event: b64url(event) }, token);
    const good = await signClientAuditEvent(owner.secrets.identityPrivateKey, fields);
    expect((await post(good)).status).toBe(204);
    const last = rows(folderId).at(-1)!;
    expect(last).toMatchObject({
      type: 'viewed',
      actor_id: owner.accountId,
      record_id: recordId,
      version: 1,
    });
    expect(Buffer.from(last.signed!).equals(Buffer.from(good))).toBe(true);
    expect(auditEventHash(rowToEvent(last))).toEqual(new Uint8Array(last.hash));

    const count = rows(folderId).length;
    // Another member posting my event; my event signed by another key; wrong folder; a grant;
    // a record version that does not exist; garbage.
    expect((await post(good, other.token)).status).toBe(400);
    const forged = await signClientAuditEvent(other.secrets.identityPrivateKey, fields);
    expect((await post(forged)).status).toBe(400);
    const otherFolder = await createFolder(t.api, owner);
    expect((await post(good, owner.token, otherFolder)).status).toBe(400);
    const withGrant = await signClientAuditEvent(owner.secrets.identityPrivateKey, {
      ...fields,
      grantId: newId() as ClientAuditFields['grantId'],
    });
    expect((await post(withGrant)).status).toBe(400);
    const noVersion = await signClientAuditEvent(owner.secrets.identityPrivateKey, {
      ...fields,
      version: 7,
    });
    expect((await post(noVersion)).status).toBe(404);
    expect((await post(new Uint8Array([1, 2, 3]))).status).toBe(400);
    expect(rows(folderId)).toHaveLength(count);
  });
});

describe('verifyAuditDatabase', () => {
  async function populated() {
    t = testRelay();
    const owner = await register(t.api);
    const folderId = await createFolder(t.api, owner);
    for (let i = 0; i < 4; i++) await t.api.get(`folders/${folderId}`, owner.token);
    return folderId;
  }

  it('finds nothing wrong in an intact trail', async () => {
    const folderId = await populated();
    const r = verifyAuditDatabase(t.dir);
    expect(r.problems).toEqual([]);
    expect(r.chains).toBe(1);
    expect(r.events).toBe(rows(folderId).length);
  });

  it('finds an edited row', async () => {
    const folderId = await populated();
    t.relay.db
      .prepare('UPDATE audit_events SET actor_id = NULL WHERE chain_id = ? AND seq = 3')
      .run(folderId);
    const r = verifyAuditDatabase(t.dir);
    expect(r.problems).toEqual([
      `chain ${folderId}, event 3: its stored hash does not match its content (edited)`,
    ]);
  });

  it('finds a deleted row, and a deleted last row', async () => {
    const folderId = await populated();
    t.relay.db.prepare('DELETE FROM audit_events WHERE chain_id = ? AND seq = 2').run(folderId);
    expect(verifyAuditDatabase(t.dir).problems.join('\n')).toMatch(
      /event 3: events 2–2 are missing/,
    );
    t.relay.db.prepare('DELETE FROM audit_events WHERE chain_id = ? AND seq = 5').run(folderId);
    expect(verifyAuditDatabase(t.dir).problems.join('\n')).toMatch(
      /the head says 5 events, the table holds 4/,
    );
  });

  it('cannot see a truncation that also rewinds the head (clients’ remembered heads do)', async () => {
    const folderId = await populated();
    const prev = rows(folderId).at(-2)!;
    t.relay.db
      .prepare('DELETE FROM audit_events WHERE chain_id = ? AND seq = ?')
      .run(folderId, prev.seq + 1);
    t.relay.db
      .prepare('UPDATE audit_heads SET seq = ?, hash = ? WHERE chain_id = ?')
      .run(prev.seq, prev.hash, folderId);
    expect(verifyAuditDatabase(t.dir).problems).toEqual([]);
  });

  it('rolls an event back with the transaction it belongs to', async () => {
    const folderId = await populated();
    const n = rows(folderId).length;
    expect(() =>
      t.relay.db.transaction(() => {
        appendAudit(t.relay.db, { chainId: folderId, type: 'keys.folder', at: 1, folderId });
        throw new Error('write failed');
      })(),
    ).toThrow('write failed');
    expect(rows(folderId)).toHaveLength(n);
    expect(verifyAuditDatabase(t.dir).problems).toEqual([]);
  });
});

function b64url(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

/**
 * Folder and account deletion on the relay: what is left on disk afterwards (nothing of the
 * folder: no blob file, no row, no byte of its ciphertexts in the database file or the WAL),
 * the signed receipt, the tombstone former members see, and the relay's signing key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fromBase64url,
  parseId,
  relayKeyFingerprint,
  verifyDeletionReceipt,
  type AccountId,
  type IdentityPublicKey,
} from '@carnet/shared/core';
import { openDatabase } from '../src/db/open';
import { SIGNING_KEY_FILE } from '../src/signing';
import {
  digestHeader,
  newId,
  register,
  rnd,
  tempDir,
  testRelay,
  versionBody,
  type TestAccount,
  type TestRelay,
} from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

const DAY = 24 * 60 * 60_000;

/** The relay's signing key, as a client fetches it. */
async function relayKey(): Promise<IdentityPublicKey> {
  const r = await t.api.get<{ signingKey: string; fingerprint: string }>('relay');
  expect(r.status).toBe(200);
  const key = fromBase64url(r.body.signingKey) as IdentityPublicKey;
  expect(r.body.fingerprint).toBe(relayKeyFingerprint(key));
  return key;
}

/** Every byte string written for one folder, so that the test can look for it on disk. */
interface Written {
  folderId: string;
  /** Bytes sent in JSON bodies (stored in the database). */
  samples: Buffer[];
  /** Blob contents (stored as files). */
  files: Buffer[];
  ids: string[];
  blobIds: string[];
}

/** Sends `b64` of fresh random bytes and remembers them. */
function sample(w: Written, n: number): string {
  const s = rnd(n);
  w.samples.push(Buffer.from(s, 'base64url'));
  return s;
}

async function upload(w: Written, owner: TestAccount, size: number): Promise<string> {
  const data = randomBytes(size);
  w.files.push(data);
  const up = await t.api.call<{ blobId: string }>('POST', 'blobs', {
    token: owner.token,
    body: new Uint8Array(data),
    headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
  });
  expect(up.status).toBe(201);
  w.blobIds.push(up.body.blobId);
  w.ids.push(up.body.blobId);
  return up.body.blobId;
}

/**
 * A folder with a profile, two records (three versions, one with a document), a rotation
 * (lineage), an open invite, and the given full members.
 */
async function populated(owner: TestAccount, others: TestAccount[]): Promise<Written> {
  const w: Written = { folderId: newId(), samples: [], files: [], ids: [], blobIds: [] };
  const members = [
    { accountId: owner.accountId, role: 'owner' },
    ...others.map((o) => ({ accountId: o.accountId, role: 'editor' })),
  ];
  const wraps = (epoch: number) =>
    members.map((m) => ({ accountId: m.accountId, epoch, wrap: sample(w, 80) }));
  const created = await t.api.post(
    'folders',
    {
      folderId: w.folderId,
      seq: 1,
      epoch: 1,
      manifest: sample(w, 300),
      members,
      wraps: wraps(1),
      profile: sample(w, 200),
    },
    owner.token,
  );
  expect(created.status).toBe(201);
  const rotated = await t.api.put(
    `folders/${w.folderId}/manifest`,
    {
      expectedSeq: 1,
      seq: 2,
      epoch: 2,
      manifest: sample(w, 300),
      members,
      wraps: wraps(2),
      lineage: sample(w, 60),
    },
    owner.token,
  );
  expect(rotated.status).toBe(200);
  const blobId = await upload(w, owner, 6000);
  const records = [newId(), newId()];
  w.ids.push(...records);
  const version = (v: number, blob?: string) => {
    const body = versionBody(v, 2, blob);
    for (const k of ['header', 'signed', 'dataKey'] as const) {
      w.samples.push(Buffer.from(body[k], 'base64url'));
    }
    return body;
  };
  for (const [recordId, v, blob] of [
    [records[0], 1, blobId],
    [records[0], 2, undefined],
    [records[1], 1, undefined],
  ] as const) {
    const r = await t.api.post(
      `folders/${w.folderId}/records/${recordId}/versions`,
      version(v, blob),
      owner.token,
    );
    expect(r.status).toBe(201);
  }
  const invite = await t.api.post(
    `folders/${w.folderId}/invites`,
    { lookupId: newId(), sealedKey: sample(w, 90), expiresAt: t.clock.t + DAY, role: 'reader' },
    owner.token,
  );
  expect(invite.status).toBe(201);
  return w;
}

/** A pending member: accepts an invite, not yet named in a manifest. */
async function pendingIn(w: Written, owner: TestAccount, who: TestAccount): Promise<void> {
  const lookupId = newId();
  const created = await t.api.post(
    `folders/${w.folderId}/invites`,
    { lookupId, sealedKey: sample(w, 90), expiresAt: t.clock.t + DAY, role: 'editor' },
    owner.token,
  );
  expect(created.status).toBe(201);
  const acc = await t.api.post(
    `invites/${lookupId}/accept`,
    { response: sample(w, 120) },
    who.token,
  );
  expect(acc.status).toBe(200);
}

/** A support grant straight into the tables (the grant routes verify real signatures). */
function grantOn(practitioner: TestAccount, agent: TestAccount, folders: string[]): string {
  const grantId = newId();
  const now = t.clock.t;
  t.relay.db
    .prepare('INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0)')
    .run(
      grantId,
      practitioner.accountId,
      agent.accountId,
      'read',
      now,
      now + DAY,
      Buffer.from(rnd(100), 'base64url'),
      Buffer.from(rnd(80), 'base64url'),
      now,
    );
  for (const f of folders) {
    t.relay.db.prepare("INSERT INTO grant_scope VALUES (?, ?, '')").run(grantId, f);
    t.relay.db
      .prepare("INSERT INTO grant_key_wraps VALUES (?, ?, '', 0, 2, ?)")
      .run(grantId, f, Buffer.from(rnd(80), 'base64url'));
  }
  return grantId;
}

/** The database file and its WAL, as raw bytes. */
function rawDatabase(): Buffer {
  const db = join(t.dir, 'carnet.db');
  const wal = `${db}-wal`;
  return Buffer.concat([readFileSync(db), existsSync(wal) ? readFileSync(wal) : Buffer.alloc(0)]);
}

/** Every file under `dir`, concatenated. */
function everyFile(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) parts.push(readFileSync(join(e.parentPath, e.name)));
  }
  return Buffer.concat(parts);
}

function occurrences(hay: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}

const count = (sql: string, ...args: unknown[]): number =>
  (t.relay.db.prepare(sql).get(...args) as { n: number }).n;

describe('GET /relay', () => {
  it('serves the signing key, created once (mode 0600) and kept across restarts', async () => {
    const dir = tempDir();
    t = testRelay({ dataDir: dir });
    const key = await relayKey();
    expect(key).toHaveLength(32);
    const file = join(dir, SIGNING_KEY_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file)).toHaveLength(32);
    t.close();
    t = testRelay({ dataDir: dir });
    expect(await relayKey()).toEqual(key);
  });
});

describe('folder deletion', () => {
  it('leaves no blob file, no row and no ciphertext byte of the folder on disk', async () => {
    t = testRelay();
    const owner = await register(t.api);
    const patient = await register(t.api, 'patient');
    const invitee = await register(t.api, 'patient');
    const stranger = await register(t.api, 'patient');
    const agent = await register(t.api, 'support');
    const doomed = await populated(owner, [patient]);
    await pendingIn(doomed, owner, invitee);
    const kept = await populated(owner, [patient]);
    const grant = grantOn(owner, agent, [doomed.folderId, kept.folderId]);
    const folderEvents = count(
      'SELECT COUNT(*) AS n FROM audit_events WHERE chain_id = ?',
      doomed.folderId,
    );

    // Only the owner may delete; others get the 404 of a folder they cannot see.
    expect((await t.api.delete(`folders/${doomed.folderId}`, patient.token)).status).toBe(404);
    t.clock.t += 1000;
    const res = await t.api.delete(`folders/${doomed.folderId}`, owner.token);
    expect(res.status).toBe(200);
    const receipt = fromBase64url((res.body as { receipt: string }).receipt);
    const fields = await verifyDeletionReceipt(await relayKey(), receipt, {
      subject: 'folder',
      subjectId: doomed.folderId,
      requestedBy: parseId<AccountId>(owner.accountId, 'owner'),
    });
    expect(fields.at).toBe(t.clock.t);
    expect(fields.counts).toEqual({
      folders: 1,
      records: 2,
      versions: 3,
      blobs: 1,
      bytes: 6000,
      members: 3,
      grants: 1,
      auditEvents: folderEvents,
    });

    // Blob files: the folder's are gone, the other folder's stay.
    const files = readdirSync(join(t.dir, 'blobs'));
    expect(files).toEqual(kept.blobIds);

    // Rows: nothing names the folder but the tombstones and the former members' events.
    for (const [table, col] of [
      ['folders', 'folder_id'],
      ['folder_manifests', 'folder_id'],
      ['folder_members', 'folder_id'],
      ['member_wraps', 'folder_id'],
      ['folder_lineage', 'folder_id'],
      ['blobs', 'folder_id'],
      ['record_versions', 'folder_id'],
      ['invites', 'folder_id'],
      ['grant_scope', 'folder_id'],
      ['grant_key_wraps', 'folder_id'],
      ['audit_events', 'chain_id'],
      ['audit_heads', 'chain_id'],
    ]) {
      expect(count(`SELECT COUNT(*) AS n FROM ${table} WHERE ${col} = ?`, doomed.folderId)).toBe(0);
    }
    expect(count('SELECT COUNT(*) AS n FROM grant_scope WHERE grant_id = ?', grant)).toBe(1);
    const tombstones = count(
      'SELECT COUNT(*) AS n FROM folder_tombstones WHERE folder_id = ?',
      doomed.folderId,
    );
    expect(tombstones).toBe(3);
    // Account chains are append-only: earlier events there (member added…) keep naming the
    // folder, and each former member's chain gains a `folder.deleted`.
    const events = t.relay.db
      .prepare('SELECT chain_id, type FROM audit_events WHERE folder_id = ?')
      .all(doomed.folderId) as { chain_id: string; type: string }[];
    const deletedIn = events.filter((e) => e.type === 'folder.deleted').map((e) => e.chain_id);
    expect(new Set(deletedIn)).toEqual(
      new Set([owner.accountId, patient.accountId, invitee.accountId]),
    );
    expect(deletedIn).toHaveLength(3);

    // Raw bytes: the WAL was truncated, and no ciphertext, record id or blob id of the folder
    // is left in the database file; its id appears exactly once per legitimate row (twice per
    // tombstone: the table and its index by account both hold the folder id).
    expect(t.relay.db.pragma('auto_vacuum', { simple: true })).toBe(2);
    const wal = join(t.dir, 'carnet.db-wal');
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
    const raw = rawDatabase();
    for (const s of doomed.samples) expect(raw.indexOf(s)).toBe(-1);
    const all = everyFile(t.dir);
    for (const f of doomed.files) expect(all.indexOf(f)).toBe(-1);
    for (const f of kept.files) expect(all.indexOf(f), 'kept file').not.toBe(-1);
    for (const id of doomed.ids) expect(raw.indexOf(Buffer.from(id))).toBe(-1);
    expect(occurrences(raw, Buffer.from(doomed.folderId))).toBe(2 * tombstones + events.length);
    // The scan can see: the other folder's bytes are all there.
    for (const s of kept.samples) expect(raw.indexOf(s), 'kept sample').not.toBe(-1);

    // Former members (pending ones too) learn that it was deleted, and when; others get 404.
    for (const who of [patient, invitee, owner]) {
      const got = await t.api.get(`folders/${doomed.folderId}`, who.token);
      expect(got.status).toBe(410);
      expect(got.body).toMatchObject({
        error: { code: 'FOLDER_DELETED', deletedAt: fields.at },
      });
      const list = await t.api.get<{ deleted: unknown[]; folders: { folderId: string }[] }>(
        'folders',
        who.token,
      );
      expect(list.body.deleted).toEqual([{ folderId: doomed.folderId, deletedAt: fields.at }]);
      expect(list.body.folders.map((f) => f.folderId)).not.toContain(doomed.folderId);
    }
    const none = await t.api.get(`folders/${doomed.folderId}`, stranger.token);
    expect(none.status).toBe(404);
    expect(
      (await t.api.get<{ deleted: unknown[] }>('folders', stranger.token)).body.deleted,
    ).toEqual([]);
    // The kept folder still reads.
    expect((await t.api.get(`folders/${kept.folderId}/records`, patient.token)).status).toBe(200);
  });
});

describe('account deletion', () => {
  it('re-authenticates, deletes everything the account owns and frees the user name', async () => {
    t = testRelay();
    const doctor = await register(t.api);
    const colleague = await register(t.api);
    const patient = await register(t.api, 'patient');
    const agent = await register(t.api, 'support');
    const own = await populated(doctor, [patient]);
    // The doctor is an editor in a colleague's folder and adds a document there.
    const theirs = await populated(colleague, [doctor]);
    const added = await upload(theirs, doctor, 700);
    const rec = newId();
    expect(
      (
        await t.api.post(
          `folders/${theirs.folderId}/records/${rec}/versions`,
          versionBody(1, 2, added),
          doctor.token,
        )
      ).status,
    ).toBe(201);
    const loose = await upload(own, doctor, 500);
    grantOn(doctor, agent, [own.folderId]);

    const wrong = await t.api.call('DELETE', 'accounts/me', {
      token: doctor.token,
      json: { authKey: rnd(32) },
    });
    expect(wrong.status).toBe(401);
    expect(
      await t.api.call('DELETE', 'accounts/me', { token: doctor.token, json: {} }),
    ).toMatchObject({ status: 400 });

    const res = await t.api.call<{ receipt: string }>('DELETE', 'accounts/me', {
      token: doctor.token,
      json: { authKey: doctor.authKey },
    });
    expect(res.status).toBe(200);
    const fields = await verifyDeletionReceipt(await relayKey(), fromBase64url(res.body.receipt), {
      subject: 'account',
      subjectId: doctor.accountId,
      requestedBy: parseId<AccountId>(doctor.accountId, 'doctor'),
    });
    expect(fields.counts).toMatchObject({
      folders: 1,
      records: 2,
      versions: 3,
      blobs: 2,
      bytes: 6000 + 500,
      members: 2 + 1,
      grants: 1,
    });

    // Signed out, and the name is free again.
    expect((await t.api.get('accounts/me', doctor.token)).status).toBe(401);
    const again = await register(t.api, 'patient', doctor.userName);
    expect(again.accountId).not.toBe(doctor.accountId);

    // Nothing refers to the account but the events that say it is gone.
    for (const [table, col] of [
      ['accounts', 'account_id'],
      ['sessions', 'account_id'],
      ['folder_members', 'account_id'],
      ['member_wraps', 'account_id'],
      ['blobs', 'account_id'],
      ['invites', 'invitee_id'],
      ['grants', 'practitioner_id'],
      ['grants', 'agent_id'],
      ['imports', 'practitioner_id'],
      ['folder_tombstones', 'account_id'],
      ['audit_events', 'chain_id'],
      ['audit_heads', 'chain_id'],
    ]) {
      expect(
        count(`SELECT COUNT(*) AS n FROM ${table} WHERE ${col} = ?`, doctor.accountId),
        `${table}.${col}`,
      ).toBe(0);
    }
    for (const id of [loose, ...own.blobIds]) {
      expect(existsSync(t.relay.files.path(id))).toBe(false);
    }
    expect(
      (
        t.relay.db
          .prepare("SELECT type FROM audit_events WHERE chain_id = ? AND type = 'account.deleted'")
          .all(theirs.folderId) as { type: string }[]
      ).length,
    ).toBe(1);

    // The document added to the colleague's folder stays there, now on the owner's quota.
    expect(t.relay.blobs.get(added)?.account_id).toBe(colleague.accountId);
    expect(existsSync(t.relay.files.path(added))).toBe(true);
    const folder = await t.api.get<{ members: { accountId: string }[] }>(
      `folders/${theirs.folderId}`,
      colleague.token,
    );
    expect(folder.body.members.map((m) => m.accountId)).toEqual([colleague.accountId]);

    // The patient of the deleted practitioner sees a tombstone.
    const gone = await t.api.get(`folders/${own.folderId}`, patient.token);
    expect(gone.status).toBe(410);
  });
});

describe('auto_vacuum', () => {
  it('is INCREMENTAL for a new database, and an old database is converted at opening', () => {
    const dir = tempDir();
    const fresh = openDatabase(join(dir, 'new.db'));
    expect(fresh.pragma('auto_vacuum', { simple: true })).toBe(2);
    fresh.close();
    const oldFile = join(dir, 'old.db');
    const old = new Database(oldFile);
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE legacy (x TEXT)');
    old.prepare('INSERT INTO legacy VALUES (?)').run('kept');
    expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
    old.close();
    const reopened = openDatabase(oldFile);
    expect(reopened.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(reopened.prepare('SELECT x FROM legacy').get()).toEqual({ x: 'kept' });
    reopened.close();
  });
});

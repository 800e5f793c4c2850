/**
 * `carnet admin stats`: counts only. The test fills a relay with accounts whose names and ids
 * are easy to spot, then checks the exact key set, the figures, and that neither the JSON nor
 * the text holds anything else (no name, no id, no per-account figure).
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { formatStats, relayStats, STATS_KEYS } from '../src/admin/stats';
import {
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

const HOUR = 60 * 60_000;

function grant(p: TestAccount, agent: TestAccount, window: [number, number], revoked = false) {
  t.relay.db
    .prepare('INSERT INTO grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)')
    .run(
      newId(),
      p.accountId,
      agent.accountId,
      'read',
      window[0],
      window[1],
      Buffer.from(rnd(50), 'base64url'),
      Buffer.from(rnd(50), 'base64url'),
      t.clock.t,
      revoked ? t.clock.t : null,
    );
}

describe('admin stats', () => {
  it('prints counts only: accounts per role, folders, records, blobs, bytes, active grants', async () => {
    t = testRelay();
    const names = [
      'dr.zoe.specialist',
      'dr.yann.cardio',
      'pat.alice',
      'pat.bob',
      'pat.carol',
      'agent.dave',
    ];
    const roles = ['practitioner', 'practitioner', 'patient', 'patient', 'patient', 'support'];
    const accounts = [];
    for (const [i, name] of names.entries()) accounts.push(await register(t.api, roles[i], name));
    const [zoe, yann, alice, , , dave] = accounts as [
      TestAccount,
      TestAccount,
      TestAccount,
      TestAccount,
      TestAccount,
      TestAccount,
    ];
    const f1 = await createFolder(t.api, zoe, [{ account: alice, role: 'editor' }]);
    const f2 = await createFolder(t.api, zoe);
    await createFolder(t.api, yann);
    const data = randomBytes(1234);
    const up = await t.api.call<{ blobId: string }>('POST', 'blobs', {
      token: zoe.token,
      body: new Uint8Array(data),
      headers: { 'content-type': 'application/octet-stream', 'content-digest': digestHeader(data) },
    });
    const r1 = newId();
    for (const [folder, rec, v, blob] of [
      [f1, r1, 1, up.body.blobId],
      [f1, r1, 2, undefined],
      [f1, newId(), 1, undefined],
      [f2, newId(), 1, undefined],
    ] as const) {
      const res = await t.api.post(
        `folders/${folder}/records/${rec}/versions`,
        versionBody(v, 1, blob),
        zoe.token,
      );
      expect(res.status).toBe(201);
    }
    const now = t.clock.t;
    grant(zoe, dave, [now - HOUR, now + HOUR]); // active
    grant(yann, dave, [now - HOUR, now + HOUR]); // active
    grant(zoe, dave, [now - 2 * HOUR, now - HOUR]); // expired
    grant(zoe, dave, [now - HOUR, now + HOUR], true); // revoked
    grant(zoe, dave, [now + HOUR, now + 2 * HOUR]); // scheduled

    const stats = relayStats(t.dir, now);
    expect(Object.keys(stats)).toEqual([...STATS_KEYS]);
    expect(stats).toEqual({
      accounts: { practitioner: 2, patient: 3, support: 1 },
      folders: 3,
      records: 3,
      versions: 4,
      blobs: 1,
      blobBytes: 1234,
      activeGrants: 2,
    });

    const text = formatStats(stats);
    const json = JSON.stringify(stats);
    for (const out of [text, json]) {
      for (const a of accounts) {
        expect(out).not.toContain(a.userName);
        expect(out).not.toContain(a.accountId);
      }
      for (const id of [f1, f2, up.body.blobId, r1]) expect(out).not.toContain(id);
    }
    // Every line is one label from the fixed list and one integer.
    const labels = text.split('\n').map((line) => {
      const m = /^([A-Za-z ()]+): +(\d+)$/.exec(line);
      expect(m, line).not.toBeNull();
      return m?.[1];
    });
    expect(labels).toEqual([
      'Accounts (practitioner)',
      'Accounts (patient)',
      'Accounts (support)',
      'Folders',
      'Records',
      'Record versions',
      'Blobs',
      'Blob bytes',
      'Active grants',
    ]);
  });
});

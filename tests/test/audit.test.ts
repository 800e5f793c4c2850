/**
 * The audit trail end to end, against a real relay on 127.0.0.1 with its SQLite file: a
 * practitioner and a patient read their folder's trail in plain words, client-signed "viewed"
 * events included; rows edited or deleted directly in the database are caught by the client
 * (`AUDIT_BROKEN`) and by `carnet admin verify-audit`; a truncation that also rewinds the head
 * passes the offline check but not a client that remembers the head it saw.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '@carnet/server';
import type { FolderId } from '@carnet/shared/core';
import { CarnetClient, MemoryLocalStore, type FetchLike } from '@carnet/shared/client';
import { main } from '../../scripts/src/cli';
import type { Io, Source } from '../../scripts/src/io';
import { startTestRelay, type TestRelay } from '../src/relay';
import { rejectsWith, relayDb } from '../src/sdk-helpers';

const PASSWORD = { dr: 'audit dr password', patient: 'audit patient pw' };
const TITLE = 'Bilan sanguin';

let relay: TestRelay;
let db: Db;
let home = '';
/** While true, posting a client-signed event fails as if the network were down. */
let dropViewed = false;

const flakyFetch: FetchLike = (input, init) =>
  dropViewed && input.endsWith('/audit/events')
    ? Promise.reject(new TypeError('fetch failed'))
    : fetch(input, init);

const drStore = new MemoryLocalStore();
const patientStore = new MemoryLocalStore();
let dr: CarnetClient;
let patient: CarnetClient;
let folderId = '';
let recordId = '';

interface Row {
  chain_id: string;
  seq: number;
  [k: string]: unknown;
}
const rowsOf = (chain: string): Row[] =>
  db
    .prepare<[string], Row>('SELECT * FROM audit_events WHERE chain_id = ? ORDER BY seq')
    .all(chain);

/** Puts rows back exactly as they were (after a tampering test). */
function restore(rows: Row[], head: { seq: number; hash: Buffer }): void {
  const cols = Object.keys(rows[0]!);
  const insert = db.prepare(
    `INSERT OR REPLACE INTO audit_events (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
  );
  db.transaction(() => {
    for (const r of rows) insert.run(...cols.map((c) => r[c]));
    db.prepare('UPDATE audit_heads SET seq = ?, hash = ? WHERE chain_id = ?').run(
      head.seq,
      head.hash,
      folderId,
    );
  })();
}
const headOf = (chain: string) =>
  db
    .prepare<[string], { seq: number; hash: Buffer }>(
      'SELECT seq, hash FROM audit_heads WHERE chain_id = ?',
    )
    .get(chain)!;

/** `carnet …` in process, with --json: exit code and the one JSON object. */
async function carnet(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; json: Record<string, unknown> }> {
  let stdout = '';
  const io: Io = {
    stdout: { write: (c: string | Uint8Array) => (stdout += String(c)) },
    stderr: { write: () => true },
    stdin: new PassThrough() as unknown as Source,
    env,
  };
  const code = await main([...args, '--json'], io);
  const lines = stdout.split('\n');
  expect(lines.length, stdout).toBe(2);
  return { code, json: JSON.parse(lines[0]!) as Record<string, unknown> };
}

beforeAll(async () => {
  relay = await startTestRelay();
  db = relayDb(relay.dataDir);
  home = await mkdtemp(join(tmpdir(), 'carnet-audit-cli-'));
  dr = new CarnetClient({ relayUrl: relay.url, store: drStore });
  patient = new CarnetClient({ relayUrl: relay.url, store: patientStore, fetch: flakyFetch });
  await dr.signUp({ userName: 'dr.audit', password: PASSWORD.dr, role: 'practitioner' });
  await patient.signUp({ userName: 'jeanne.audit', password: PASSWORD.patient, role: 'patient' });
  const folder = await dr.createFolder({ name: 'Jeanne Audit' });
  folderId = folder.folderId;
  recordId = (
    await dr.addRecord(folderId, { kind: 'note', title: TITLE, text: 'Hémoglobine 13.5 g/dL' })
  ).recordId;
  const invite = await dr.invitePatient(folderId);
  await patient.acceptInvite(invite.link);
  await dr.processInvites(folderId);
});
afterAll(async () => {
  db?.close();
  await relay?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('reading the trail', () => {
  it('shows the patient every event of their folder, in plain words', async () => {
    const view = await patient.readRecord(folderId, recordId);
    expect(view.title).toBe(TITLE);
    const trail = await patient.audit.folder(folderId);
    expect(trail.chainId).toBe(folderId);
    expect(trail.head.seq).toBe(trail.events.length);
    const types = trail.events.map((e) => e.type);
    expect(types.slice(0, 1)).toEqual(['folder.created']);
    for (const t of ['record.written', 'invite.created', 'member.pending', 'member.added'])
      expect(types).toContain(t);
    const texts = trail.events.map((e) => e.text);
    expect(texts).toContainEqual(
      expect.stringMatching(
        /^Practitioner dr\.audit wrote version 1 of record “Bilan sanguin” on \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
      ),
    );
    expect(texts).toContainEqual(
      expect.stringMatching(/^Practitioner dr\.audit added you to the folder on /),
    );
    const viewed = trail.events.find((e) => e.type === 'viewed');
    expect(viewed?.signed?.status).toBe('verified');
    expect(viewed?.text).toMatch(/^You viewed record “Bilan sanguin” on /);
    expect(viewed?.words).toMatchObject({
      who: { userName: 'jeanne.audit', role: 'patient', you: true },
      action: 'viewed',
      record: { recordId, title: TITLE, version: 1 },
      grant: null,
    });
  });

  it('shows the practitioner the same chain, and the patient’s own account chain', async () => {
    await dr.audit.recordExported({ folderId: folderId as FolderId });
    const trail = await dr.audit.folder(folderId);
    const exported = trail.events.find((e) => e.type === 'exported');
    expect(exported?.signed?.status).toBe('verified');
    expect(exported?.text).toMatch(/^You exported the folder on /);
    const viewed = trail.events.find((e) => e.type === 'viewed');
    expect(viewed?.text).toMatch(/^Patient jeanne\.audit viewed record “Bilan sanguin” on /);
    const mine = await patient.audit.account();
    expect(mine.events.map((e) => e.type)).toEqual(['member.pending', 'member.added']);
  });

  it('keeps a viewed event the relay could not take, and sends it later', async () => {
    const before = rowsOf(folderId).filter((r) => r.type === 'viewed').length;
    dropViewed = true;
    const view = await patient.readRecord(folderId, recordId);
    expect(view.title).toBe(TITLE);
    expect(await patient.audit.unsent()).toEqual({ waiting: 1, lost: 0 });
    dropViewed = false;
    const trail = await patient.audit.folder(folderId);
    expect(await patient.audit.unsent()).toEqual({ waiting: 0, lost: 0 });
    expect(trail.events.filter((e) => e.type === 'viewed')).toHaveLength(before + 1);
  });
});

describe('support access, as the patient sees it', () => {
  it('names the agent, the grant, its reason and the record read', async () => {
    const agent = new CarnetClient({ relayUrl: relay.url, store: new MemoryLocalStore() });
    const { account } = await agent.signUp({
      userName: 'support.alice',
      password: 'support alice pw',
      role: 'support',
    });
    const grant = await dr.grants.create({
      agent: 'support.alice',
      safetyCode: account.safetyCode,
      folders: [folderId],
      rights: 'read',
      durationMs: 3_600_000,
      reason: 'ticket 4521',
    });
    const view = await agent.grants.readRecord(grant.grantId, folderId, recordId);
    expect(view.title).toBe(TITLE);
    const trail = await patient.audit.folder(folderId);
    const texts = trail.events.map((e) => e.text);
    const under = `under grant ${grant.grantId} \\(reason: ticket 4521\\) on `;
    expect(texts).toContainEqual(
      expect.stringMatching(
        new RegExp(`^Support agent support\\.alice read record “${TITLE}” ${under}`),
      ),
    );
    expect(texts).toContainEqual(
      expect.stringMatching(
        new RegExp(`^Support agent support\\.alice viewed record “${TITLE}” ${under}`),
      ),
    );
    expect(texts).toContainEqual(
      expect.stringMatching(/^Practitioner dr\.audit gave support agent support\.alice access/),
    );
    const read = trail.events.find((e) => e.type === 'grant.read' && e.recordId === recordId);
    expect(read?.words.grant).toMatchObject({
      grantId: grant.grantId,
      reason: 'ticket 4521',
      agent: { userName: 'support.alice', role: 'support' },
    });
    await dr.grants.revoke(grant.grantId);
  });
});

describe('tampering', () => {
  it('an edited row: the client refuses the chain, verify-audit exits 4', async () => {
    await dr.audit.folder(folderId);
    const rows = rowsOf(folderId);
    const target = rows.find((r) => r.type === 'record.written')!;
    // The operator hides who wrote the record.
    db.prepare('UPDATE audit_events SET actor_id = ? WHERE chain_id = ? AND seq = ?').run(
      rows.find((r) => r.type === 'member.added')!.subject_id,
      folderId,
      target.seq,
    );
    await rejectsWith(dr.audit.folder(folderId), 'AUDIT_BROKEN');
    // A device that never saw the chain is not fooled either: the stored hash no longer fits.
    const fresh = new CarnetClient({ relayUrl: relay.url, store: new MemoryLocalStore() });
    await fresh.login({ userName: 'jeanne.audit', password: PASSWORD.patient });
    await rejectsWith(fresh.audit.folder(folderId), 'AUDIT_BROKEN');

    const broken = await carnet(['admin', 'verify-audit', '--data', relay.dataDir]);
    expect(broken.code).toBe(4);
    expect(broken.json).toMatchObject({
      ok: false,
      error: { code: 'AUDIT_BROKEN' },
      problems: [expect.stringContaining(`event ${target.seq}: its stored hash does not match`)],
    });

    restore([target], headOf(folderId));
    expect((await dr.audit.folder(folderId)).events.length).toBeGreaterThan(rows.length);
    const intact = await carnet(['admin', 'verify-audit', '--data', relay.dataDir]);
    expect(intact).toMatchObject({ code: 0, json: { ok: true, problems: [] } });
  });

  it('a deleted row: the client refuses the chain, verify-audit exits 4', async () => {
    await dr.audit.folder(folderId);
    const rows = rowsOf(folderId);
    const gone = rows.find((r) => r.type === 'viewed')!;
    db.prepare('DELETE FROM audit_events WHERE chain_id = ? AND seq = ?').run(folderId, gone.seq);
    await rejectsWith(patient.audit.folder(folderId), 'AUDIT_BROKEN');
    const broken = await carnet(['admin', 'verify-audit', '--data', relay.dataDir]);
    expect(broken.code).toBe(4);
    expect(String((broken.json.problems as string[])[0])).toContain('missing');
    restore([gone], headOf(folderId));
    await dr.audit.folder(folderId);
  });

  it('a truncation with the head rewound: only the remembered head catches it', async () => {
    const seen = await dr.audit.folder(folderId);
    const keep = seen.head.seq - 3;
    const kept = rowsOf(folderId).find((r) => r.seq === keep)!;
    db.transaction(() => {
      db.prepare('DELETE FROM audit_events WHERE chain_id = ? AND seq > ?').run(folderId, keep);
      db.prepare('UPDATE audit_heads SET seq = ?, hash = ? WHERE chain_id = ?').run(
        keep,
        kept.hash,
        folderId,
      );
    })();
    // Consistent in the file: the offline check cannot tell.
    expect((await carnet(['admin', 'verify-audit', '--data', relay.dataDir])).code).toBe(0);
    // The practitioner's device remembers a longer chain.
    await rejectsWith(dr.audit.folder(folderId), 'AUDIT_BROKEN');
  });
});

describe('carnet audit', () => {
  it('prints a folder’s trail for the patient', async () => {
    const fresh = await mkdtemp(join(home, 'patient-'));
    const patientHome = {
      CARNET_HOME: fresh,
      CARNET_SERVER: relay.url,
      CARNET_USER: 'jeanne.audit',
      CARNET_PASSWORD: PASSWORD.patient,
    };
    // This device never saw the chain: it accepts the (consistent) truncated one.
    const r = await carnet(['audit'], patientHome);
    expect(r.code).toBe(0);
    const audit = r.json.audit as { events: { type: string; text: string }[] };
    expect(audit.events.map((e) => e.type)).toEqual(['member.pending', 'member.added']);
    const f = await carnet(['audit', '--folder', folderId, '--last', '2'], patientHome);
    expect(f.code, JSON.stringify(f.json)).toBe(0);
    const events = (f.json.audit as { events: { text: string }[] }).events;
    expect(events).toHaveLength(2);
    expect(events.every((e) => / on \d{4}-\d\d-\d\d \d\d:\d\d UTC$/.test(e.text))).toBe(true);
  });
});

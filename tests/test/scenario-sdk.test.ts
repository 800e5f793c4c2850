/**
 * The client SDK end to end against a real relay on 127.0.0.1 with a real data directory:
 * a practitioner's whole working day, a patient invited in, a colleague added by safety code
 * and removed, concurrent edits, recovery, and a device that keeps its state in a file. The
 * malicious relay is in scenario-sdk-malicious.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CarnetClient,
  MemoryLocalStore,
  isApiError,
  type FolderDetails,
  type RecordSummary,
} from '@carnet/shared/client';
import { FileLocalStore, tempFileSpool } from '@carnet/shared/client/node';
import { fromBase64url } from '@carnet/shared/core';
import { openLineage } from '@carnet/shared/core';
import type { RecordId } from '@carnet/shared/core';
import type { FolderKey } from '@carnet/shared/core';
import { openDataKey } from '@carnet/shared/core';
import { bundleForBrowser } from '../src/bundle';
import { startTestRelay, type TestRelay } from '../src/relay';
import {
  digestStream,
  generatedStream,
  heldKeys,
  hostileFetch,
  rejectsWith,
} from '../src/sdk-helpers';

const MiB = 1024 * 1024;
const PASSWORD = {
  dr: 'correct horse dr',
  colleague: 'battery staple col',
  patient: 'patient pw 42',
};

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.close();
});

function client(store = new MemoryLocalStore()): CarnetClient {
  return new CarnetClient({ relayUrl: relay.url, store, spool: tempFileSpool() });
}

describe('a practitioner, their patients and a colleague', () => {
  const drStore = new MemoryLocalStore();
  let dr: CarnetClient;
  beforeAll(() => {
    // No spool: documents are encrypted while they upload, whatever their size.
    dr = new CarnetClient({ relayUrl: relay.url, store: drStore });
  });
  let folder: FolderDetails;
  let other: FolderDetails;
  const files = new Map<RecordId, { sha256: string; size: number }>();
  let note: RecordSummary;

  it('signs up, creates patients (profile encrypted) and lists them after a fresh login', async () => {
    const { account, recoveryCode } = await dr.signUp({
      userName: 'dr.martin',
      password: PASSWORD.dr,
      role: 'practitioner',
    });
    expect(account.safetyCode).toMatch(/^(\d{5} ){5}\d{5}$/);
    expect(recoveryCode).toMatch(/^([0-9A-Z]{4}-){6}[0-9A-Z]{4}$/);
    folder = await dr.createFolder({
      name: 'Alice Durand',
      birthDate: '1984-03-12',
      sex: 'female',
      phone: '+33 6 00 00 00 01',
    });
    other = await dr.createFolder({ name: 'Bruno Petit', birthDate: '1950', sex: 'male' });
    expect(folder.members).toEqual([
      { accountId: account.accountId, role: 'owner', safetyCode: account.safetyCode },
    ]);

    const again = client();
    await again.login({ userName: 'DR.Martin', password: PASSWORD.dr });
    const listed = await again.listFolders();
    expect(listed.map((f) => f.profile?.name).sort()).toEqual(['Alice Durand', 'Bruno Petit']);
    expect(listed.find((f) => f.folderId === folder.folderId)?.profile).toEqual({
      name: 'Alice Durand',
      birthDate: '1984-03-12',
      sex: 'female',
      phone: '+33 6 00 00 00 01',
    });
    await rejectsWith(
      client().login({ userName: 'dr.martin', password: 'wrong password' }),
      'BAD_PASSWORD',
    );
  });

  it('adds notes and structured entries, edits one as a new signed version', async () => {
    note = await dr.addRecord(folder.folderId, {
      kind: 'note',
      title: 'Consultation',
      text: 'Headache for 3 days.',
    });
    await dr.addRecord(folder.folderId, {
      kind: 'observation',
      title: 'Blood pressure',
      structured: { code: '85354-9', systolic: 128, diastolic: 84, unit: 'mmHg' },
    });
    await dr.addRecord(folder.folderId, {
      kind: 'condition',
      title: 'Migraine',
      structured: { code: 'G43.9', status: 'active' },
    });
    await dr.addRecord(folder.folderId, {
      kind: 'allergy',
      title: 'Penicillin',
      structured: { severity: 'high' },
      text: 'Rash in 2010',
    });
    await dr.addRecord(folder.folderId, {
      kind: 'medication',
      title: 'Ibuprofen',
      structured: { dose: '400 mg', frequency: 'as needed' },
    });
    await dr.addRecord(other.folderId, {
      kind: 'note',
      title: 'Other patient',
      text: 'Unrelated.',
    });

    const edited = await dr.editRecord(
      folder.folderId,
      note.recordId,
      { kind: 'note', title: 'Consultation', text: 'Headache for 3 days; better today.' },
      { expectedVersion: 1 },
    );
    expect(edited.version).toBe(2);
    const history = await dr.recordHistory(folder.folderId, note.recordId);
    expect(history.map((v) => [v.version, v.text])).toEqual([
      [1, 'Headache for 3 days.'],
      [2, 'Headache for 3 days; better today.'],
    ]);
    const list = await dr.listRecords(folder.folderId);
    // Latest versions, ordered by when they were written: the edited note comes last.
    expect(list.map((r) => r.kind)).toEqual([
      'observation',
      'condition',
      'allergy',
      'medication',
      'note',
    ]);
    const bp = list.find((r) => r.title === 'Blood pressure')!;
    expect((await dr.readRecord(folder.folderId, bp.recordId)).structured).toEqual({
      code: '85354-9',
      systolic: 128,
      diastolic: 84,
      unit: 'mmHg',
    });
  });

  it('stores documents of 0 B, 1 B, 5 MiB and over 64 MiB, streamed both ways', async () => {
    for (const [i, size] of [0, 1, 5 * MiB, 64 * MiB + 12_345].entries()) {
      const gen = generatedStream(size, 1000 + i);
      const r = await dr.addRecord(folder.folderId, {
        kind: 'document',
        fileName: `scan-${size}.bin`,
        mimeType: 'application/octet-stream',
        size,
        body: gen.body,
      });
      files.set(r.recordId, { sha256: await gen.sha256, size });
      const { record, body } = await dr.openDocument(folder.folderId, r.recordId);
      expect(record).toMatchObject({ fileName: `scan-${size}.bin`, size, kind: 'document' });
      expect(await digestStream(body)).toEqual({ sha256: await gen.sha256, size });
    }
  });

  it('refuses a document body whose length is not the announced size, before anything is stored', async () => {
    for (const [size, actual] of [
      [10, 11],
      [10, 9],
      [17 * MiB, 17 * MiB - 1],
    ] as const) {
      const gen = generatedStream(actual, 5);
      await rejectsWith(
        dr.addRecord(folder.folderId, {
          kind: 'document',
          fileName: 'short.bin',
          size,
          body: gen.body,
        }),
        'INVALID_ARGUMENT',
      );
    }
    expect(
      (await dr.listRecords(folder.folderId)).filter((r) => r.fileName === 'short.bin'),
    ).toEqual([]);
  });

  it('invites a patient, who signs up, is admitted by the owner and reads everything', async () => {
    const invite = await dr.invitePatient(folder.folderId);
    expect(invite.link).toMatch(new RegExp(`^${relay.url}/invite#[A-Za-z0-9_-]{43}$`));

    const patient = client();
    await patient.signUp({ userName: 'alice.durand', password: PASSWORD.patient, role: 'patient' });
    const accepted = await patient.acceptInvite(invite.link);
    expect(accepted.folderId).toBe(folder.folderId);
    expect(await patient.listFolders()).toEqual([
      { folderId: folder.folderId, ownerId: folder.ownerId, status: 'pending' },
    ]);
    // The link is single-use.
    const intruder = client();
    await intruder.signUp({ userName: 'mallory', password: 'mallory pw', role: 'patient' });
    expect(
      await intruder.acceptInvite(invite.link).catch((e: unknown) => isApiError(e, 'NOT_FOUND')),
    ).toBe(true);

    const admitted = await dr.processInvites();
    expect(admitted).toEqual([
      {
        folderId: folder.folderId,
        accountId: patient.account!.accountId,
        safetyCode: patient.account!.safetyCode,
      },
    ]);
    const details = await dr.getFolder(folder.folderId);
    expect(details.members.map((m) => m.role).sort()).toEqual(['owner', 'patient']);

    const [seen] = await patient.listFolders();
    expect(seen?.profile?.name).toBe('Alice Durand');
    expect(seen?.myRole).toBe('patient');
    const records = await patient.listRecords(folder.folderId);
    expect(records).toHaveLength(9);
    expect((await patient.readRecord(folder.folderId, note.recordId)).text).toBe(
      'Headache for 3 days; better today.',
    );
    for (const [recordId, want] of files) {
      const { body } = await patient.openDocument(folder.folderId, recordId);
      expect(await digestStream(body)).toEqual(want);
    }
    // The patient adds their own document.
    const own = generatedStream(2048, 7);
    const mine = await patient.addRecord(folder.folderId, {
      kind: 'document',
      fileName: 'my-lab-results.pdf',
      mimeType: 'application/pdf',
      size: 2048,
      body: own.body,
    });
    expect((await dr.readRecord(folder.folderId, mine.recordId)).authorId).toBe(
      patient.account!.accountId,
    );
  });

  it('shares with a colleague by verified safety code; a wrong code is KEY_UNVERIFIED', async () => {
    const colleague = client();
    const { account } = await colleague.signUp({
      userName: 'dr.bernard',
      password: PASSWORD.colleague,
      role: 'practitioner',
    });
    const wrong = account.safetyCode.replace(/^\d/, (d) => String((Number(d) + 1) % 10));
    await rejectsWith(
      dr.shareFolder(folder.folderId, { userName: 'dr.bernard', safetyCode: wrong }),
      'KEY_UNVERIFIED',
    );
    await rejectsWith(
      dr.shareFolder(folder.folderId, { userName: 'dr.bernard', safetyCode: 'not a code' }),
      'INVALID_ARGUMENT',
    );
    const shared = await dr.shareFolder(folder.folderId, {
      userName: 'dr.bernard',
      safetyCode: account.safetyCode,
    });
    expect(shared.members.find((m) => m.accountId === account.accountId)).toEqual({
      accountId: account.accountId,
      role: 'practitioner',
      safetyCode: account.safetyCode,
    });
    expect((await colleague.readRecord(folder.folderId, note.recordId)).version).toBe(2);
    expect(
      await colleague.listRecords(other.folderId).catch((e: unknown) => isApiError(e, 'NOT_FOUND')),
    ).toBe(true);
  });

  it('removes the colleague: new epoch; what is written afterwards opens with nothing they held', async () => {
    const colleagueId = (await dr.lookupAccount('dr.bernard')).accountId;
    // Everything the colleague holds while still a member, rebuilt from their password.
    const held = await heldKeys(relay.url, 'dr.bernard', PASSWORD.colleague, folder.folderId);
    expect(held.folderKeyEpochs).toEqual([1]);

    const after = await dr.removeMember(folder.folderId, colleagueId);
    expect(after.epoch).toBe(2);
    expect(after.members.map((m) => m.accountId)).not.toContain(colleagueId);
    const secret = await dr.addRecord(folder.folderId, {
      kind: 'note',
      title: 'After removal',
      text: 'Written at epoch 2.',
    });
    expect(secret.epoch).toBe(2);

    // The relay's copy of the new version and the new lineage link.
    const raw = await rawGet(drStore, `/folders/${folder.folderId}/records/${secret.recordId}`);
    const v = (raw.versions as { dataKey: string; epoch: number }[])[0]!;
    const folderRaw = await rawGet(drStore, `/folders/${folder.folderId}`);
    const link = (folderRaw.lineage as { epoch: number; data: string }[]).find(
      (l) => l.epoch === 2,
    )!;
    for (const key of held.keys) {
      for (const epoch of [1, 2]) {
        expect(() =>
          openDataKey(key as FolderKey, fromBase64url(v.dataKey), {
            folderId: folder.folderId,
            recordId: secret.recordId,
            version: 1,
            epoch,
          }),
        ).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
      }
      expect(() =>
        openLineage(key as FolderKey, fromBase64url(link.data), folder.folderId, 2),
      ).toThrow(expect.objectContaining({ code: 'INTEGRITY' }));
    }
    // Their client is refused by the relay, and the owner and patient still read everything.
    const colleague = client();
    await colleague.login({ userName: 'dr.bernard', password: PASSWORD.colleague });
    expect(
      await colleague
        .listRecords(folder.folderId)
        .catch((e: unknown) => isApiError(e, 'NOT_FOUND')),
    ).toBe(true);
    const patient = client();
    await patient.login({ userName: 'alice.durand', password: PASSWORD.patient });
    expect((await patient.readRecord(folder.folderId, secret.recordId)).text).toBe(
      'Written at epoch 2.',
    );
    expect((await patient.readRecord(folder.folderId, note.recordId)).epoch).toBe(1);
    expect((await patient.listFolders())[0]?.profile?.name).toBe('Alice Durand');
  });

  it('two clients editing the same record: one wins, the other gets CONFLICT, no version is lost', async () => {
    const a = client();
    const b = client();
    await a.login({ userName: 'dr.martin', password: PASSWORD.dr });
    await b.login({ userName: 'alice.durand', password: PASSWORD.patient });
    const base = await a.addRecord(folder.folderId, { kind: 'note', title: 'Shared', text: 'v1' });
    await b.readRecord(folder.folderId, base.recordId);
    const results = await Promise.allSettled([
      a.editRecord(
        folder.folderId,
        base.recordId,
        { kind: 'note', title: 'Shared', text: 'edit by A' },
        { expectedVersion: 1 },
      ),
      b.editRecord(
        folder.folderId,
        base.recordId,
        { kind: 'note', title: 'Shared', text: 'edit by B' },
        { expectedVersion: 1 },
      ),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(isApiError(lost[0]!.reason, 'CONFLICT')).toBe(true);
    const winner = results[0]!.status === 'fulfilled' ? 'edit by A' : 'edit by B';
    const history = await a.recordHistory(folder.folderId, base.recordId);
    expect(history.map((h) => h.text)).toEqual(['v1', winner]);
    // The loser re-reads and retries on purpose: nothing was overwritten.
    const loser = results[0]!.status === 'fulfilled' ? b : a;
    const retried = await loser.editRecord(
      folder.folderId,
      base.recordId,
      { kind: 'note', title: 'Shared', text: 'merged' },
      { expectedVersion: 2 },
    );
    expect(retried.version).toBe(3);
    expect((await a.recordHistory(folder.folderId, base.recordId)).map((h) => h.text)).toEqual([
      'v1',
      winner,
      'merged',
    ]);
  });

  it('recovers a lost password with the recovery code; old password and code stop working', async () => {
    const c = client();
    const { recoveryCode } = await c.signUp({
      userName: 'dr.forgetful',
      password: 'first password',
      role: 'practitioner',
    });
    const f = await c.createFolder({ name: 'Chloé Martin' });
    await c.addRecord(f.folderId, { kind: 'note', title: 'Before', text: 'kept' });

    const device = client();
    await rejectsWith(
      device.recover({
        userName: 'dr.forgetful',
        recoveryCode: recoveryCode.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')),
        newPassword: 'x',
      }),
      'BAD_RECOVERY_CODE',
    );
    const { recoveryCode: fresh } = await device.recover({
      userName: 'dr.forgetful',
      recoveryCode,
      newPassword: 'second password',
    });
    expect(fresh).not.toBe(recoveryCode);
    expect((await device.listRecords(f.folderId)).map((r) => r.title)).toEqual(['Before']);
    await rejectsWith(
      client().login({ userName: 'dr.forgetful', password: 'first password' }),
      'BAD_PASSWORD',
    );
    await rejectsWith(
      client().recover({ userName: 'dr.forgetful', recoveryCode, newPassword: 'y' }),
      'BAD_RECOVERY_CODE',
    );
    const later = client();
    await later.login({ userName: 'dr.forgetful', password: 'second password' });
    expect((await later.whoami()).userName).toBe('dr.forgetful');
  });
});

describe('packaging', () => {
  it('the SDK bundles for the browser with no Node built-in; the node subpath does not', async () => {
    const sdk = await bundleForBrowser(
      fileURLToPath(new URL('../../shared/src/client/index.ts', import.meta.url)),
    );
    expect(sdk).toContain('CarnetClient');
    expect(sdk).not.toMatch(/\bfrom\s*["']node:/);
    await expect(
      bundleForBrowser(
        fileURLToPath(new URL('../../shared/src/client/node/index.ts', import.meta.url)),
      ),
    ).rejects.toThrow();
  });
});

describe('a device that keeps its state in a file (the CLI)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'carnet-device-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('resumes its session with unlock, keeps pins and marks across runs, changes its password', async () => {
    const path = join(dir, 'state.json');
    const first = new CarnetClient({ relayUrl: relay.url, store: new FileLocalStore(path) });
    await first.signUp({ userName: 'dr.cli', password: 'cli password 1', role: 'practitioner' });
    const f = await first.createFolder({ name: 'Éloïse Cli' });
    await first.addRecord(f.folderId, { kind: 'note', title: 'Seen', text: 'by the first run' });
    const pinned = await first.lookupAccount('dr.martin');

    // A second process on the same device: no login, the saved session and the password.
    const second = new CarnetClient({ relayUrl: relay.url, store: new FileLocalStore(path) });
    await rejectsWith(second.unlock({ password: 'wrong password' }), 'BAD_PASSWORD');
    expect((await second.unlock({ password: 'cli password 1' })).userName).toBe('dr.cli');
    expect((await second.lookupAccount('dr.martin')).pin).toBe('unchanged');
    expect(pinned.pin).toBe('trusted-on-first-use');
    expect((await second.listRecords(f.folderId)).map((r) => r.title)).toEqual(['Seen']);

    // The marks written by the first run hold: a relay that drops the record is caught.
    const hostile = hostileFetch();
    hostile.rewrite = (method, p, body) =>
      method === 'GET' && p === `/folders/${f.folderId}/records` ? { records: [] } : body;
    const third = new CarnetClient({
      relayUrl: relay.url,
      store: new FileLocalStore(path),
      fetch: hostile.fetch,
    });
    await third.unlock({ password: 'cli password 1' });
    await rejectsWith(third.listRecords(f.folderId), 'RECORD_MISSING');

    await rejectsWith(
      second.changePassword({ currentPassword: 'nope', newPassword: 'x' }),
      'BAD_PASSWORD',
    );
    await second.changePassword({
      currentPassword: 'cli password 1',
      newPassword: 'cli password 2',
    });
    await rejectsWith(
      client().login({ userName: 'dr.cli', password: 'cli password 1' }),
      'BAD_PASSWORD',
    );
    await second.logout();
    await expect(second.listFolders()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    const fourth = new CarnetClient({ relayUrl: relay.url, store: new FileLocalStore(path) });
    await expect(fourth.unlock({ password: 'cli password 2' })).rejects.toMatchObject({
      code: 'UNAUTHENTICATED',
    });
    await fourth.login({ userName: 'dr.cli', password: 'cli password 2' });
    expect((await fourth.listFolders()).map((x) => x.profile?.name)).toEqual(['Éloïse Cli']);
  });
});

describe('logout', () => {
  it('revokes on the relay a saved session this process never unlocked (a CLI run)', async () => {
    const store = new MemoryLocalStore();
    await client(store).signUp({
      userName: 'dr.logout',
      password: 'logout pw',
      role: 'practitioner',
    });
    const { token } = JSON.parse((await store.get('session'))!) as { token: string };
    const me = () =>
      fetch(`${relay.url}/api/v1/accounts/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me()).status).toBe(200);
    await client(store).logout();
    expect((await me()).status).toBe(401);
    expect(await store.get('session')).toBeUndefined();
  });
});

/** A raw GET with the session token an SDK client keeps in its store. */
async function rawGet(store: MemoryLocalStore, path: string): Promise<Record<string, unknown>> {
  const { token } = JSON.parse((await store.get('session'))!) as { token: string };
  const res = await fetch(`${relay.url}/api/v1${path}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

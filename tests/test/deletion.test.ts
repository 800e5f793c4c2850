/**
 * Deletion through the SDK and the CLI against a real relay on 127.0.0.1: a practitioner
 * deletes a patient's folder (the patient sees a notice, not a failure; an export taken before
 * still decrypts), the relay's key is pinned and a changed key is refused before anything is
 * deleted, a patient deletes their account, and `carnet receipt verify` checks the receipt.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarnetClient, MemoryLocalStore, isApiError, type ApiError } from '@carnet/shared/client';
import { exportVault, importArchive } from '@carnet/shared/client/node';
import {
  asKey,
  relayKeyFingerprint,
  toBase64url,
  type FolderId,
  type IdentityPublicKey,
} from '@carnet/shared/core';
import { profileDir } from '../../scripts/src/config';
import { oneJson, run } from '../../scripts/test/io-helpers';
import { startTestRelay, type TestRelay } from '../src/relay';
import { digestStream, rejectsWith } from '../src/sdk-helpers';

let relay: TestRelay;
let work = '';
beforeAll(async () => {
  relay = await startTestRelay();
  work = await mkdtemp(join(tmpdir(), 'carnet-deletion-'));
});
afterAll(async () => {
  await relay?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function client(store = new MemoryLocalStore()): CarnetClient {
  return new CarnetClient({ relayUrl: relay.url, store });
}

function bodyOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const e: unknown = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isApiError(e)) throw new Error(`expected an ApiError, got ${String(e)}`);
  return e;
}

const PASSWORD = { dr: 'dr deletion pw', patient: 'patient deletion pw', other: 'other pw' };
const scan = randomBytes(40_000);

describe('deleting a patient folder', () => {
  let dr: CarnetClient;
  let patient: CarnetClient;
  let folderId: FolderId;
  let receipt: Uint8Array;
  let deletedAt = 0;
  const exported = () => join(work, 'before-deletion.age');

  beforeAll(async () => {
    dr = client();
    patient = client();
    await dr.signUp({ userName: 'dr.deleter', password: PASSWORD.dr, role: 'practitioner' });
    await patient.signUp({ userName: 'pat.deleted', password: PASSWORD.patient, role: 'patient' });
    folderId = (await dr.createFolder({ name: 'Denise Deleted' })).folderId;
    await dr.addRecord(folderId, { kind: 'note', title: 'Visit', text: 'All fine.' });
    await dr.addRecord(folderId, {
      kind: 'document',
      fileName: 'scan.pdf',
      mimeType: 'application/pdf',
      size: scan.length,
      body: bodyOf(scan),
    });
    const { link } = await dr.invitePatient(folderId);
    await patient.acceptInvite(link);
    await dr.processInvites(folderId);
    expect((await patient.listRecords(folderId)).map((r) => r.title).sort()).toEqual([
      'Visit',
      'scan.pdf',
    ]);
  });

  it('takes an export, then deletes the folder with a receipt verified under the pinned key', async () => {
    await exportVault(patient, {
      out: exported(),
      folderIds: [folderId],
      encryption: { passphrase: 'export passphrase' },
    });
    const r = await dr.deleteFolder(folderId);
    receipt = r.receipt;
    deletedAt = r.fields.at;
    expect(r.fields).toMatchObject({
      subject: 'folder',
      subjectId: folderId,
      requestedBy: dr.account?.accountId,
    });
    expect(r.fields.counts).toMatchObject({ folders: 1, records: 2, versions: 2, blobs: 1 });
    expect(r.fields.counts.members).toBe(2);
    expect(await dr.deletion.verifyReceipt(r.receipt)).toEqual(r.fields);
    expect((await dr.deletion.relayKey()).pin).toBe('unchanged');
    expect(r.fingerprint).toMatch(/^(\d{5} ){5}\d{5}$/);
  });

  it('shows the patient a notice: the list still works, the folder is named as deleted', async () => {
    const folders = await patient.listFolders();
    expect(folders.map((f) => f.folderId)).not.toContain(folderId);
    expect(await patient.deletion.deletedFolders()).toEqual([{ folderId, deletedAt }]);
    const e = await failure(patient.getFolder(folderId));
    expect(e.code).toBe('FOLDER_DELETED');
    expect(e.status).toBe(410);
    expect(e.message).toContain(new Date(deletedAt).toISOString());
    expect((await failure(patient.listRecords(folderId))).code).toBe('FOLDER_DELETED');
  });

  it('an export taken before the deletion still decrypts and imports in full', async () => {
    const other = client();
    await other.signUp({ userName: 'dr.heir', password: PASSWORD.other, role: 'practitioner' });
    const summary = await importArchive(other, {
      path: exported(),
      passphrase: 'export passphrase',
    });
    expect(summary.records).toBe(2);
    const created = summary.created[0]?.folderId as string;
    const records = await other.listRecords(created);
    const doc = records.find((x) => x.fileName === 'scan.pdf');
    expect(doc).toBeDefined();
    const opened = await other.openDocument(created, doc!.recordId);
    const got = await digestStream(opened.body);
    expect(got.size).toBe(scan.length);
    expect(got.sha256).toBe(createHash('sha256').update(scan).digest('hex'));
  });

  it('refuses a receipt under another key, and a relay whose key changed, before deleting', async () => {
    await rejectsWith(dr.deletion.verifyReceipt(receipt, randomBytes(32)), 'INTEGRITY');
    const tampered = Uint8Array.from(receipt);
    tampered[40] = (tampered[40] as number) ^ 1;
    await rejectsWith(dr.deletion.verifyReceipt(tampered), 'INTEGRITY');

    // A device whose pin differs from the relay's key: nothing is deleted.
    const store = new MemoryLocalStore();
    const wary = client(store);
    await wary.login({ userName: 'dr.deleter', password: PASSWORD.dr });
    const kept = await wary.createFolder({ name: 'Kept Folder' });
    const real = await wary.deletion.relayKey();
    await store.set(
      'relay/signing-key',
      JSON.stringify({ key: toBase64url(randomBytes(32)), fingerprint: '00000 …' }),
    );
    await rejectsWith(wary.deleteFolder(kept.folderId), 'KEY_CHANGED');
    expect((await wary.getFolder(kept.folderId)).folderId).toBe(kept.folderId);
    await rejectsWith(wary.deletion.acceptRelayKey('11111 11111'), 'KEY_UNVERIFIED');
    await wary.deletion.acceptRelayKey(real.fingerprint);
    expect((await wary.deleteFolder(kept.folderId)).fields.subjectId).toBe(kept.folderId);
  });

  it('`carnet receipt verify` checks the file offline and against the relay', async () => {
    const key = (await dr.deletion.relayKey()).key;
    const file = join(work, 'receipt.json');
    const fingerprint = (await dr.deletion.relayKey()).fingerprint;
    await writeFile(
      file,
      JSON.stringify({
        receipt: toBase64url(receipt),
        relayKey: toBase64url(key),
        fingerprint,
        server: relay.url,
      }),
    );
    const env = { CARNET_HOME: join(work, 'cli-home') };
    const offline = await run(['receipt', 'verify', file, '--json'], env);
    expect(offline.code).toBe(0);
    const out = oneJson(offline.stdout);
    expect(out).toMatchObject({
      valid: true,
      fingerprint,
      relayCheck: null,
      fields: { subject: 'folder', subjectId: folderId, at: deletedAt },
    });
    const online = await run(['receipt', 'verify', file, '--server', relay.url], env);
    expect(online.code).toBe(0);
    expect(online.stdout).toContain('Valid receipt.');
    expect(online.stdout).toContain('current key');

    // Another relay key in the file: the signature no longer verifies (exit 4).
    const forged = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    const otherKey = randomBytes(32);
    forged.relayKey = toBase64url(otherKey);
    forged.fingerprint = relayKeyFingerprint(asKey<IdentityPublicKey>(otherKey));
    await writeFile(file, JSON.stringify(forged));
    const bad = await run(['receipt', 'verify', file, '--json'], env);
    expect(bad.code).toBe(4);
    expect(oneJson(bad.stdout)).toMatchObject({ error: { code: 'INTEGRITY' } });
  });
});

describe('deleting an account', () => {
  it('needs the password, returns a receipt, forgets the account here and frees the name', async () => {
    const store = new MemoryLocalStore();
    const pat = client(store);
    const { account } = await pat.signUp({
      userName: 'pat.leaving',
      password: PASSWORD.patient,
      role: 'patient',
    });
    // The patient is a member of a practitioner's folder.
    const doc = client();
    await doc.signUp({ userName: 'dr.left.behind', password: PASSWORD.dr, role: 'practitioner' });
    const shared = (await doc.createFolder({ name: 'Leaving Patient' })).folderId;
    const { link } = await doc.invitePatient(shared);
    await pat.acceptInvite(link);
    await doc.processInvites(shared);

    await rejectsWith(pat.deletion.deleteAccount({ password: 'not it' }), 'BAD_PASSWORD');
    expect(pat.account?.accountId).toBe(account.accountId);

    const r = await pat.deletion.deleteAccount({ password: PASSWORD.patient });
    expect(r.fields).toMatchObject({
      subject: 'account',
      subjectId: account.accountId,
      requestedBy: account.accountId,
    });
    expect(pat.account).toBeUndefined();
    expect(store.keys().filter((k) => k.includes(account.accountId) || k === 'session')).toEqual(
      [],
    );
    // The relay key stays pinned: it verifies this receipt later.
    expect(await pat.deletion.verifyReceipt(r.receipt)).toEqual(r.fields);
    await rejectsWith(
      client().login({ userName: 'pat.leaving', password: PASSWORD.patient }),
      'BAD_PASSWORD',
    );
    // The practitioner's next write notices that the relay refuses a manifest naming the
    // deleted account, rotates that member out and goes on: the write is not lost.
    await doc.addRecord(shared, { kind: 'note', title: 'After', text: 'The patient left.' });
    expect((await doc.getFolder(shared)).members.map((m) => m.accountId)).toEqual([
      doc.account?.accountId,
    ]);
    expect((await doc.listRecords(shared)).map((r) => r.title)).toEqual(['After']);
    expect(await doc.deletion.pruneDeletedMembers()).toEqual([]);

    const again = await client().signUp({
      userName: 'pat.leaving',
      password: 'a new life',
      role: 'patient',
    });
    expect(again.account.accountId).not.toBe(account.accountId);
  });
});

describe('the deletion commands', () => {
  it('`patient delete` and `account delete` need --yes, save receipts that verify', async () => {
    const home = join(work, 'cli-user');
    const env = {
      CARNET_HOME: home,
      CARNET_SERVER: relay.url,
      CARNET_USER: 'dr.cli.deleter',
      CARNET_PASSWORD: 'cli deleter password',
    };
    const ok = async (argv: string[]) => {
      const r = await run([...argv, '--json'], env);
      const out = oneJson(r.stdout);
      expect(out.error, JSON.stringify(out)).toBeUndefined();
      expect(r.code).toBe(0);
      return out;
    };
    await ok(['signup', '--role', 'practitioner']);
    const created = await ok(['patient', 'add', '--name', 'Zoé Zapped']);
    const folder = (created.folder as { folderId: string }).folderId;

    const unconfirmed = await run(['patient', 'delete', '--folder', folder, '--json'], env);
    expect(unconfirmed.code).toBe(1);
    expect(oneJson(unconfirmed.stdout)).toMatchObject({ error: { code: 'USAGE' } });

    const folderReceipt = join(work, 'folder-receipt.json');
    const deleted = await ok([
      'patient',
      'delete',
      '--folder',
      folder,
      '--yes',
      '--receipt',
      folderReceipt,
    ]);
    expect(deleted).toMatchObject({
      deleted: { subject: 'folder', subjectId: folder },
      receiptFile: folderReceipt,
    });
    // Checked against the key pinned on this device for this user.
    const verified = await ok(['receipt', 'verify', folderReceipt, '--server', relay.url]);
    expect(verified).toMatchObject({ valid: true, relayCheck: 'pinned' });

    const accountReceipt = join(work, 'account-receipt.json');
    const gone = await ok(['account', 'delete', '--yes', '--receipt', accountReceipt]);
    expect(gone).toMatchObject({ deleted: { subject: 'account' } });
    const again = await ok(['receipt', 'verify', accountReceipt]);
    expect(again).toMatchObject({ valid: true, fields: { subject: 'account' } });
    const state = profileDir({ server: relay.url, user: env.CARNET_USER, home }, env.CARNET_USER);
    expect(existsSync(state)).toBe(false);
    const login = await run(['login', '--json'], env);
    expect(login.code).toBe(2);
    expect(oneJson(login.stdout)).toMatchObject({ error: { code: 'BAD_PASSWORD' } });
  });
});

/**
 * The basics of a malicious relay, seen through the SDK against a real relay: bytes flipped
 * in the database and the blob store, and a hostile `fetch` in front of the relay that
 * replays, drops, hides, substitutes and forges. Every case must end in the typed error the
 * design names, never in wrong data.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createKeyBundle, generateAccountKeys } from '@carnet/shared/core';
import { CarnetClient, MemoryLocalStore, type FolderDetails } from '@carnet/shared/client';
import { toBase64url } from '@carnet/shared/core';
import { newFolderKey, wrapFolderKeyToMember } from '@carnet/shared/core';
import { newId, type RecordId } from '@carnet/shared/core';
import type { EncryptionPublicKey, IdentityPrivateKey } from '@carnet/shared/core';
import { x25519PublicKey } from '@carnet/shared/primitives';
import { headerHash, signRecordVersion } from '@carnet/shared/core';
import { startTestRelay, type TestRelay } from '../src/relay';
import {
  digestStream,
  flipped,
  generatedStream,
  heldKeys,
  hostileFetch,
  rejectsWith,
  relayDb,
  swapWraps,
} from '../src/sdk-helpers';

const PASSWORD = { dr: 'correct horse dr', patient: 'patient pw 42' };

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay();
});
afterAll(async () => {
  await relay.close();
});

function client(store = new MemoryLocalStore()): CarnetClient {
  return new CarnetClient({ relayUrl: relay.url, store });
}

describe('a malicious relay, seen through the SDK', () => {
  const ownerStore = new MemoryLocalStore();
  const hostile = hostileFetch();
  let owner: CarnetClient;
  let folder: FolderDetails;
  let noteId: RecordId;
  let docId: RecordId;
  let patientKeys: Awaited<ReturnType<typeof heldKeys>>;

  beforeAll(async () => {
    owner = new CarnetClient({ relayUrl: relay.url, store: ownerStore, fetch: hostile.fetch });
    await owner.signUp({ userName: 'dr.target', password: PASSWORD.dr, role: 'practitioner' });
    await client().signUp({ userName: 'dr.martin', password: PASSWORD.dr, role: 'practitioner' });
    folder = await owner.createFolder({ name: 'Denise Target' });
    noteId = (
      await owner.addRecord(folder.folderId, {
        kind: 'note',
        title: 'Note',
        text: 'Original text.',
      })
    ).recordId;
    const doc = generatedStream(300_000, 3);
    docId = (
      await owner.addRecord(folder.folderId, {
        kind: 'document',
        fileName: 'x-ray.jpg',
        size: 300_000,
        body: doc.body,
      })
    ).recordId;
    const patient = client();
    await patient.signUp({ userName: 'denise', password: PASSWORD.patient, role: 'patient' });
    await patient.acceptInvite((await owner.invitePatient(folder.folderId)).link);
    await owner.processInvites(folder.folderId);
    patientKeys = await heldKeys(relay.url, 'denise', PASSWORD.patient, folder.folderId);
  });

  afterEach(() => {
    hostile.rewrite = undefined;
  });

  /** A fresh device of the patient: no pins, no marks, nothing cached. */
  async function patientDevice(fetchImpl = hostile.fetch): Promise<CarnetClient> {
    const c = new CarnetClient({ relayUrl: relay.url, fetch: fetchImpl });
    await c.login({ userName: 'denise', password: PASSWORD.patient });
    return c;
  }

  it('a flipped byte in a stored header, signature or data key is refused', async () => {
    const db = relayDb(relay.dataDir);
    try {
      for (const column of ['header', 'signed', 'data_key'] as const) {
        const row = db
          .prepare(`SELECT ${column} AS v FROM record_versions WHERE record_id = ?`)
          .get(noteId) as { v: Buffer };
        const original = Buffer.from(row.v);
        const set = db.prepare(`UPDATE record_versions SET ${column} = ? WHERE record_id = ?`);
        // The last byte: the AEAD tag of the header and data key, the signature of the version.
        set.run(flipped(original, original.length - 1), noteId);
        try {
          await rejectsWith(owner.readRecord(folder.folderId, noteId), 'INTEGRITY');
        } finally {
          set.run(original, noteId);
        }
      }
      expect((await owner.readRecord(folder.folderId, noteId)).text).toBe('Original text.');
    } finally {
      db.close();
    }
  });

  it('a flipped byte in a blob makes the document stream fail with INTEGRITY', async () => {
    const db = relayDb(relay.dataDir);
    const { blob_id: blobId } = db
      .prepare('SELECT blob_id FROM record_versions WHERE record_id = ?')
      .get(docId) as { blob_id: string };
    db.close();
    const path = join(relay.dataDir, 'blobs', blobId);
    const original = readFileSync(path);
    writeFileSync(path, flipped(original, 200_000));
    try {
      const { body } = await owner.openDocument(folder.folderId, docId);
      await rejectsWith(digestStream(body), 'INTEGRITY');
    } finally {
      writeFileSync(path, original);
    }
    const { body } = await owner.openDocument(folder.folderId, docId);
    expect((await digestStream(body)).size).toBe(300_000);
  });

  it('a forged member list (manifest byte changed) is ACL_UNSIGNED', async () => {
    const db = relayDb(relay.dataDir);
    try {
      const row = db
        .prepare(
          'SELECT seq, data FROM folder_manifests WHERE folder_id = ? ORDER BY seq DESC LIMIT 1',
        )
        .get(folder.folderId) as { seq: number; data: Buffer };
      const original = Buffer.from(row.data);
      const set = db.prepare(
        'UPDATE folder_manifests SET data = ? WHERE folder_id = ? AND seq = ?',
      );
      // A byte of the owner's member entry: the account id of a member.
      set.run(flipped(original, original.length - 64 - 30), folder.folderId, row.seq);
      try {
        await rejectsWith(owner.getFolder(folder.folderId), 'ACL_UNSIGNED');
        await rejectsWith(
          patientDevice().then((p) => p.listFolders()),
          'ACL_UNSIGNED',
        );
      } finally {
        set.run(original, folder.folderId, row.seq);
      }
    } finally {
      db.close();
    }
  });

  it('an older manifest served again is ROLLBACK', async () => {
    const path = `/folders/${folder.folderId}`;
    await owner.getFolder(folder.folderId);
    const before = structuredClone(
      hostile.seen.filter((x) => x.method === 'GET' && x.path === path).at(-1)!.body,
    );
    await owner.shareFolder(folder.folderId, {
      userName: 'dr.martin',
      safetyCode: (await owner.lookupAccount('dr.martin')).safetyCode,
    });
    hostile.rewrite = (method, p, body) => (method === 'GET' && p === path ? before : body);
    await rejectsWith(owner.getFolder(folder.folderId), 'ROLLBACK');
    await rejectsWith(owner.listRecords(folder.folderId), 'ROLLBACK');
  });

  it('a dropped record is RECORD_MISSING, for this device and for a fresh one', async () => {
    const path = `/folders/${folder.folderId}/records`;
    hostile.rewrite = (method, p, body) => {
      if (method !== 'GET' || p !== path) return body;
      const b = body as { records: { recordId: string }[] };
      return { records: b.records.filter((r) => r.recordId !== noteId) };
    };
    await rejectsWith(owner.listRecords(folder.folderId), 'RECORD_MISSING');
    await rejectsWith((await patientDevice()).listRecords(folder.folderId), 'RECORD_MISSING');
  });

  it('a hidden latest version is ROLLBACK here and RECORD_MISSING on a fresh device', async () => {
    // The relay keeps a consistent copy of version 1 and serves it as the latest.
    await owner.readRecord(folder.folderId, noteId);
    const one = hostile.seen
      .filter(
        (x) => x.method === 'GET' && x.path === `/folders/${folder.folderId}/records/${noteId}`,
      )
      .at(-1)!;
    const v1 = (one.body as { versions: unknown[] }).versions[0];
    await owner.editRecord(
      folder.folderId,
      noteId,
      { kind: 'note', title: 'Note', text: 'Corrected.' },
      { expectedVersion: 1 },
    );
    const path = `/folders/${folder.folderId}/records`;
    hostile.rewrite = (method, p, body) => {
      if (method !== 'GET' || p !== path) return body;
      const b = body as { records: { recordId: string; versions: unknown[] }[] };
      return {
        records: b.records.map((r) =>
          r.recordId === noteId ? { ...r, latest: v1, versions: r.versions.slice(0, 1) } : r,
        ),
      };
    };
    await rejectsWith(owner.listRecords(folder.folderId), 'ROLLBACK');
    await rejectsWith((await patientDevice()).listRecords(folder.folderId), 'RECORD_MISSING');
  });

  it('a key bundle substituted in the directory is KEY_CHANGED once pinned', async () => {
    const patientId = patientKeys.accountId;
    const fake = await generateAccountKeys();
    const forged = toBase64url(
      await createKeyBundle(fake, { accountId: patientId, role: 'patient', createdAt: 1 }),
    );
    hostile.rewrite = (method, p, body) =>
      method === 'GET' && p === `/directory/${patientId}`
        ? { ...(body as object), keyBundle: forged }
        : body;
    await rejectsWith(owner.lookupAccount(patientId), 'KEY_CHANGED');
  });

  it('a user name the relay maps to another account is refused', async () => {
    // First sight binds dr.martin to its account on this device.
    const martin = await owner.lookupAccount('dr.martin');
    const byName = '/directory/by-name/dr.martin';
    const patientEntry = { userName: 'dr.martin', accountId: patientKeys.accountId };
    // The relay now answers "dr.martin" with the patient's (genuine, signed) bundle.
    const { token } = JSON.parse((await ownerStore.get('session'))!) as { token: string };
    const genuine = await relayDirectoryEntry(patientKeys.accountId, token);
    const patientBody = { ...genuine, ...patientEntry };
    hostile.rewrite = (method, p, body) => (method === 'GET' && p === byName ? patientBody : body);
    await rejectsWith(owner.lookupAccount('dr.martin'), 'KEY_CHANGED');
    // Or answers for a name other than the one asked.
    hostile.rewrite = (method, p, body) =>
      method === 'GET' && p === byName ? { ...(body as object), userName: 'dr.other' } : body;
    await rejectsWith(owner.lookupAccount('dr.martin'), 'KEY_UNVERIFIED');
    hostile.rewrite = undefined;
    expect((await owner.lookupAccount('dr.martin')).accountId).toBe(martin.accountId);
  });

  it('a folder key wrapped by the relay to a member is refused (INTEGRITY), not used', async () => {
    const patientId = patientKeys.accountId;
    const path = `/folders/${folder.folderId}`;
    const patientPub = await x25519PublicKey(patientKeys.keys[1]!);
    const epoch = (await owner.getFolder(folder.folderId)).epoch!;
    const relayKey = newFolderKey();
    const wrap = toBase64url(
      await wrapFolderKeyToMember(patientPub as EncryptionPublicKey, relayKey, {
        folderId: folder.folderId,
        epoch,
        accountId: patientId,
      }),
    );
    hostile.rewrite = (method, p, body) =>
      method === 'GET' && (p === path || p.startsWith('/folders?'))
        ? swapWraps(body, folder.folderId, [{ epoch, wrap }])
        : body;
    await rejectsWith((await patientDevice()).listFolders(), 'INTEGRITY');
  });

  it('a version signed by a non-member is UNAUTHORIZED_AUTHOR', async () => {
    const outsider = client();
    await outsider.signUp({
      userName: 'mallory.author',
      password: 'mallory pw 2',
      role: 'practitioner',
    });
    const m = await heldKeys(relay.url, 'mallory.author', 'mallory pw 2');
    const recordId = newId<RecordId>();
    const header = new Uint8Array(100);
    const signed = await signRecordVersion(m.keys[0] as IdentityPrivateKey, {
      folderId: folder.folderId,
      recordId,
      version: 1,
      prevVersionHash: new Uint8Array(32),
      headerHash: headerHash(header),
      bodyDigest: new Uint8Array(32),
      epoch: (await owner.getFolder(folder.folderId)).epoch!,
      authorId: m.accountId,
    });
    const db = relayDb(relay.dataDir);
    try {
      db.prepare(
        'INSERT INTO record_versions (folder_id, record_id, version, epoch, header, signed, data_key, blob_id, created_at) VALUES (?, ?, 1, ?, ?, ?, ?, NULL, ?)',
      ).run(
        folder.folderId,
        recordId,
        (await owner.getFolder(folder.folderId)).epoch!,
        Buffer.from(header),
        Buffer.from(signed),
        Buffer.alloc(100),
        Date.now(),
      );
      await rejectsWith(owner.listRecords(folder.folderId), 'UNAUTHORIZED_AUTHOR');
      db.prepare('DELETE FROM record_versions WHERE record_id = ?').run(recordId);
    } finally {
      db.close();
    }
  });
});

/** The relay's genuine directory entry for an account, fetched without the hostile proxy. */
async function relayDirectoryEntry(
  accountId: string,
  token: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${relay.url}/api/v1/directory/${accountId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!res.ok) throw new Error(`directory: ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

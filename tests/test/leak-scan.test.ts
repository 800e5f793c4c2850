/**
 * Promise 1 of the design: the relay's data directory holds no plaintext. A full scenario runs
 * through the SDK with distinctive markers in every name, title, text, file name and file
 * content; then every file of the data directory (database, WAL, SHM, blobs, temp) is searched
 * for each marker raw, in base64 and base64url at all three byte alignments, and in hex.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CarnetClient, MemoryLocalStore } from '@carnet/shared/client';
import { tempFileSpool } from '@carnet/shared/client/node';
import { startTestRelay, type TestRelay } from '../src/relay';

/** Every marker is unique and long enough never to occur by chance in ciphertext. */
const M = {
  name: 'LeakMarkerPatientNameQx71',
  birthPlace: 'LeakMarkerAddressZr52',
  identifier: 'LeakMarkerNationalIdWp33',
  noteTitle: 'LeakMarkerNoteTitleKd84',
  noteText: 'LeakMarkerNoteTextFj95 the patient reports dizziness',
  entryTitle: 'LeakMarkerEntryTitleHs06',
  entryValue: 'LeakMarkerEntryValueGt17',
  fileName: 'LeakMarkerFileNameUy28.pdf',
  mimeType: 'application/x-leakmarker-mime-Vb39',
  fileContent: 'LeakMarkerFileContentNe40',
  bigContent: 'LeakMarkerBigFileContentMo51',
  editedText: 'LeakMarkerEditedTextLa62',
  profileEdit: 'LeakMarkerProfileNoteJc73',
  colleagueNote: 'LeakMarkerColleagueNoteIb84',
  patientDoc: 'LeakMarkerPatientDocumentHa95',
  // A birth date is short and structured: scanned for as written, like every other marker.
  birthDate: '1908-04-17',
} as const;

/** The strings under which `marker` could appear in a file. */
export function encodings(marker: string): string[] {
  const bytes = Buffer.from(marker, 'utf8');
  const out = new Set<string>([marker, bytes.toString('hex'), bytes.toString('hex').toUpperCase()]);
  for (const shift of [0, 1, 2]) {
    // With `shift` bytes in front, characters that mix in those bytes or the trailing padding
    // vary with the neighbours; only the characters made purely of marker bits are stable.
    const b64 = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const start = Math.ceil((shift * 8) / 6);
    const end = Math.floor(((shift + bytes.length) * 8) / 6);
    const core = b64.slice(start, end);
    out.add(core);
    out.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...out];
}

/** Every regular file under `dir`. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** Which of `needles` occur in which files under `dir`. */
function scan(dir: string, needles: string[]): { file: string; needle: string }[] {
  const hits: { file: string; needle: string }[] = [];
  for (const file of files(dir)) {
    const data = readFileSync(file);
    for (const needle of needles)
      if (data.includes(needle, 0, 'latin1')) hits.push({ file, needle });
  }
  return hits;
}

/** A stream of `size` bytes in which `marker` repeats, never held in memory at once. */
function markedStream(marker: string, size: number): ReadableStream<Uint8Array> {
  const unit = Buffer.from(`${marker} `.repeat(4096));
  let left = size;
  return new ReadableStream({
    pull(c) {
      if (left === 0) return c.close();
      const n = Math.min(left, unit.length);
      c.enqueue(Uint8Array.from(unit.subarray(0, n)));
      left -= n;
    },
  });
}

describe('leak scan of the relay data directory', () => {
  let relay: TestRelay;
  const needles = Object.values(M).flatMap(encodings);

  beforeAll(async () => {
    relay = await startTestRelay();
    const mk = (): CarnetClient =>
      new CarnetClient({
        relayUrl: relay.url,
        store: new MemoryLocalStore(),
        spool: tempFileSpool(),
      });
    const dr = mk();
    await dr.signUp({
      userName: 'dr.leakscan',
      password: 'leak scan password',
      role: 'practitioner',
    });
    const folder = await dr.createFolder({
      name: M.name,
      birthDate: M.birthDate,
      sex: 'other',
      address: M.birthPlace,
      identifier: M.identifier,
    });
    const note = await dr.addRecord(folder.folderId, {
      kind: 'note',
      title: M.noteTitle,
      text: M.noteText,
    });
    await dr.addRecord(folder.folderId, {
      kind: 'observation',
      title: M.entryTitle,
      structured: { value: M.entryValue },
    });
    const small = `${M.fileContent} `.repeat(100);
    await dr.addRecord(folder.folderId, {
      kind: 'document',
      fileName: M.fileName,
      mimeType: M.mimeType,
      size: small.length,
      body: markedStream(M.fileContent, small.length),
    });
    await dr.addRecord(folder.folderId, {
      kind: 'document',
      fileName: 'big.bin',
      size: 20 * 1024 * 1024,
      body: markedStream(M.bigContent, 20 * 1024 * 1024),
    });
    await dr.editRecord(
      folder.folderId,
      note.recordId,
      { kind: 'note', title: M.noteTitle, text: M.editedText },
      { expectedVersion: 1 },
    );
    await dr.updateProfile(folder.folderId, { name: M.name, note: M.profileEdit });

    const patient = mk();
    await patient.signUp({
      userName: 'patient.leakscan',
      password: 'patient leak pw',
      role: 'patient',
    });
    await patient.acceptInvite((await dr.invitePatient(folder.folderId)).link);
    await dr.processInvites();
    expect((await patient.listRecords(folder.folderId)).map((r) => r.title)).toContain(M.noteTitle);
    const doc = Buffer.from(`${M.patientDoc} `.repeat(10));
    await patient.addRecord(folder.folderId, {
      kind: 'document',
      fileName: `${M.patientDoc}.txt`,
      size: doc.length,
      body: markedStream(M.patientDoc, doc.length),
    });

    const colleague = mk();
    const { account } = await colleague.signUp({
      userName: 'dr.colleague.leak',
      password: 'colleague leak pw',
      role: 'practitioner',
    });
    await dr.shareFolder(folder.folderId, {
      userName: 'dr.colleague.leak',
      safetyCode: account.safetyCode,
    });
    await colleague.addRecord(folder.folderId, { kind: 'note', title: 'c', text: M.colleagueNote });
    await dr.removeMember(folder.folderId, account.accountId);
    expect((await dr.listRecords(folder.folderId)).length).toBe(6);
  });

  afterAll(async () => {
    await relay.close();
  });

  it('the scanner finds what it looks for (it can fail)', () => {
    // User names are routing metadata, stored in clear by design (docs/metadata.md).
    expect(scan(relay.dataDir, encodings('dr.leakscan')).length).toBeGreaterThan(0);
    // Every alignment of every encoding is caught, whatever surrounds the marker.
    for (const shift of [0, 1, 2]) {
      const sample = Buffer.concat([
        Buffer.alloc(shift, 0xa7),
        Buffer.from(M.name),
        Buffer.from('~tail'),
      ]);
      for (const form of ['base64', 'base64url', 'hex'] as const) {
        const text = sample.toString(form);
        expect(encodings(M.name).some((e) => text.includes(e))).toBe(true);
      }
    }
  });

  it('no marker is in the data directory while the relay runs (database, WAL, SHM, blobs)', () => {
    const names = files(relay.dataDir).map((f) => f.slice(relay.dataDir.length));
    expect(names).toContain('/carnet.db');
    expect(names.some((n) => n.startsWith('/blobs/'))).toBe(true);
    expect(scan(relay.dataDir, needles)).toEqual([]);
  });

  it('no marker is in the data directory after the relay stopped (WAL checkpointed)', async () => {
    await relay.stop();
    expect(scan(relay.dataDir, needles)).toEqual([]);
  });
});

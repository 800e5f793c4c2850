/**
 * Export and re-import end to end (issue 5 §1), against a real relay on 127.0.0.1: a
 * practitioner's folders — notes, structured entries of every kind, real documents and a
 * Synthea patient — exported as FHIR R4 in a tar archive (clear, to an age recipient and
 * decrypted by Debian's own `age`, to a passphrase), every bundle checked here, and re-imported
 * into fresh accounts record for record and byte for byte. Also: a patient exporting what is
 * shared with them, tampered and truncated archives refused with nothing imported, a failed
 * export leaving nothing behind, and constant memory while exporting a 300 MiB document.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CarnetClient,
  MemoryLocalStore,
  isApiError,
  type JsonValue,
  type RecordInput,
} from '@carnet/shared/client';
import { exportVault, fileToStream, importArchive } from '@carnet/shared/client/node';
import type { FolderId } from '@carnet/shared/core';
import { isCarnetError } from '@carnet/shared/errors';
import { validateR4Bundle } from '@carnet/shared/fhir';
import { main } from '../../scripts/src/cli';
import type { Io, Source } from '../../scripts/src/io';
import { startTestRelay, type TestRelay } from '../src/relay';
import { digestStream, generatedStream } from '../src/sdk-helpers';
import { PassThrough } from 'node:stream';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HANDOUT = join(ROOT, '../shared');
const TEST_FILES = join(HANDOUT, 'test-files');
const SYNTHEA = join(
  HANDOUT,
  'fhir-samples/synthea-r4/Alfreda_Wyman_3287b938-4670-47eb-91e5-e0ce3df71405.json',
);
const AGE = '/usr/bin/age';
const MiB = 1024 * 1024;
const PASSWORD = 'export test password';

let relay: TestRelay;
let work: string;
let n = 0;

beforeAll(async () => {
  if (!existsSync(AGE)) {
    throw new Error(
      `${AGE} is missing: install Debian's age (apt-get install -y age; scripts/test-all.sh does).`,
    );
  }
  relay = await startTestRelay();
  work = await mkdtemp(join(tmpdir(), 'carnet-export-'));
});
afterAll(async () => {
  await relay?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function account(
  role: 'practitioner' | 'patient',
  name = `user${++n}`,
): Promise<CarnetClient> {
  const c = new CarnetClient({ relayUrl: relay.url, store: new MemoryLocalStore() });
  await c.signUp({ userName: name, password: PASSWORD, role });
  return c;
}

// --- what a folder holds, for comparisons -------------------------------------------------------

interface Seen {
  kind: string;
  title: string;
  text?: string;
  structured?: JsonValue;
  fileName?: string;
  mimeType?: string;
  size?: number;
  sha256?: string;
}

/** Every record of a folder (latest versions, listing order), documents by SHA-256. */
async function snapshot(c: CarnetClient, folderId: string): Promise<Seen[]> {
  const out: Seen[] = [];
  for (const s of await c.listRecords(folderId)) {
    if (s.kind === 'document') {
      const { record, body } = await c.openDocument(folderId, s.recordId);
      const d = await digestStream(body);
      out.push({
        kind: record.kind,
        title: record.title,
        ...(record.text !== undefined ? { text: record.text } : {}),
        fileName: record.fileName!,
        ...(record.mimeType !== undefined ? { mimeType: record.mimeType } : {}),
        size: d.size,
        sha256: d.sha256,
      });
      expect(d.size).toBe(record.size);
    } else {
      const r = await c.readRecord(folderId, s.recordId);
      out.push({
        kind: r.kind,
        title: r.title,
        ...(r.text !== undefined ? { text: r.text } : {}),
        ...(r.structured !== undefined ? { structured: r.structured } : {}),
      });
    }
  }
  return out;
}

async function profileOf(c: CarnetClient, folderId: string): Promise<unknown> {
  return (await c.getFolder(folderId)).profile;
}

// --- reading archives ---------------------------------------------------------------------------

/** Extracts a tar with the system's tar into a fresh directory. */
async function untar(archive: string): Promise<string> {
  const dir = await mkdtemp(join(work, 'x-'));
  await run('tar', ['-xf', archive, '-C', dir]);
  return join(dir, 'carnet-export');
}

/** Decrypts an age file with Debian's age, to a tar next to it. */
async function ageDecrypt(archive: string, keyFile: string): Promise<string> {
  const out = `${archive}.tar`;
  await run(AGE, ['-d', '-i', keyFile, '-o', out, archive]);
  return out;
}

async function sha(path: string, alg: 'sha256' | 'sha1', enc: 'hex' | 'base64'): Promise<string> {
  return createHash(alg)
    .update(await readFile(path))
    .digest(enc);
}

interface Manifest {
  format: string;
  version: number;
  exporter: { accountId: string; role: string };
  folders: {
    folderId: string;
    bundle: string;
    records: number;
    resources: Record<string, number>;
    files: { recordId: string; path: string; size: number; sha256: string }[];
  }[];
}

type Json = Record<string, unknown>;

/** Checks an extracted archive in depth; returns its manifest and bundles by folder id. */
async function checkArchive(
  dir: string,
): Promise<{ manifest: Manifest; bundles: Map<string, Json> }> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  expect(manifest.format).toBe('carnet-export');
  expect(manifest.version).toBe(1);
  const bundles = new Map<string, Json>();
  for (const f of manifest.folders) {
    const bundle = JSON.parse(await readFile(join(dir, '..', f.bundle), 'utf8')) as Json;
    expect(validateR4Bundle(bundle)).toEqual([]);
    checkBundle(bundle);
    const counts: Record<string, number> = {};
    for (const e of bundle.entry as { resource: { resourceType: string } }[])
      counts[e.resource.resourceType] = (counts[e.resource.resourceType] ?? 0) + 1;
    expect(f.resources).toEqual(counts);
    // Every file: on disk with the manifest's size and SHA-256, and named by a
    // DocumentReference whose attachment carries the same size and SHA-1.
    const attachments = new Map<string, Json>();
    for (const e of bundle.entry as { resource: Json }[]) {
      if (e.resource.resourceType !== 'DocumentReference') continue;
      for (const c of e.resource.content as { attachment: Json }[])
        if (typeof c.attachment.url === 'string') attachments.set(c.attachment.url, c.attachment);
    }
    const filesDir = join(dir, f.folderId, 'files');
    const onDisk = existsSync(filesDir) ? await readdir(filesDir, { recursive: true }) : [];
    expect(onDisk.filter((p) => p.includes('/')).length).toBe(f.files.length);
    for (const file of f.files) {
      const path = join(dir, '..', file.path);
      expect((await stat(path)).size).toBe(file.size);
      expect(await sha(path, 'sha256', 'hex')).toBe(file.sha256);
      const rel = file.path.slice(`carnet-export/${f.folderId}/`.length);
      const a = attachments.get(rel);
      expect(a, `attachment for ${rel}`).toBeDefined();
      expect(a!.size).toBe(file.size);
      expect(a!.hash).toBe(await sha(path, 'sha1', 'base64'));
    }
    expect(attachments.size).toBe(f.files.length);
    bundles.set(f.folderId, bundle);
  }
  return { manifest, bundles };
}

const REQUIRED: Record<string, string[][]> = {
  Observation: [['status'], ['code']],
  Condition: [['subject']],
  AllergyIntolerance: [['patient']],
  MedicationStatement: [
    ['status'],
    ['subject'],
    ['medicationCodeableConcept', 'medicationReference'],
  ],
  MedicationRequest: [
    ['status'],
    ['intent'],
    ['subject'],
    ['medicationCodeableConcept', 'medicationReference'],
  ],
  Encounter: [['status'], ['class']],
  DocumentReference: [['status'], ['content']],
  Immunization: [
    ['status'],
    ['vaccineCode'],
    ['patient'],
    ['occurrenceDateTime', 'occurrenceString'],
  ],
  Procedure: [['status'], ['subject']],
  DiagnosticReport: [['status'], ['code']],
  Claim: [
    ['status'],
    ['type'],
    ['use'],
    ['patient'],
    ['created'],
    ['provider'],
    ['priority'],
    ['insurance'],
  ],
  ExplanationOfBenefit: [
    ['status'],
    ['type'],
    ['use'],
    ['patient'],
    ['created'],
    ['insurer'],
    ['provider'],
    ['outcome'],
    ['insurance'],
  ],
  CarePlan: [['status'], ['intent'], ['subject']],
  Goal: [['lifecycleStatus'], ['description'], ['subject']],
  Binary: [['contentType']],
};

/**
 * Our own reading of FHIR R4, independent of the module under test: a collection bundle,
 * entries with a fullUrl and a resource of a known type with a valid id, one Patient, the
 * required elements of the types present, and every local reference resolving in the bundle.
 */
function checkBundle(bundle: Json): void {
  expect(bundle.resourceType).toBe('Bundle');
  expect(bundle.type).toBe('collection');
  const entries = bundle.entry as { fullUrl?: string; resource?: Json }[];
  expect(Array.isArray(entries)).toBe(true);
  const ids = new Set<string>();
  for (const e of entries) {
    expect(typeof e.fullUrl).toBe('string');
    const r = e.resource!;
    expect(r.resourceType).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(r.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    ids.add(`${r.resourceType as string}/${r.id as string}`);
    for (const alternatives of REQUIRED[r.resourceType as string] ?? []) {
      expect(
        alternatives.some((k) => r[k] !== undefined),
        `${r.resourceType as string}/${r.id as string} lacks ${alternatives.join('|')}`,
      ).toBe(true);
    }
  }
  expect(entries.filter((e) => e.resource!.resourceType === 'Patient').length).toBe(1);
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'reference' && typeof x === 'string') refs.push(x);
        else walk(x);
      }
    }
  };
  walk(entries.map((e) => e.resource));
  expect(refs.length).toBeGreaterThan(0);
  for (const ref of refs) {
    if (ref.startsWith('#') || /^[a-z][a-z0-9+.-]*:/i.test(ref)) continue;
    expect(ids.has(ref.replace(/\/_history\/.*$/, '')), `reference ${ref} resolves`).toBe(true);
  }
}

function countTypes(bundle: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of bundle.entry as { resource: { resourceType: string } }[])
    out[e.resource.resourceType] = (out[e.resource.resourceType] ?? 0) + 1;
  return out;
}

// --- the CLI, in process ------------------------------------------------------------------------

async function carnet(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; json: Json; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (c: string | Uint8Array) => (stdout += String(c)) },
    stderr: { write: (c: string | Uint8Array) => (stderr += String(c)) },
    stdin: new PassThrough() as unknown as Source,
    env,
  };
  const code = await main([...args, '--json'], io);
  const lines = stdout.split('\n');
  expect(lines.length, stdout).toBe(2);
  return { code, json: JSON.parse(lines[0]!) as Json, stderr };
}

// --- the vault ------------------------------------------------------------------------------------

const STRUCTURED: RecordInput[] = [
  {
    kind: 'profile',
    title: 'Patient record',
    structured: {
      resourceType: 'Patient',
      id: 'jeanne',
      name: [{ family: 'Dupont', given: ['Jeanne'] }],
      gender: 'female',
      birthDate: '1950-03-14',
      telecom: [{ system: 'phone', value: '+33 6 00 00 00 02' }],
      communication: [{ language: { text: 'French' } }],
    },
  },
  {
    kind: 'observation',
    title: 'Blood pressure',
    structured: { code: '85354-9', systolic: 128, diastolic: 84, unit: 'mmHg' },
  },
  {
    kind: 'condition',
    title: 'Migraine',
    structured: { code: 'G43.9', status: 'active', onset: '2021-05' },
    text: 'Since her twenties.',
  },
  {
    kind: 'allergy',
    title: 'Penicillin',
    structured: { substance: 'penicillin', severity: 'high', reactions: ['rash', 'swelling'] },
  },
  {
    kind: 'medication',
    title: 'Ibuprofen 400 mg',
    structured: { dose: '400 mg', frequency: 'as needed', max: 3 },
  },
  {
    kind: 'encounter',
    title: 'Consultation 2024-02-01',
    structured: {
      resourceType: 'Encounter',
      id: 'enc-1',
      status: 'finished',
      subject: { reference: 'Patient/jeanne' },
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      period: { start: '2024-02-01T09:00:00+01:00', end: '2024-02-01T09:20:00+01:00' },
    },
  },
  {
    kind: 'fhir',
    title: 'Influenza vaccine',
    structured: {
      resourceType: 'Immunization',
      id: 'imm-1',
      status: 'completed',
      vaccineCode: {
        coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }],
        text: 'Influenza',
      },
      occurrenceDateTime: '2023-10-12',
      patient: { reference: 'Patient/jeanne' },
    },
  },
  {
    kind: 'observation',
    title: 'Unicode é 漢字 🙂',
    structured: { note: 'ünïcödé', nested: { a: [1, 2.5, null, true, 'x'] } },
  },
];

const DOCUMENTS: { file: string; mimeType: string; fileName?: string }[] = [
  { file: 'hl7-binary-example.pdf', mimeType: 'application/pdf' },
  { file: 'hl7-binary-f006.jpg', mimeType: 'image/jpeg' },
  {
    file: 'hl7-diagnosticreport-gingival-mass.pdf',
    mimeType: 'application/pdf',
    fileName: '../../etc/passwd Bilan été #1?.pdf',
  },
  { file: 'hl7-list-prognosis.png', mimeType: 'image/png' },
  { file: 'hl7-media-example.gif', mimeType: 'image/gif', fileName: '.hidden name.gif' },
];

describe('export and re-import', () => {
  let dr: CarnetClient;
  let folder: FolderId;
  let synthea: FolderId;
  let original: Json;
  const drSnapshots = new Map<string, Seen[]>();

  beforeAll(async () => {
    dr = await account('practitioner', 'dr.export');
    folder = (
      await dr.createFolder({
        name: 'Jeanne Dupont',
        birthDate: '1950-03-14',
        sex: 'female',
        phone: '+33 6 00 00 00 02',
        note: 'Prefers mornings.',
      })
    ).folderId;
    const note = await dr.addRecord(folder, {
      kind: 'note',
      title: 'Consultation',
      text: 'Headache for 3 days.\nNo fever.',
    });
    await dr.editRecord(
      folder,
      note.recordId,
      { kind: 'note', title: 'Consultation (edited)', text: 'Headache for 3 days. No fever. RAS.' },
      { expectedVersion: 1 },
    );
    for (const r of STRUCTURED) await dr.addRecord(folder, r);
    for (const d of DOCUMENTS) {
      const f = await fileToStream(join(TEST_FILES, d.file));
      await dr.addRecord(folder, {
        kind: 'document',
        title: d.file,
        fileName: d.fileName ?? f.fileName,
        mimeType: d.mimeType,
        size: f.size,
        body: f.body,
        text: `From ${d.file}`,
      });
    }
    await dr.addRecord(folder, {
      kind: 'document',
      fileName: 'empty.txt',
      mimeType: 'text/plain',
      size: 0,
      body: new ReadableStream({ start: (c) => c.close() }),
    });
    await dr.addRecord(folder, { kind: 'note', title: 'Last note', text: 'after the files' });
    original = JSON.parse(await readFile(SYNTHEA, 'utf8')) as Json;
    // Through the SDK's own-account FHIR import (docs/fhir.md).
    const imported = await dr.imports.importFhir(original);
    expect(imported.folders.length).toBe(1);
    synthea = imported.folders[0]!.folderId;
    drSnapshots.set(folder, await snapshot(dr, folder));
    drSnapshots.set(synthea, await snapshot(dr, synthea));
  });

  /** Re-imports an archive into a fresh account and compares every folder with the source. */
  async function reimport(
    path: string,
    o: { passphrase?: string; identity?: string },
    folders: string[],
  ): Promise<{ client: CarnetClient; created: { from: string; folderId: FolderId }[] }> {
    const fresh = await account('practitioner');
    const summary = await importArchive(fresh, { path, ...o });
    // In the archive's order, which is the exporter's listing order.
    expect(summary.created.map((c) => c.from).sort()).toEqual([...folders].sort());
    for (const { from, folderId } of summary.created) {
      expect(await snapshot(fresh, folderId)).toEqual(drSnapshots.get(from));
      expect(await profileOf(fresh, folderId)).toEqual(await profileOf(dr, from));
    }
    return { client: fresh, created: summary.created };
  }

  it('exports in clear (explicitly) a valid FHIR R4 archive that re-imports identically', async () => {
    const out = join(work, 'clear.tar');
    const progress: number[] = [];
    const summary = await exportVault(dr, {
      out,
      encryption: { clear: true },
      onProgress: (p) => progress.push(p.folder),
    });
    expect(summary).toMatchObject({ folders: 2, files: DOCUMENTS.length + 1 });
    expect(summary.records).toBe(
      drSnapshots.get(folder)!.length + drSnapshots.get(synthea)!.length,
    );
    expect(summary.bytes).toBe((await stat(out)).size);
    expect(summary.sha256).toBe(await sha(out, 'sha256', 'hex'));
    expect(progress).toContain(2);
    // Each exported folder's audit trail says so, signed by the exporter.
    for (const id of [folder, synthea]) {
      const exported = (await dr.audit.folder(id)).events.filter((e) => e.type === 'exported');
      expect(exported.length).toBeGreaterThan(0);
      expect(exported.at(-1)!.actorId).toBe(dr.account!.accountId);
      expect(exported.at(-1)!.signed?.status).toBe('verified');
    }
    expect((await stat(out)).mode & 0o077).toBe(0);
    const dir = await untar(out);
    const { manifest, bundles } = await checkArchive(dir);
    expect(manifest.exporter).toEqual({ accountId: dr.account!.accountId, role: 'practitioner' });
    expect(manifest.folders.map((f) => f.folderId).sort()).toEqual([folder, synthea].sort());
    // Safe names: nothing escapes the folder's directory, no leading dot, no whitespace.
    const mine = manifest.folders.find((f) => f.folderId === folder)!;
    const names = mine.files.map((f) => f.path.split('/').at(-1)!);
    expect(names.length).toBe(DOCUMENTS.length + 1);
    for (const name of names) expect(name).toMatch(/^[^./\s#?%][^/\s#?%]*$/);
    // Synthea: every resource type keeps its count through import and export.
    expect(countTypes(bundles.get(synthea)!)).toEqual(countTypes(original));
    const { client: again } = await reimport(out, {}, [folder, synthea]);
    // …and after the re-import too: exported again, the counts are still the original ones.
    const second = join(work, 'second.tar');
    await exportVault(again, { out: second, encryption: { clear: true } });
    const { bundles: bundles2 } = await checkArchive(await untar(second));
    const types = [...bundles2.values()].map(countTypes);
    expect(types).toContainEqual(countTypes(original));
    expect(types).toContainEqual(countTypes(bundles.get(folder)!));
  });

  it("exports to an age recipient with the CLI; Debian's age decrypts it; re-import with the identity", async () => {
    const keyFile = join(work, 'key.txt');
    await run('age-keygen', ['-o', keyFile]);
    const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
    const home = await mkdtemp(join(work, 'home-'));
    const env = {
      CARNET_HOME: home,
      CARNET_SERVER: relay.url,
      CARNET_USER: 'dr.export',
      CARNET_PASSWORD: PASSWORD,
    };
    const out = join(work, 'vault.tar.age');

    const none = await carnet(['export', '--out', out], env);
    expect(none.code).toBe(1);
    expect((none.json.error as Json).code).toBe('USAGE');
    const two = await carnet(
      ['export', '--out', out, '--clear', '--age-recipient', recipient],
      env,
    );
    expect(two.code).toBe(1);
    expect(existsSync(out)).toBe(false);

    const r = await carnet(['export', '--out', out, '--age-recipient', recipient], env);
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(r.json.export).toMatchObject({ out, protection: 'age-recipient', folders: 2 });
    expect((await readFile(out)).subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
    const dir = await untar(await ageDecrypt(out, keyFile));
    const { bundles } = await checkArchive(dir);
    expect(countTypes(bundles.get(synthea)!)).toEqual(countTypes(original));
    const identity = (await readFile(keyFile, 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    await reimport(out, { identity }, [folder, synthea]);
  });

  it('exports to a passphrase with the CLI (one folder); our importer opens it, a wrong passphrase does not', async () => {
    const home = await mkdtemp(join(work, 'home-'));
    const env = {
      CARNET_HOME: home,
      CARNET_SERVER: relay.url,
      CARNET_USER: 'dr.export',
      CARNET_PASSWORD: PASSWORD,
      CARNET_EXPORT_PASSPHRASE: 'correct horse battery staple',
    };
    const out = join(work, 'one.tar.age');
    const r = await carnet(['export', '--out', out, '--folder', folder, '--passphrase'], env);
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(r.json.export).toMatchObject({ protection: 'passphrase', folders: 1 });
    const fresh = await account('practitioner');
    const wrong = await importArchive(fresh, { path: out, passphrase: 'wrong' }).catch(
      (e: unknown) => e,
    );
    expect(isCarnetError(wrong) && wrong.code).toBe('BAD_PASSWORD');
    expect(await fresh.listFolders()).toEqual([]);
    await reimport(out, { passphrase: 'correct horse battery staple' }, [folder]);
  });

  it('a patient exports what is shared with them', async () => {
    const patient = await account('patient');
    const { link } = await dr.invitePatient(folder);
    await patient.acceptInvite(link);
    await dr.processInvites(folder);
    const out = join(work, 'patient.tar');
    const summary = await exportVault(patient, { out, encryption: { clear: true } });
    expect(summary.folders).toBe(1);
    const { manifest } = await checkArchive(await untar(out));
    expect(manifest.exporter.role).toBe('patient');
    expect(manifest.folders.map((f) => f.folderId)).toEqual([folder]);
    await reimport(out, {}, [folder]);
  });

  it('refuses a tampered or truncated archive, importing nothing', async () => {
    const keyFile = join(work, 'key2.txt');
    await run('age-keygen', ['-o', keyFile]);
    const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
    const identity = (await readFile(keyFile, 'utf8'))
      .split('\n')
      .find((l) => l.startsWith('AGE-SECRET-KEY-1'))!;
    const sealed = join(work, 'tamper.tar.age');
    await exportVault(dr, {
      out: sealed,
      folderIds: [folder],
      encryption: { ageRecipient: recipient },
    });
    const bytes = await readFile(sealed);
    const flippedAge = join(work, 'flipped.tar.age');
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)]! ^= 0x01;
    await writeFile(flippedAge, copy);
    await expect(
      run(AGE, ['-d', '-i', keyFile, '-o', join(work, 'flipped.out'), flippedAge]),
    ).rejects.toThrow();

    const clear = join(work, 'tamper.tar');
    await exportVault(dr, { out: clear, folderIds: [folder], encryption: { clear: true } });
    const tar = await readFile(clear);
    // A byte inside the largest document's content (its bytes are not all zero).
    const pdf = await readFile(join(TEST_FILES, 'hl7-diagnosticreport-gingival-mass.pdf'));
    const at = tar.indexOf(pdf.subarray(1000, 1064));
    expect(at).toBeGreaterThan(0);
    const flippedTar = join(work, 'flipped.tar');
    const t = Buffer.from(tar);
    t[at + 10]! ^= 0x01;
    await writeFile(flippedTar, t);
    const truncated = join(work, 'truncated.tar');
    await writeFile(truncated, tar.subarray(0, Math.floor(tar.length / 2)));

    const fresh = await account('practitioner');
    const attempts: [string, () => Promise<unknown>, string][] = [
      ['flipped age byte', () => importArchive(fresh, { path: flippedAge, identity }), 'INTEGRITY'],
      ['flipped tar byte', () => importArchive(fresh, { path: flippedTar }), 'INTEGRITY'],
      ['truncated tar', () => importArchive(fresh, { path: truncated }), 'FORMAT'],
      ['age without key', () => importArchive(fresh, { path: sealed }), 'INVALID_ARGUMENT'],
    ];
    for (const [what, attempt, code] of attempts) {
      const e = await attempt().catch((err: unknown) => err);
      expect(isCarnetError(e) ? e.code : e, what).toBe(code);
    }
    expect(await fresh.listFolders()).toEqual([]);
  });

  it('a failed export leaves nothing at --out', async () => {
    const dir = await mkdtemp(join(work, 'fail-'));
    const out = join(dir, 'never.tar');
    const e = await exportVault(dr, {
      out,
      folderIds: [folder, 'AAAAAAAAAAAAAAAAAAAAAA'],
      encryption: { clear: true },
    }).catch((err: unknown) => err);
    expect(isApiError(e) || isCarnetError(e)).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('memory', () => {
  it('exports a 300 MiB document with bounded memory (age recipient; checked with age -d)', async () => {
    const dr = await account('practitioner', 'dr.big');
    const f = await dr.createFolder({ name: 'Big Scan' });
    const size = 300 * MiB;
    const gen = generatedStream(size, 7);
    await dr.addRecord(f.folderId, {
      kind: 'document',
      fileName: 'scan.bin',
      size,
      body: gen.body,
    });
    const expected = await gen.sha256;
    const keyFile = join(work, 'big-key.txt');
    await run('age-keygen', ['-o', keyFile]);
    const recipient = (await run('age-keygen', ['-y', keyFile])).stdout.trim();
    const out = join(work, 'big.tar.age');
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', join(ROOT, 'tests/src/export-memory-child.ts')],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          RELAY: relay.url,
          USER_NAME: 'dr.big',
          PASSWORD,
          FOLDER: f.folderId,
          OUT: out,
          RECIPIENT: recipient,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);
    const m = JSON.parse(stdout) as { before: number; peak: number; summary: { bytes: number } };
    const growth = (m.peak - m.before) / MiB;
    console.info(`export of a 300 MiB document: RSS grew by ${growth.toFixed(1)} MiB`);
    expect(growth, `RSS grew by ${growth.toFixed(1)} MiB`).toBeLessThan(150);
    expect(m.summary.bytes).toBeGreaterThan(size);
    // Debian's age and the system tar read it back: the document's bytes are intact.
    const { stdout: digest } = await run(
      'bash',
      [
        '-c',
        `set -o pipefail; ${AGE} -d -i "$1" "$2" | tar -xOf - --wildcards 'carnet-export/*/files/*' | sha256sum`,
        'x',
        keyFile,
        out,
      ],
      { maxBuffer: 1024 * 1024 },
    );
    expect(digest.split(' ')[0]).toBe(expected);
  }, 600_000);
});

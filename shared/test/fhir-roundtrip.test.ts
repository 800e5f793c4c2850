/**
 * FHIR export → re-import round trip on random records (fast-check), and the structural R4
 * validation catching what it must.
 */
import fc from 'fast-check';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes';
import type { PatientProfile } from '../src/folder';
import {
  draftsToBundle,
  fhirToDrafts,
  toBase64,
  validateR4Bundle,
  type ExportRecord,
  type FhirBundle,
  type RecordDraft,
} from '../src/fhir/index';
import type { JsonValue } from '../src/padded-json';
import { RECORD_KINDS, type RecordKind } from '../src/record';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const carnetId = fc
  .array(fc.constantFrom(...B64URL), { minLength: 22, maxLength: 22 })
  .map((a) => a.join(''));

const profile: fc.Arbitrary<PatientProfile> = fc.record(
  {
    name: fc.string({ minLength: 1 }).filter((s) => s.trim() !== ''),
    birthDate: fc.constantFrom('1980', '1980-02', '1980-02-29'),
    sex: fc.constantFrom('female', 'male', 'other', 'unknown'),
    identifier: fc.string(),
    phone: fc.string(),
    email: fc.string(),
    address: fc.string(),
    note: fc.string(),
  },
  { requiredKeys: ['name'] },
);

const TYPES: Partial<Record<RecordKind, string[]>> = {
  observation: ['Observation'],
  condition: ['Condition'],
  allergy: ['AllergyIntolerance'],
  medication: ['MedicationRequest', 'MedicationStatement', 'Medication'],
  encounter: ['Encounter'],
  profile: ['Patient'],
  fhir: ['Immunization', 'Claim', 'Patient', 'Observation', 'Bundle', 'NotAType'],
};

/** Structured JSON: random JSON, or a FHIR-looking resource (with or without id, extensions). */
function structuredFor(kind: RecordKind): fc.Arbitrary<JsonValue | undefined> {
  const types = TYPES[kind] ?? ['Basic'];
  const resource = fc.record(
    {
      resourceType: fc.constantFrom(...types),
      id: fc.oneof(fc.constantFrom('a1', 'dup', 'bad_id!'), fc.uuid()),
      extension: fc.array(fc.record({ url: fc.webUrl(), valueString: fc.string() }), {
        maxLength: 2,
      }),
      status: fc.constant('final'),
      code: fc.record({ text: fc.string() }),
      subject: fc.record({ reference: fc.constantFrom('Patient/p1', 'Patient/dup') }),
    },
    { requiredKeys: ['resourceType'] },
  );
  return fc.oneof(
    fc.constant(undefined),
    // Through JSON text, as records are stored (-0 is 0 there).
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue),
    resource,
  );
}

const record: fc.Arbitrary<
  Omit<ExportRecord, 'recordId' | 'createdAt' | 'authorId' | 'version'> & { bytes?: Uint8Array }
> = fc.constantFrom(...RECORD_KINDS).chain(
  (kind) =>
    fc
      .record({
        kind: fc.constant(kind),
        title: fc.string({ maxLength: 40 }),
        text: kind === 'note' ? fc.string() : fc.option(fc.string(), { nil: undefined }),
        structured:
          kind === 'note' || kind === 'document' ? fc.constant(undefined) : structuredFor(kind),
        bytes: kind === 'document' ? fc.uint8Array({ maxLength: 64 }) : fc.constant(undefined),
        mimeType: fc.option(fc.constantFrom('application/pdf', 'text/plain'), { nil: undefined }),
        fileName: fc.string({ minLength: 1, maxLength: 20 }),
      })
      .map((r) => {
        const { mimeType, fileName, ...rest } = r;
        if (rest.text === undefined) delete rest.text;
        if (rest.structured === undefined) delete rest.structured;
        if (rest.bytes === undefined) return rest;
        return { ...rest, file: { mimeType, fileName } };
      }) as fc.Arbitrary<
      Omit<ExportRecord, 'recordId' | 'createdAt' | 'authorId' | 'version'> & { bytes?: Uint8Array }
    >,
);

function isResourceLike(v: JsonValue): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'resourceType' in v;
}

function toExport(
  r: Omit<ExportRecord, 'recordId' | 'createdAt' | 'authorId' | 'version'> & { bytes?: Uint8Array },
  recordId: string,
  i: number,
): ExportRecord {
  const { bytes, ...rest } = r;
  const out: ExportRecord = {
    ...rest,
    recordId,
    createdAt: 1_700_000_000_000 + i,
    authorId: 'A'.repeat(22),
    version: 1,
  };
  if (bytes !== undefined) {
    const f = r.file as { mimeType?: string; fileName: string };
    out.file = {
      path: `files/${recordId}`,
      fileName: f.fileName,
      size: bytes.length,
      sha1Base64: toBase64(sha1(bytes)),
      sha256Hex: toHex(sha256(bytes)),
    };
    if (f.mimeType !== undefined) out.file.mimeType = f.mimeType;
  } else delete out.file;
  return out;
}

function expected(r: ExportRecord): RecordDraft {
  const d: RecordDraft = { kind: r.kind, title: r.title };
  if (r.text !== undefined) d.text = r.text;
  if (r.structured !== undefined) d.structured = r.structured;
  if (r.file !== undefined) {
    d.document = {
      fileName: r.file.fileName,
      size: r.file.size,
      sha256: r.file.sha256Hex,
      path: r.file.path,
    };
    if (r.file.mimeType !== undefined) d.document.mimeType = r.file.mimeType;
  }
  return d;
}

describe('export → re-import round trip', () => {
  it('gives back every record (kind, title, text, structured, file) and the profile', () => {
    fc.assert(
      fc.property(
        carnetId,
        profile,
        fc.array(fc.tuple(record, carnetId), { maxLength: 12 }),
        (folderId, p, recs) => {
          const records = recs.map(([r, id], i) => toExport(r, id, i));
          fc.pre(new Set(records.map((r) => r.recordId)).size === records.length);
          const bundle = draftsToBundle({ folderId, profile: p, records });
          // Through JSON text, as it is written to the archive.
          const [back, ...more] = fhirToDrafts(JSON.stringify(bundle));
          expect(more).toHaveLength(0);
          expect(back!.profile).toEqual(p);
          expect(back!.records).toEqual(records.map(expected));
          // Every id is a valid FHIR id and every entry has a unique fullUrl.
          for (const e of bundle.entry) expect(e.resource.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/u);
          expect(new Set(bundle.entry.map((e) => e.fullUrl)).size).toBe(bundle.entry.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('exports valid R4 bundles whatever the titles, texts, JSON and files', () => {
    const plain = record.filter((r) => r.structured === undefined || !isResourceLike(r.structured));
    fc.assert(
      fc.property(
        carnetId,
        profile,
        fc.array(fc.tuple(plain, carnetId), { maxLength: 8 }),
        (folderId, p, recs) => {
          const records = recs.map(([r, id], i) => toExport(r, id, i));
          fc.pre(new Set(records.map((r) => r.recordId)).size === records.length);
          expect(validateR4Bundle(draftsToBundle({ folderId, profile: p, records }))).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('exports notes as DocumentReferences with the text inline, documents with hashes and size', () => {
    const bytes = new TextEncoder().encode('%PDF-1.5 fake');
    const bundle = draftsToBundle({
      folderId: 'f_lder_______________',
      profile: { name: 'Ada Lovelace', sex: 'female', birthDate: '1815-12-10' },
      records: [
        {
          recordId: 'n_te_________________',
          kind: 'note',
          title: 'Visit',
          text: 'Fièvre',
          createdAt: 1,
          authorId: 'a',
          version: 1,
        },
        toExport(
          {
            kind: 'document',
            title: 'Scan',
            bytes,
            file: { fileName: 'scan.pdf', mimeType: 'application/pdf' },
          } as never,
          'd_c___________________',
          2,
        ),
      ],
    });
    expect(validateR4Bundle(bundle)).toEqual([]);
    const [patient, note, doc] = bundle.entry.map((e) => e.resource);
    expect(patient).toMatchObject({
      resourceType: 'Patient',
      id: 'f.lder...............',
      gender: 'female',
      birthDate: '1815-12-10',
      name: [{ text: 'Ada Lovelace' }],
    });
    expect(note).toMatchObject({
      resourceType: 'DocumentReference',
      status: 'current',
      subject: { reference: 'Patient/f.lder...............' },
    });
    const noteData = (note!.content as { attachment: { data: string } }[])[0]!.attachment.data;
    expect(new TextDecoder().decode(Uint8Array.from(atob(noteData), (c) => c.charCodeAt(0)))).toBe(
      'Fièvre',
    );
    const att = (doc!.content as { attachment: Record<string, JsonValue> }[])[0]!.attachment;
    expect(att).toMatchObject({
      contentType: 'application/pdf',
      url: 'files/d_c___________________',
      size: bytes.length,
      title: 'scan.pdf',
      hash: toBase64(sha1(bytes)),
    });
    expect(JSON.stringify(att.extension)).toContain(toHex(sha256(bytes)));
    expect(doc!.id).toBe('d.c...................');
  });
});

describe('validateR4Bundle', () => {
  function valid(): FhirBundle {
    return draftsToBundle({
      folderId: 'FolderFolderFolder0000',
      profile: { name: 'Test' },
      records: [
        {
          recordId: 'RecordRecordRecord0000',
          kind: 'observation',
          title: 'Weight',
          structured: {
            resourceType: 'Observation',
            id: 'o1',
            status: 'final',
            code: { text: 'W' },
            subject: { reference: 'Patient/FolderFolderFolder0000' },
          },
          createdAt: 1,
          authorId: 'a',
          version: 1,
        },
      ],
    });
  }

  it('accepts a valid bundle', () => {
    expect(validateR4Bundle(valid())).toEqual([]);
  });

  const broken: [string, (b: FhirBundle) => void, RegExp][] = [
    [
      'a dangling reference',
      (b) => ((b.entry[1]!.resource.subject as { reference: string }).reference = 'Patient/nobody'),
      /does not resolve/u,
    ],
    [
      'a urn:uuid reference',
      (b) => ((b.entry[1]!.resource.subject as { reference: string }).reference = 'urn:uuid:1234'),
      /does not resolve/u,
    ],
    [
      'a missing required field',
      (b) => delete b.entry[1]!.resource.status,
      /Observation.status is required/u,
    ],
    [
      'a missing medication[x]',
      (b) =>
        (b.entry[1]!.resource = {
          resourceType: 'MedicationStatement',
          id: 'm',
          status: 'active',
          subject: { reference: 'Patient/FolderFolderFolder0000' },
        }),
      /medicationCodeableConcept\|medicationReference is required/u,
    ],
    [
      'an unknown resource type',
      (b) => (b.entry[1]!.resource.resourceType = 'Obs'),
      /not an R4 resource type/u,
    ],
    ['a bad id', (b) => (b.entry[1]!.resource.id = 'has_underscore'), /not a valid id/u],
    [
      'a missing fullUrl',
      (b) => delete (b.entry[1] as { fullUrl?: string }).fullUrl,
      /fullUrl is missing/u,
    ],
    [
      'a request in a collection',
      (b) => (b.entry[1]!.request = { method: 'POST', url: 'Observation' }),
      /bdl-3/u,
    ],
    ['a bad bundle type', (b) => (b.type = 'pile'), /not a bundle type/u],
    [
      'a repeated resource',
      (b) => b.entry.push({ ...b.entry[1]!, fullUrl: 'urn:uuid:x' }),
      /repeated/u,
    ],
  ];
  it.each(broken)('catches %s', (_, breakIt, message) => {
    const b = valid();
    breakIt(b);
    const errors = validateR4Bundle(b);
    expect(errors.some((e) => message.test(e))).toBe(true);
  });

  it('refuses what is not a bundle', () => {
    expect(validateR4Bundle(42)).toEqual(['the bundle is not a JSON object']);
    expect(validateR4Bundle({ resourceType: 'Patient' })).toEqual(['resourceType is not "Bundle"']);
  });
});

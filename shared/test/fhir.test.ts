/**
 * FHIR R4 mapping: Synthea and HL7 samples import with their resource counts, exports are valid
 * R4 bundles, and export → re-import gives every record back unchanged.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import {
  draftsToBundle,
  fhirToDrafts,
  toBase64,
  validateR4Bundle,
  type ExportRecord,
  type FhirResource,
  type PatientDraft,
  type RecordDraft,
} from '../src/fhir/index';
import type { JsonValue } from '../src/padded-json';

const SAMPLES = fileURLToPath(new URL('../../../shared/fhir-samples/', import.meta.url));
const TEST_FILES = fileURLToPath(new URL('../../../shared/test-files/', import.meta.url));
const SYNTHEA = readdirSync(`${SAMPLES}synthea-r4`).filter((f) => f.endsWith('.json'));

function json(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

function hl7(name: string): FhirResource {
  return json(`${SAMPLES}hl7-r4-examples/${name}`) as FhirResource;
}

function countTypes(resources: FhirResource[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of resources) out[r.resourceType] = (out[r.resourceType] ?? 0) + 1;
  return out;
}

function structuredTypes(d: PatientDraft): Record<string, number> {
  return countTypes(
    d.records.map((r) => r.structured as FhirResource).filter((r) => r?.resourceType !== undefined),
  );
}

function kinds(d: PatientDraft): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of d.records) out[r.kind] = (out[r.kind] ?? 0) + 1;
  return out;
}

const KIND_OF: Record<string, string> = {
  Patient: 'profile',
  Observation: 'observation',
  Condition: 'condition',
  AllergyIntolerance: 'allergy',
  MedicationRequest: 'medication',
  MedicationStatement: 'medication',
  Medication: 'medication',
  Encounter: 'encounter',
};

/** What an exporter would hand to draftsToBundle for the drafts of one patient. */
function asExport(
  d: PatientDraft,
  folderId = 'Fo1der_Id-0123456789ab',
): Parameters<typeof draftsToBundle>[0] {
  return {
    folderId,
    profile: d.profile,
    records: d.records.map((r, i) => exportRecord(r, i)),
  };
}

function exportRecord(r: RecordDraft, i: number): ExportRecord {
  const recordId = `rec_${String(i).padStart(18, '0')}`;
  const out: ExportRecord = {
    recordId,
    kind: r.kind,
    title: r.title,
    createdAt: 1_700_000_000_000 + i,
    authorId: 'AuthorAuthorAuthor0000',
    version: 1,
  };
  if (r.text !== undefined) out.text = r.text;
  if (r.structured !== undefined) out.structured = r.structured;
  if (r.document !== undefined) {
    const data = r.document.data ?? new Uint8Array(r.document.size);
    out.file = {
      path: `files/${recordId}/${r.document.fileName}`,
      fileName: r.document.fileName,
      size: data.length,
      sha1Base64: toBase64(sha1(data)),
      sha256Hex: toHex(sha256(data)),
    };
    if (r.document.mimeType !== undefined) out.file.mimeType = r.document.mimeType;
  }
  return out;
}

/** A draft as a re-import of its export gives it back: documents become archive paths. */
function expectedBack(r: RecordDraft, i: number): RecordDraft {
  const e = exportRecord(r, i);
  const out: RecordDraft = { kind: r.kind, title: r.title };
  if (r.text !== undefined) out.text = r.text;
  if (r.structured !== undefined) out.structured = r.structured;
  if (e.file !== undefined) {
    out.document = {
      fileName: e.file.fileName,
      size: e.file.size,
      sha256: e.file.sha256Hex,
      path: e.file.path,
    };
    if (e.file.mimeType !== undefined) out.document.mimeType = e.file.mimeType;
  }
  return out;
}

describe('Synthea R4 bundles', () => {
  it.each(SYNTHEA)('%s maps with its resource counts per type', (file) => {
    const bundle = json(`${SAMPLES}synthea-r4/${file}`) as { entry: { resource: FhirResource }[] };
    const input = countTypes(bundle.entry.map((e) => e.resource));
    const drafts = fhirToDrafts(bundle);
    expect(drafts).toHaveLength(1);
    const d = drafts[0]!;
    // Every resource is a record (Patient as the profile record), nothing lost, nothing added.
    expect(structuredTypes(d)).toEqual(input);
    expect(d.records).toHaveLength(bundle.entry.length);
    const want: Record<string, number> = {};
    for (const [type, n] of Object.entries(input)) {
      const k = KIND_OF[type] ?? 'fhir';
      want[k] = (want[k] ?? 0) + n;
    }
    expect(kinds(d)).toEqual(want);
    expect(kinds(d).profile).toBe(1);
    // Profile from the Patient.
    const patient = bundle.entry[0]!.resource;
    expect(d.profile.birthDate).toBe(patient.birthDate);
    expect(d.profile.sex).toBe(patient.gender);
    expect(d.profile.name).toMatch(/\S+ \S+/u);
    expect(d.profile.address).toBeTruthy();
    expect(d.profile.phone).toBeTruthy();
    // References now Type/id, and requests dropped.
    const text = JSON.stringify(d.records.map((r) => r.structured));
    expect(text).not.toContain('urn:uuid:');
    expect(text).not.toContain('"request"');
    // Titles are readable labels.
    for (const r of d.records) expect(r.title.length).toBeGreaterThan(0);
    const obs = d.records.find((r) => r.kind === 'observation')!;
    expect(obs.title).toBe((obs.structured as { code: { text: string } }).code.text);
  });

  it('keeps non-ASCII names and picks the social security number', () => {
    const file = SYNTHEA.find((f) => f.startsWith('Maria'))!;
    const [d] = fhirToDrafts(json(`${SAMPLES}synthea-r4/${file}`));
    expect(d!.profile.name).toBe('María Luisa Razo');
    expect(d!.profile.identifier).toMatch(/^\d{3}-\d{2}-\d{4}$/u);
  });

  it.each(SYNTHEA)('%s exports as a valid R4 collection and re-imports unchanged', (file) => {
    const [d] = fhirToDrafts(json(`${SAMPLES}synthea-r4/${file}`));
    const bundle = draftsToBundle(asExport(d!));
    expect(validateR4Bundle(bundle)).toEqual([]);
    expect(bundle.type).toBe('collection');
    const [back] = fhirToDrafts(JSON.parse(JSON.stringify(bundle)));
    expect(back!.profile).toEqual(d!.profile);
    expect(back!.records).toEqual(d!.records.map(expectedBack));
    // The structured Synthea resources are exported as themselves, not wrapped.
    const types = countTypes(bundle.entry.map((e) => e.resource));
    expect(types).toEqual(structuredTypes(d!));
  });

  it('maps the Bulk Data NDJSON files to the five patients', () => {
    const dir = `${SAMPLES}bulk-ndjson-derived/`;
    const text = readdirSync(dir)
      .filter((f) => f.endsWith('.ndjson'))
      .map((f) => readFileSync(dir + f, 'utf8'))
      .join('\n');
    const drafts = fhirToDrafts(text);
    expect(drafts.map((d) => d.profile.name).sort()).toHaveLength(5);
    for (const d of drafts) {
      const file = SYNTHEA.find((f) =>
        f.startsWith(d.profile.name.split(' ')[0]!.replace(/í/gu, 'i')),
      );
      const original = fhirToDrafts(json(`${SAMPLES}synthea-r4/${file!}`))[0]!;
      const mine = structuredTypes(d);
      const theirs = structuredTypes(original);
      // Shared Practitioners and Organizations are copied to every patient.
      for (const t of Object.keys(theirs)) {
        if (t === 'Practitioner' || t === 'Organization') expect(mine[t]).toBeGreaterThanOrEqual(1);
        else expect(mine[t]).toBe(theirs[t]);
      }
    }
  });
});

describe('HL7 R4 examples', () => {
  it('imports the document bundle Bundle-father.json', () => {
    const drafts = fhirToDrafts(hl7('Bundle-father.json'));
    expect(drafts).toHaveLength(1);
    const d = drafts[0]!;
    expect(d.profile.name).toBe('Eve Everywoman');
    expect(kinds(d)).toEqual({
      fhir: 2,
      profile: 1,
      encounter: 1,
      observation: 1,
      medication: 2,
      allergy: 1,
    });
    const text = JSON.stringify(d.records.map((r) => r.structured));
    expect(text).not.toContain('urn:uuid:');
    expect(text).not.toContain('http://fhir.healthintersections.com.au/open/Patient/d1');
    expect(text).toContain('"Patient/d1"');
    const bundle = draftsToBundle(asExport(d));
    expect(validateR4Bundle(bundle)).toEqual([]);
  });

  it('turns a DocumentReference to a Binary into a document with its bytes', () => {
    const doc = hl7('DocumentReference-example.json');
    doc.content = [
      {
        attachment: { contentType: 'application/pdf', url: 'Binary/example', title: 'report.pdf' },
      },
    ];
    doc.subject = { reference: 'Patient/example' };
    const input = [hl7('Patient-example.json'), doc, hl7('Binary-example.json')];
    const [d] = fhirToDrafts(input);
    const docs = d!.records.filter((r) => r.kind === 'document');
    expect(docs).toHaveLength(1);
    expect(
      d!.records.filter(
        (r) => r.structured && (r.structured as FhirResource).resourceType === 'Binary',
      ),
    ).toHaveLength(0);
    const pdf = readFileSync(`${TEST_FILES}hl7-binary-example.pdf`);
    expect(docs[0]!.document!.fileName).toBe('report.pdf');
    expect(docs[0]!.document!.mimeType).toBe('application/pdf');
    expect(docs[0]!.document!.size).toBe(pdf.length);
    expect(Buffer.from(docs[0]!.document!.data!).equals(pdf)).toBe(true);
  });

  it('reads inline attachment data, and keeps a DocumentReference to an external URL verbatim', () => {
    const inline = hl7('DocumentReference-example.json');
    inline.id = 'inline';
    inline.content = [
      {
        attachment: {
          contentType: 'text/plain',
          data: toBase64(new TextEncoder().encode('héllo')),
        },
      },
    ];
    const external = hl7('DocumentReference-example.json');
    const [d] = fhirToDrafts([hl7('Patient-example.json'), inline, external]);
    const [doc, kept] = d!.records.slice(1);
    expect(doc!.kind).toBe('document');
    expect(new TextDecoder().decode(doc!.document!.data)).toBe('héllo');
    expect(doc!.document!.fileName).toBe('inline.txt');
    expect(kept!.kind).toBe('fhir');
    expect(kept!.structured).toEqual(external);
  });

  it('imports single resources and the searchset example', () => {
    const [d] = fhirToDrafts([
      hl7('Patient-example.json'),
      hl7('Condition-example.json'),
      hl7('MedicationStatement-example001.json'),
    ]);
    expect(d!.profile).toMatchObject({
      name: 'Peter James Chalmers',
      birthDate: '1974-12-25',
      sex: 'male',
    });
    expect(kinds(d!)).toEqual({ profile: 1, condition: 1, medication: 1 });
    expect(d!.records[1]!.title).toBe('Burnt Ear');
    const search = hl7('Bundle-bundle-example.json');
    expect(() => fhirToDrafts(search)).toThrow(/no Patient/u);
  });

  it('splits several patients and copies shared resources to each', () => {
    const a = { resourceType: 'Patient', id: 'a', name: [{ given: ['Ann'], family: 'A' }] };
    const b = { resourceType: 'Patient', id: 'b', name: [{ text: 'Bob B' }] };
    const org = { resourceType: 'Organization', id: 'o', name: 'Clinic' };
    const obsA = {
      resourceType: 'Observation',
      id: 'x',
      status: 'final',
      code: { text: 'Weight' },
      subject: { reference: 'urn:uuid:aaa' },
    };
    const condB = {
      resourceType: 'Condition',
      id: 'y',
      subject: { reference: 'Patient/b' },
      code: { coding: [{ display: 'Flu' }] },
    };
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:aaa', resource: a, request: { method: 'POST', url: 'Patient' } },
        { fullUrl: 'urn:uuid:bbb', resource: b },
        { resource: org },
        { resource: obsA },
        { resource: condB },
        { request: { method: 'DELETE', url: 'Patient/zzz' } },
      ],
    };
    const drafts = fhirToDrafts(bundle);
    expect(drafts.map((d) => d.profile.name)).toEqual(['Ann A', 'Bob B']);
    expect(drafts[0]!.records.map((r) => r.title)).toEqual([
      'Ann A',
      'Organization: Clinic',
      'Weight',
    ]);
    expect(drafts[1]!.records.map((r) => r.title)).toEqual([
      'Bob B',
      'Organization: Clinic',
      'Flu',
    ]);
    expect((drafts[0]!.records[2]!.structured as { subject: JsonValue }).subject).toEqual({
      reference: 'Patient/a',
    });
    // The input is not changed.
    expect(obsA.subject.reference).toBe('urn:uuid:aaa');
  });
});

describe('refused inputs', () => {
  const cases: [string, unknown, RegExp][] = [
    ['a number', 42, /not a JSON object/u],
    ['null', null, /not a JSON object/u],
    ['an object without resourceType', { hello: 1 }, /not FHIR/u],
    ['a history bundle', { resourceType: 'Bundle', type: 'history', entry: [] }, /type "history"/u],
    ['an empty bundle', { resourceType: 'Bundle', type: 'collection', entry: [] }, /no resource/u],
    ['no Patient', [{ resourceType: 'Observation', status: 'final', code: {} }], /no Patient/u],
    ['text that is not JSON', 'hello\nworld', /neither JSON nor NDJSON \(line 1/u],
    ['empty text', '  ', /empty/u],
    [
      'an entry without resourceType',
      { resourceType: 'Bundle', type: 'batch', entry: [{ resource: {} }] },
      /entry 1/u,
    ],
  ];
  it.each(cases)('refuses %s', (_, input, message) => {
    let caught: unknown;
    try {
      fhirToDrafts(input);
    } catch (e) {
      caught = e;
    }
    expect(isCarnetError(caught, 'INVALID_ARGUMENT')).toBe(true);
    expect((caught as Error).message).toMatch(message);
  });
});

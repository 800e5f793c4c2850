/**
 * Carnet records → one FHIR R4 `collection` Bundle per folder (docs/fhir.md, "Export").
 * Pure and synchronous: the exporter hashes files and writes the archive; this only builds JSON.
 */
import { utf8 } from '../bytes';
import type { PatientProfile } from '../folder';
import type { JsonValue } from '../padded-json';
import type { RecordKind } from '../record';
import { encodeMeta, takeMeta, type CarnetRecordMeta } from './carnet-extension';
import { applyProfile, patientFromProfile } from './patient';
import type { ExportFolder, ExportRecord, FhirBundle, FhirResource } from './types';
import {
  CARNET_FHIR_BASE,
  FHIR_ID,
  isResource,
  jsonEqual,
  R4_RESOURCE_TYPES,
  SHA256_EXTENSION,
  toBase64,
  type JsonObject,
} from './util';

/** Which FHIR resource types a record of a kind may be exported as, unchanged. */
const RESOURCE_TYPES: Partial<Record<RecordKind, readonly string[]>> = {
  observation: ['Observation'],
  condition: ['Condition'],
  allergy: ['AllergyIntolerance'],
  medication: [
    'MedicationRequest',
    'MedicationStatement',
    'Medication',
    'MedicationAdministration',
    'MedicationDispense',
  ],
  encounter: ['Encounter'],
  profile: ['Patient'],
};

const UNKNOWN_CLASS = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-NullFlavor',
  code: 'UNK',
  display: 'unknown',
};

/** A Carnet id (base64url) as a FHIR id: `_` is not allowed there, `.` is. */
export function fhirId(carnetId: string): string {
  return carnetId.replaceAll('_', '.');
}

/** The fullUrl base of a folder's exported bundle: `Type/id` references resolve against it. */
export function bundleBase(folderId: string): string {
  return `${CARNET_FHIR_BASE}/folders/${fhirId(folderId)}/`;
}

/**
 * Builds the FHIR R4 `collection` Bundle of one folder: the Patient (from the `profile` record
 * when there is one, with the folder profile written over it), then one resource per record in
 * the given order. Every resource carries the Carnet record extension, so that
 * {@link fhirToDrafts} gives back the same kind, title, text and structured JSON.
 */
export function draftsToBundle(folder: ExportFolder): FhirBundle {
  const used = new Set<string>();
  const entries: FhirResource[] = [];
  const profileRecord = folder.records.find(
    (r) =>
      r.kind === 'profile' && isResource(r.structured) && r.structured.resourceType === 'Patient',
  );
  const patient = patientResource(folder, profileRecord, used);
  const patientRef = `Patient/${patient.id as string}`;
  if (profileRecord === undefined) entries.push(patient);
  for (const r of folder.records) {
    entries.push(r === profileRecord ? patient : recordResource(r, patientRef, used));
  }
  const base = bundleBase(folder.folderId);
  return {
    resourceType: 'Bundle',
    id: fhirId(folder.folderId),
    type: 'collection',
    entry: entries.map((resource) => ({
      fullUrl: `${base}${resource.resourceType}/${resource.id as string}`,
      resource,
    })),
  };
}

function patientResource(
  folder: ExportFolder,
  profileRecord: ExportRecord | undefined,
  used: Set<string>,
): FhirResource {
  const profile: PatientProfile = folder.profile;
  if (profileRecord === undefined) {
    const id = claimId('Patient', undefined, fhirId(folder.folderId), used);
    const p = patientFromProfile(id, profile);
    return withMeta(p, { structured: { as: 'none' }, profile });
  }
  const structured = profileRecord.structured as FhirResource;
  const id = claimId('Patient', structured.id, fhirId(profileRecord.recordId), used);
  const p = applyProfile({ ...structured, id }, profile);
  return withMeta(p, { ...baseMeta(profileRecord), structured: asIs(p, structured), profile });
}

function recordResource(r: ExportRecord, patientRef: string, used: Set<string>): FhirResource {
  const own = fhirId(r.recordId);
  const s = r.structured;
  // A structured FHIR resource of a type this kind stands for is exported as itself; a second
  // Patient would be read back as a second patient, so only the chosen profile record is one.
  if (isResource(s) && exportableAsItself(r.kind, s.resourceType)) {
    const id = claimId(s.resourceType, s.id, own, used);
    const res: FhirResource = { ...s, id };
    return withMeta(res, { ...baseMeta(r), structured: asIs(res, s) });
  }
  const res = generated(r, patientRef, claimId(generatedType(r.kind), undefined, own, used));
  const meta: CarnetRecordMeta = {
    ...baseMeta(r),
    structured: s === undefined ? { as: 'none' } : { as: 'json', json: s },
  };
  return withMeta(res, meta);
}

function exportableAsItself(kind: RecordKind, type: string): boolean {
  if (kind === 'fhir') return R4_RESOURCE_TYPES.has(type) && type !== 'Patient';
  if (kind === 'profile') return false;
  return RESOURCE_TYPES[kind]?.includes(type) ?? false;
}

function generatedType(kind: RecordKind): string {
  switch (kind) {
    case 'observation':
      return 'Observation';
    case 'condition':
      return 'Condition';
    case 'allergy':
      return 'AllergyIntolerance';
    case 'medication':
      return 'MedicationStatement';
    case 'encounter':
      return 'Encounter';
    case 'note':
    case 'document':
      return 'DocumentReference';
    default:
      return 'Basic';
  }
}

/** A resource standing for a record whose structured JSON is not a FHIR resource. */
function generated(r: ExportRecord, subject: string, id: string): FhirResource {
  const ref = { reference: subject };
  const label = r.title === '' ? r.kind : r.title;
  const concept = { text: label };
  switch (generatedType(r.kind)) {
    case 'Observation':
      return { resourceType: 'Observation', id, status: 'unknown', code: concept, subject: ref };
    case 'Condition':
      return { resourceType: 'Condition', id, code: concept, subject: ref };
    case 'AllergyIntolerance':
      return { resourceType: 'AllergyIntolerance', id, code: concept, patient: ref };
    case 'MedicationStatement':
      return {
        resourceType: 'MedicationStatement',
        id,
        status: 'unknown',
        medicationCodeableConcept: concept,
        subject: ref,
      };
    case 'Encounter':
      return {
        resourceType: 'Encounter',
        id,
        status: 'unknown',
        class: UNKNOWN_CLASS,
        subject: ref,
      };
    case 'DocumentReference':
      return documentReference(r, id, ref);
    default:
      return {
        resourceType: 'Basic',
        id,
        code: { text: r.kind === 'profile' ? 'Patient profile' : label },
        subject: ref,
      };
  }
}

function documentReference(r: ExportRecord, id: string, subject: JsonObject): FhirResource {
  const doc: FhirResource = { resourceType: 'DocumentReference', id, status: 'current', subject };
  if (r.title !== '') doc.description = r.title;
  if (r.file !== undefined) {
    const f = r.file;
    const attachment: JsonObject = {
      extension: [{ url: SHA256_EXTENSION, valueString: f.sha256Hex }],
      url: f.path,
      size: f.size,
      hash: f.sha1Base64,
      title: f.fileName,
    };
    if (f.mimeType !== undefined) attachment.contentType = f.mimeType;
    doc.content = [{ attachment }];
  } else if (r.kind === 'note') {
    // A note's text inline, so that any FHIR reader shows it (the extension has it too).
    const attachment: JsonObject = { contentType: 'text/plain; charset=utf-8' };
    if (r.text !== undefined && r.text !== '') attachment.data = toBase64(utf8(r.text));
    if (r.title !== '') attachment.title = r.title;
    doc.content = [{ attachment }];
  } else {
    doc.content = [{ attachment: { title: r.title === '' ? 'document' : r.title } }];
  }
  return doc;
}

function baseMeta(r: ExportRecord): Omit<CarnetRecordMeta, 'structured'> {
  const meta: Omit<CarnetRecordMeta, 'structured'> = {
    kind: r.kind,
    title: r.title,
    recordId: r.recordId,
    createdAt: r.createdAt,
  };
  if (r.text !== undefined) meta.text = r.text;
  return meta;
}

/**
 * `resource` if the exported resource, once the extension is taken off again, is exactly the
 * structured JSON; else the JSON itself travels in the extension.
 */
function asIs(exported: FhirResource, structured: JsonValue): CarnetRecordMeta['structured'] {
  const probe = withMeta(exported, { structured: { as: 'resource' } });
  const back = takeMeta(probe)?.resource;
  return back !== undefined && jsonEqual(back as JsonValue, structured)
    ? { as: 'resource' }
    : { as: 'json', json: structured };
}

function withMeta(r: FhirResource, meta: CarnetRecordMeta): FhirResource {
  const ext = Array.isArray(r.extension) ? r.extension : [];
  return { ...r, extension: [...ext, encodeMeta(meta)] };
}

/** The resource's own id when valid and free in this bundle, else the record's. */
function claimId(
  type: string,
  own: JsonValue | undefined,
  fallback: string,
  used: Set<string>,
): string {
  let id =
    typeof own === 'string' && FHIR_ID.test(own) && !used.has(`${type}/${own}`) ? own : fallback;
  // Two records can only collide on the fallback if ids repeat; suffix to stay unique.
  for (let n = 2; used.has(`${type}/${id}`); n++) id = `${fallback}.${n}`;
  used.add(`${type}/${id}`);
  return id;
}

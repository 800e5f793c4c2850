/**
 * FHIR R4 → Carnet drafts (docs/fhir.md, "Import"). Accepts a Bundle (transaction, batch,
 * collection, document, searchset), a single resource, an array of resources, or their JSON /
 * NDJSON text. Pure: no I/O, no `node:` import.
 */
import { fromUtf8 } from '../bytes';
import { CarnetError } from '../errors';
import type { PatientProfile } from '../folder';
import type { JsonValue } from '../padded-json';
import { takeMeta, type CarnetRecordMeta } from './carnet-extension';
import { profileFromPatient } from './patient';
import type { DocumentDraft, FhirResource, PatientDraft, RecordDraft } from './types';
import {
  eachObject,
  FHIR_ID,
  fromBase64,
  isObject,
  isResource,
  referencesOf,
  resourceTitle,
  SHA256_EXTENSION,
  type JsonObject,
} from './util';

/** Bundle types whose entries are data to import. */
export const IMPORT_BUNDLE_TYPES = ['transaction', 'batch', 'collection', 'document', 'searchset'];

const KIND_OF: Record<string, RecordDraft['kind']> = {
  Observation: 'observation',
  Condition: 'condition',
  AllergyIntolerance: 'allergy',
  Medication: 'medication',
  MedicationRequest: 'medication',
  MedicationStatement: 'medication',
  MedicationAdministration: 'medication',
  MedicationDispense: 'medication',
  Encounter: 'encounter',
};

interface Item {
  fullUrl?: string;
  resource: FhirResource;
}

function invalid(message: string): CarnetError {
  return new CarnetError('INVALID_ARGUMENT', message);
}

/**
 * Maps FHIR input to one draft per Patient: the folder profile, a `profile` record holding the
 * full Patient, and one record per resource referring to that patient (resources that refer to
 * no patient — Practitioner, Organization, Medication… — are copied to every patient).
 * Bad input is `CarnetError('INVALID_ARGUMENT')` with a message that says what is wrong.
 */
export function fhirToDrafts(bundleOrResources: unknown): PatientDraft[] {
  const items = collect(parseInput(bundleOrResources));
  if (items.length === 0) throw invalid('The FHIR input holds no resource.');
  assignIds(items);
  rewriteReferences(items);
  const patients = items.filter((i) => i.resource.resourceType === 'Patient');
  if (patients.length === 0) throw invalid('The FHIR input holds no Patient resource.');
  const binaries = new Map(
    items
      .filter((i) => i.resource.resourceType === 'Binary' && typeof i.resource.id === 'string')
      .map((i) => [`Binary/${i.resource.id as string}`, i.resource]),
  );
  const used = new Set<FhirResource>();
  const drafts = patients.map(() => ({ records: [] as RecordDraft[] }));
  const profiles: PatientProfile[] = [];
  const keys = patients.map((p) => (p.resource.id === undefined ? '' : `Patient/${p.resource.id}`));
  // Converted in input order; DocumentReferences decide on the way which Binaries they consume,
  // and a consumed Binary is not a record of its own (hence the second pass).
  const converted = items.map((item) => {
    const r = item.resource;
    if (r.resourceType !== 'Patient') {
      return { item, draft: resourceDraft(r, binaries, used), targets: targetsOf(r, keys) };
    }
    const at = patients.indexOf(item);
    const { profile, record } = patientDraft(r);
    profiles[at] = profile;
    return { item, draft: record, targets: [at] };
  });
  for (const { draft, item, targets } of converted) {
    if (draft === undefined || used.has(item.resource)) continue;
    for (const t of targets) drafts[t]!.records.push(t === targets[0] ? draft : copyDraft(draft));
  }
  return drafts.map((d, i) => ({ profile: profiles[i]!, records: d.records }));
}

function parseInput(input: unknown): unknown {
  if (input instanceof Uint8Array) return parseText(fromUtf8(input));
  if (typeof input === 'string') return parseText(input);
  return input;
}

function parseText(text: string): unknown {
  const t = text.replace(/^\uFEFF/u, '').trim();
  if (t === '') throw invalid('The FHIR input is empty.');
  try {
    return JSON.parse(t) as unknown;
  } catch {
    // Not one JSON document: maybe NDJSON, one resource per line.
  }
  const lines = t.split(/\r?\n/u);
  return lines.flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch {
      throw invalid(`The FHIR input is neither JSON nor NDJSON (line ${i + 1} is not JSON).`);
    }
  });
}

function collect(v: unknown, where = 'The FHIR input'): Item[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => collect(x, `Element ${i + 1} of the input`));
  if (!isObject(v)) throw invalid(`${where} is not a JSON object.`);
  if (!isResource(v)) throw invalid(`${where} is not FHIR: it has no "resourceType".`);
  if (v.resourceType !== 'Bundle') return [{ resource: v }];
  if (!IMPORT_BUNDLE_TYPES.includes(v.type as string))
    throw invalid(
      `${where} is a Bundle of type "${String(v.type)}"; expected one of ${IMPORT_BUNDLE_TYPES.join(', ')}.`,
    );
  // A Carnet export wraps a Bundle it kept as a record in the record extension: keep it whole.
  if (takeMeta(v) !== undefined) return [{ resource: v }];
  const entries = v.entry === undefined ? [] : v.entry;
  if (!Array.isArray(entries)) throw invalid(`${where}: "entry" is not an array.`);
  return entries.flatMap((e, i): Item[] => {
    if (!isObject(e)) throw invalid(`${where}: entry ${i + 1} is not an object.`);
    // Entries without a resource are requests (DELETE, GET): there is nothing to import.
    if (e.resource === undefined) return [];
    if (!isResource(e.resource))
      throw invalid(`${where}: the resource of entry ${i + 1} has no "resourceType".`);
    // `request`, `response` and `search` are dropped: only the resource is data.
    return [
      { fullUrl: typeof e.fullUrl === 'string' ? e.fullUrl : undefined, resource: e.resource },
    ];
  });
}

/** Gives resources without an id the one their fullUrl names (`urn:uuid:…`, `…/Type/id`). */
function assignIds(items: Item[]): void {
  for (const item of items) {
    const r = item.resource;
    if (r.id !== undefined || item.fullUrl === undefined) continue;
    const uuid = /^urn:uuid:([A-Za-z0-9\-.]{1,64})$/u.exec(item.fullUrl);
    const rest = new RegExp(`/${r.resourceType}/([A-Za-z0-9\\-.]{1,64})$`, 'u').exec(item.fullUrl);
    const id = uuid?.[1] ?? rest?.[1];
    if (id !== undefined) item.resource = { ...r, id };
  }
}

/** Rewrites references that name an entry's fullUrl (`urn:uuid:…`, absolute URLs) to `Type/id`. */
function rewriteReferences(items: Item[]): void {
  const map = new Map<string, string>();
  for (const { fullUrl, resource } of items) {
    if (fullUrl !== undefined && typeof resource.id === 'string' && FHIR_ID.test(resource.id))
      map.set(fullUrl, `${resource.resourceType}/${resource.id}`);
  }
  if (map.size === 0) return;
  for (const item of items) {
    if (!referencesOf(item.resource).some((ref) => map.has(ref))) continue;
    // Copy before editing: the caller's input is never changed.
    const copy = JSON.parse(JSON.stringify(item.resource)) as FhirResource;
    eachObject(copy, (o) => {
      const to = typeof o.reference === 'string' ? map.get(o.reference) : undefined;
      if (to !== undefined) o.reference = to;
    });
    item.resource = copy;
  }
}

/** Indices of the patients a resource belongs to: the one it names, else all of them. */
function targetsOf(r: FhirResource, keys: string[]): number[] {
  const all = keys.map((_, i) => i);
  if (keys.length === 1) return all;
  for (const field of ['subject', 'patient', 'beneficiary']) {
    const f = r[field];
    const at = isObject(f) && typeof f.reference === 'string' ? keys.indexOf(f.reference) : -1;
    if (at >= 0) return [at];
  }
  const named = new Set(
    referencesOf(r)
      .map((ref) => keys.indexOf(ref))
      .filter((i) => i >= 0),
  );
  return named.size === 0 ? all : [...named].sort((a, b) => a - b).slice(0, 1);
}

function patientDraft(r: FhirResource): { profile: PatientProfile; record?: RecordDraft } {
  const taken = takeMeta(r);
  if (taken === undefined) {
    const profile = profileFromPatient(r);
    return { profile, record: { kind: 'profile', title: profile.name, structured: r } };
  }
  const { meta, resource } = taken;
  const profile = meta.profile ?? profileFromPatient(resource);
  if (meta.kind === undefined) return { profile };
  return { profile, record: fromMeta(meta, resource, undefined) };
}

function resourceDraft(
  r: FhirResource,
  binaries: Map<string, FhirResource>,
  used: Set<FhirResource>,
): RecordDraft | undefined {
  const taken = takeMeta(r);
  if (taken !== undefined) {
    const doc =
      taken.meta.kind === 'document' ? documentOf(taken.resource, binaries, used) : undefined;
    return fromMeta(taken.meta, taken.resource, doc);
  }
  if (r.resourceType === 'DocumentReference') {
    const document = documentOf(r, binaries, used);
    if (document !== undefined) {
      const draft: RecordDraft = { kind: 'document', title: resourceTitle(r, false), document };
      return draft;
    }
  }
  if (r.resourceType === 'Binary' && typeof r.data === 'string') {
    const data = fromBase64(r.data);
    if (data !== undefined) {
      const mimeType = typeof r.contentType === 'string' ? r.contentType : undefined;
      const fileName = `Binary-${r.id ?? 'file'}${extensionFor(mimeType)}`;
      const document: DocumentDraft = { fileName, size: data.length, data };
      if (mimeType !== undefined) document.mimeType = mimeType;
      return { kind: 'document', title: fileName, document };
    }
  }
  const kind = KIND_OF[r.resourceType] ?? 'fhir';
  return { kind, title: resourceTitle(r, kind === 'fhir'), structured: r };
}

function fromMeta(
  meta: CarnetRecordMeta,
  resource: FhirResource,
  document: DocumentDraft | undefined,
): RecordDraft {
  const kind = meta.kind ?? 'fhir';
  const draft: RecordDraft = {
    kind,
    title: meta.title ?? resourceTitle(resource, kind === 'fhir'),
  };
  if (meta.text !== undefined) draft.text = meta.text;
  if (meta.structured.as === 'json') draft.structured = meta.structured.json;
  if (meta.structured.as === 'resource') draft.structured = resource;
  if (document !== undefined) draft.document = document;
  return draft;
}

/** The file of a DocumentReference: inline data, a Binary in the input, or an archive path. */
function documentOf(
  r: FhirResource,
  binaries: Map<string, FhirResource>,
  used: Set<FhirResource>,
): DocumentDraft | undefined {
  const content = Array.isArray(r.content) ? r.content.filter(isObject) : [];
  for (const c of content) {
    const a = c.attachment;
    if (!isObject(a)) continue;
    const mimeType = typeof a.contentType === 'string' ? a.contentType : undefined;
    const fileName =
      typeof a.title === 'string' && a.title !== ''
        ? a.title
        : `${r.id ?? 'document'}${extensionFor(mimeType)}`;
    const base: DocumentDraft = { fileName, size: 0 };
    if (mimeType !== undefined) base.mimeType = mimeType;
    const sha256 = sha256Of(a);
    if (sha256 !== undefined) base.sha256 = sha256;
    if (typeof a.data === 'string') {
      const data = fromBase64(a.data);
      if (data !== undefined) return { ...base, size: data.length, data };
    }
    if (typeof a.url !== 'string') continue;
    const binary = binaries.get(a.url);
    if (binary !== undefined && typeof binary.data === 'string') {
      const data = fromBase64(binary.data);
      if (data === undefined) continue;
      used.add(binary);
      const doc: DocumentDraft = { ...base, size: data.length, data };
      if (doc.mimeType === undefined && typeof binary.contentType === 'string')
        doc.mimeType = binary.contentType;
      return doc;
    }
    // A relative path is a file inside a Carnet export archive; absolute URLs cannot be fetched.
    if (!/^[a-z][a-z0-9+.-]*:/iu.test(a.url) && typeof a.size === 'number')
      return { ...base, size: a.size, path: a.url };
  }
  return undefined;
}

function sha256Of(a: JsonObject): string | undefined {
  const ext = Array.isArray(a.extension) ? a.extension.filter(isObject) : [];
  const v = ext.find((e) => e.url === SHA256_EXTENSION)?.valueString;
  return typeof v === 'string' && /^[0-9a-f]{64}$/u.test(v) ? v : undefined;
}

const EXTENSIONS: Record<string, string> = {
  'application/pdf': '.pdf',
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/gif': '.gif',
  'text/plain': '.txt',
  'application/xml': '.xml',
  'application/json': '.json',
};

function extensionFor(mimeType: string | undefined): string {
  return mimeType === undefined ? '' : (EXTENSIONS[mimeType.split(';')[0]!.trim()] ?? '');
}

function copyDraft(d: RecordDraft): RecordDraft {
  const c: RecordDraft = { ...d };
  if (d.structured !== undefined)
    c.structured = JSON.parse(JSON.stringify(d.structured)) as JsonValue;
  if (d.document !== undefined) c.document = { ...d.document };
  return c;
}

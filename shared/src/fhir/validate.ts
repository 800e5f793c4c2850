/**
 * Structural FHIR R4 checks of a Bundle (docs/fhir.md, "Validation"): resource types, bundle
 * type, fullUrls, ids, the required fields of the types Carnet emits, and references.
 */
import { referencesOf, FHIR_ID, isObject, R4_RESOURCE_TYPES, type JsonObject } from './util';
import type { JsonValue } from '../padded-json';

const BUNDLE_TYPES = [
  'document',
  'message',
  'transaction',
  'transaction-response',
  'batch',
  'batch-response',
  'history',
  'searchset',
  'collection',
];

/** Required elements per resource type (`a|b` = one of them, for choice types `x[x]`). */
const REQUIRED: Record<string, string[]> = {
  Observation: ['status', 'code'],
  Condition: ['subject'],
  AllergyIntolerance: ['patient'],
  MedicationRequest: [
    'status',
    'intent',
    'subject',
    'medicationCodeableConcept|medicationReference',
  ],
  MedicationStatement: ['status', 'subject', 'medicationCodeableConcept|medicationReference'],
  MedicationAdministration: [
    'status',
    'subject',
    'medicationCodeableConcept|medicationReference',
    'effectiveDateTime|effectivePeriod',
  ],
  MedicationDispense: ['status', 'medicationCodeableConcept|medicationReference'],
  Encounter: ['status', 'class'],
  DocumentReference: ['status', 'content'],
  Basic: ['code'],
  Binary: ['contentType'],
};

const REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/u;
const ABSOLUTE = /^[a-z][a-z0-9+.-]*:/iu;

/**
 * Checks a FHIR R4 Bundle; returns one message per problem, `[]` when it is valid. The checks
 * are structural (not a full profile validation): see docs/fhir.md for the list.
 */
export function validateR4Bundle(bundle: unknown): string[] {
  const errors: string[] = [];
  if (!isObject(bundle)) return ['the bundle is not a JSON object'];
  if (bundle.resourceType !== 'Bundle') return ['resourceType is not "Bundle"'];
  if (typeof bundle.type !== 'string' || !BUNDLE_TYPES.includes(bundle.type))
    errors.push(`Bundle.type ${JSON.stringify(bundle.type ?? null)} is not a bundle type`);
  if (bundle.id !== undefined && !validId(bundle.id)) errors.push('Bundle.id is not a valid id');
  const rawEntries = bundle.entry ?? [];
  if (!Array.isArray(rawEntries)) return [...errors, 'Bundle.entry is not an array'];
  const fullUrls = new Set<string>();
  const local = new Set<string>();
  const resources: { at: string; r: JsonObject }[] = [];
  rawEntries.forEach((e, i) => {
    const at = `entry[${i}]`;
    if (!isObject(e)) return void errors.push(`${at} is not an object`);
    if (typeof e.fullUrl !== 'string' || e.fullUrl === '') errors.push(`${at}.fullUrl is missing`);
    else if (fullUrls.has(e.fullUrl)) errors.push(`${at}.fullUrl ${e.fullUrl} is repeated`);
    else fullUrls.add(e.fullUrl);
    if (
      e.request !== undefined &&
      !['batch', 'transaction', 'history'].includes(bundle.type as string)
    )
      errors.push(`${at}.request is not allowed in a ${String(bundle.type)} bundle (bdl-3)`);
    const r = e.resource;
    if (!isObject(r)) return void errors.push(`${at}.resource is missing`);
    const type = r.resourceType;
    if (typeof type !== 'string' || !R4_RESOURCE_TYPES.has(type))
      return void errors.push(`${at}: ${JSON.stringify(type ?? null)} is not an R4 resource type`);
    if (!validId(r.id))
      errors.push(`${at}: ${type}.id ${JSON.stringify(r.id ?? null)} is not a valid id`);
    else {
      const key = `${type}/${r.id as string}`;
      if (local.has(key)) errors.push(`${at}: ${key} is repeated`);
      local.add(key);
      if (
        typeof e.fullUrl === 'string' &&
        /^https?:/u.test(e.fullUrl) &&
        !e.fullUrl.endsWith(`/${key}`)
      )
        errors.push(`${at}.fullUrl does not end with ${key}`);
    }
    for (const field of REQUIRED[type] ?? []) {
      if (!field.split('|').some((f) => present(r[f])))
        errors.push(`${at}: ${type}.${field} is required`);
    }
    resources.push({ at, r });
  });
  for (const { at, r } of resources) {
    for (const ref of referencesOf(r)) {
      const problem = referenceProblem(ref, local, fullUrls);
      if (problem !== undefined) errors.push(`${at}: reference ${JSON.stringify(ref)} ${problem}`);
    }
  }
  return errors;
}

function validId(v: JsonValue | undefined): boolean {
  return typeof v === 'string' && FHIR_ID.test(v);
}

function present(v: JsonValue | undefined): boolean {
  if (v === undefined || v === null || v === '') return false;
  return !Array.isArray(v) || v.length > 0;
}

function referenceProblem(
  ref: string,
  local: Set<string>,
  fullUrls: Set<string>,
): string | undefined {
  if (ref.startsWith('#')) return undefined; // a contained resource
  if (fullUrls.has(ref)) return undefined;
  const m = REFERENCE.exec(ref);
  if (m !== null) {
    if (!R4_RESOURCE_TYPES.has(m[1]!)) return `names an unknown resource type ${m[1]!}`;
    return local.has(`${m[1]!}/${m[2]!}`) ? undefined : 'does not resolve inside the bundle';
  }
  if (/^urn:(uuid|oid):/u.test(ref)) return 'does not resolve inside the bundle';
  if (ABSOLUTE.test(ref)) return undefined; // an external resource, by absolute URL
  return 'is neither Type/id nor an absolute URL';
}

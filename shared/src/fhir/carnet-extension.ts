/**
 * The Carnet record extension: what a FHIR resource cannot say about the record it came from
 * (kind, title, text, the original structured JSON, the folder profile), so that an export
 * re-imports exactly (docs/fhir.md, "Round trip").
 */
import type { PatientProfile } from '../folder';
import { isJsonValue, type JsonValue } from '../padded-json';
import { RECORD_KINDS, type RecordKind } from '../record';
import type { FhirResource } from './types';
import { isObject, RECORD_EXTENSION, type JsonObject } from './util';

/** What the extension carries. */
export interface CarnetRecordMeta {
  /** Absent on a Patient built from the profile alone (no `profile` record behind it). */
  kind?: RecordKind;
  title?: string;
  text?: string;
  /**
   * `resource`: the structured JSON is the resource itself, minus this extension;
   * `json`: it is `json` (not a FHIR resource of this type, or changed on export);
   * `none`: the record has no structured JSON.
   */
  structured: { as: 'resource' } | { as: 'json'; json: JsonValue } | { as: 'none' };
  /** The folder profile, exactly (on the Patient only). */
  profile?: PatientProfile;
  recordId?: string;
  createdAt?: number;
}

/** The extension element for `meta`. */
export function encodeMeta(meta: CarnetRecordMeta): JsonObject {
  const ext: JsonObject[] = [];
  if (meta.kind !== undefined) ext.push({ url: 'kind', valueCode: meta.kind });
  // FHIR strings must not be empty: an empty title or text is said with a boolean instead.
  if (meta.title !== undefined)
    ext.push(
      meta.title === ''
        ? { url: 'emptyTitle', valueBoolean: true }
        : { url: 'title', valueString: meta.title },
    );
  if (meta.text !== undefined)
    ext.push(
      meta.text === ''
        ? { url: 'emptyText', valueBoolean: true }
        : { url: 'text', valueString: meta.text },
    );
  if (meta.structured.as === 'resource')
    ext.push({ url: 'structuredIsResource', valueBoolean: true });
  if (meta.structured.as === 'json')
    ext.push({ url: 'structured', valueString: JSON.stringify(meta.structured.json) });
  if (meta.profile !== undefined)
    ext.push({ url: 'profile', valueString: JSON.stringify(meta.profile) });
  if (meta.recordId !== undefined) ext.push({ url: 'recordId', valueString: meta.recordId });
  if (meta.createdAt !== undefined)
    ext.push({ url: 'createdAt', valueDateTime: new Date(meta.createdAt).toISOString() });
  return { url: RECORD_EXTENSION, extension: ext };
}

function parseJson(s: JsonValue | undefined): JsonValue | undefined {
  if (typeof s !== 'string') return undefined;
  try {
    const v: unknown = JSON.parse(s);
    return isJsonValue(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function parseProfile(s: JsonValue | undefined): PatientProfile | undefined {
  const v = parseJson(s);
  if (!isObject(v) || typeof v.name !== 'string' || v.name.trim() === '') return undefined;
  // The folder code re-checks every field when the profile is sealed (unknown keys refused).
  return v as unknown as PatientProfile;
}

/**
 * Reads the Carnet extension of a resource and returns it with the resource without it;
 * `undefined` when the resource has none (or a malformed one: it is then kept as it is).
 */
export function takeMeta(
  r: FhirResource,
): { meta: CarnetRecordMeta; resource: FhirResource } | undefined {
  if (!Array.isArray(r.extension)) return undefined;
  // The last one is ours: a structured resource may itself hold an older Carnet extension.
  let idx = -1;
  r.extension.forEach((e, i) => {
    if (isObject(e) && e.url === RECORD_EXTENSION) idx = i;
  });
  if (idx < 0) return undefined;
  const ours = r.extension[idx] as JsonObject;
  const subs = Array.isArray(ours.extension) ? ours.extension.filter(isObject) : [];
  const get = (url: string): JsonObject | undefined => subs.find((s) => s.url === url);
  const meta: CarnetRecordMeta = { structured: { as: 'none' } };
  const kind = get('kind')?.valueCode;
  if (kind !== undefined) {
    if (typeof kind !== 'string' || !(RECORD_KINDS as readonly string[]).includes(kind))
      return undefined;
    meta.kind = kind as RecordKind;
  }
  const title = get('title')?.valueString;
  if (typeof title === 'string') meta.title = title;
  else if (get('emptyTitle')?.valueBoolean === true) meta.title = '';
  const text = get('text')?.valueString;
  if (typeof text === 'string') meta.text = text;
  else if (get('emptyText')?.valueBoolean === true) meta.text = '';
  if (get('structuredIsResource')?.valueBoolean === true) meta.structured = { as: 'resource' };
  const sub = get('structured');
  if (sub !== undefined) {
    const json = parseJson(sub.valueString);
    if (json === undefined) return undefined;
    meta.structured = { as: 'json', json };
  }
  const profileSub = get('profile');
  if (profileSub !== undefined) {
    meta.profile = parseProfile(profileSub.valueString);
    if (meta.profile === undefined) return undefined;
  }
  const recordId = get('recordId')?.valueString;
  if (typeof recordId === 'string') meta.recordId = recordId;
  const rest = r.extension.filter((_, i) => i !== idx);
  const resource: FhirResource = { ...r };
  if (rest.length === 0) delete resource.extension;
  else resource.extension = rest;
  return { meta, resource };
}

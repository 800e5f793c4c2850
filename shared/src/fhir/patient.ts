/**
 * Patient ↔ folder profile: which FHIR Patient fields fill a Carnet `PatientProfile`, and how a
 * profile is written back over a Patient on export.
 */
import { SEXES, type PatientProfile, type Sex } from '../folder';
import type { JsonValue } from '../padded-json';
import type { FhirResource } from './types';
import { humanName, isObject, type JsonObject } from './util';

const BIRTH_DATE = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
// National identifiers first (social security, national, passport numbers), then the medical
// record number, then whatever comes first.
const IDENTIFIER_PREFERENCE = ['SS', 'NI', 'NNFRA', 'NH', 'MR'];

function objects(v: JsonValue | undefined): JsonObject[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function str(v: JsonValue | undefined): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function identifierOf(v: JsonValue | undefined): string | undefined {
  const ids = objects(v).filter((i) => str(i.value) !== undefined);
  const code = (i: JsonObject): string | undefined => {
    const coding = isObject(i.type) ? objects(i.type.coding) : [];
    return coding.map((c) => str(c.code)).find((c) => c !== undefined);
  };
  for (const want of IDENTIFIER_PREFERENCE) {
    const hit = ids.find((i) => code(i) === want);
    if (hit !== undefined) return str(hit.value);
  }
  return ids[0] === undefined ? undefined : str(ids[0].value);
}

function telecomOf(v: JsonValue | undefined, system: string): string | undefined {
  return objects(v)
    .filter((t) => t.system === system)
    .map((t) => str(t.value))
    .find((s) => s !== undefined);
}

function addressOf(v: JsonValue | undefined): string | undefined {
  const all = objects(v);
  const a = all.find((x) => x.use === 'home') ?? all[0];
  if (a === undefined) return undefined;
  const text = str(a.text);
  if (text !== undefined) return text;
  const lines = Array.isArray(a.line) ? a.line.map(str) : [];
  const cityLine = [str(a.postalCode), str(a.city)].filter((s) => s !== undefined).join(' ');
  const parts = [...lines, cityLine, str(a.state), str(a.country)].filter(
    (s): s is string => s !== undefined && s !== '',
  );
  return parts.length === 0 ? undefined : parts.join(', ');
}

/** The folder profile of a FHIR Patient (name, birth date, sex, identifier, contact, address). */
export function profileFromPatient(p: FhirResource): PatientProfile {
  const profile: PatientProfile = {
    name: humanName(p.name) ?? (typeof p.id === 'string' ? `Patient ${p.id}` : 'Unnamed patient'),
  };
  const birthDate = str(p.birthDate);
  if (birthDate !== undefined && BIRTH_DATE.test(birthDate)) profile.birthDate = birthDate;
  const gender = str(p.gender);
  if (gender !== undefined && (SEXES as readonly string[]).includes(gender))
    profile.sex = gender as Sex;
  const identifier = identifierOf(p.identifier);
  if (identifier !== undefined) profile.identifier = identifier;
  const phone = telecomOf(p.telecom, 'phone');
  if (phone !== undefined) profile.phone = phone;
  const email = telecomOf(p.telecom, 'email');
  if (email !== undefined) profile.email = email;
  const address = addressOf(p.address);
  if (address !== undefined) profile.address = address;
  return profile;
}

/**
 * Writes the profile over a Patient (a copy): only the fields whose mapped value differs from
 * the profile are replaced, so an unchanged imported Patient is exported unchanged.
 */
export function applyProfile(patient: FhirResource, profile: PatientProfile): FhirResource {
  const out: FhirResource = { ...patient };
  const now = profileFromPatient(patient);
  if (now.name !== profile.name) out.name = [{ text: profile.name }];
  if (now.birthDate !== profile.birthDate) {
    if (profile.birthDate === undefined) delete out.birthDate;
    else out.birthDate = profile.birthDate;
  }
  if (now.sex !== profile.sex) {
    if (profile.sex === undefined) delete out.gender;
    else out.gender = profile.sex;
  }
  if (now.identifier !== profile.identifier) {
    const rest = objects(out.identifier).filter((i) => str(i.value) !== now.identifier);
    out.identifier =
      profile.identifier === undefined ? rest : [{ value: profile.identifier }, ...rest];
    if (out.identifier.length === 0) delete out.identifier;
  }
  for (const system of ['phone', 'email'] as const) {
    if (now[system] === profile[system]) continue;
    const rest = objects(out.telecom).filter(
      (t) => !(t.system === system && str(t.value) === now[system]),
    );
    const value = profile[system];
    out.telecom = value === undefined ? rest : [{ system, value }, ...rest];
    if (out.telecom.length === 0) delete out.telecom;
  }
  if (now.address !== profile.address) {
    if (profile.address === undefined) delete out.address;
    else out.address = [{ text: profile.address }];
  }
  return out;
}

/** A Patient built from a profile alone (a folder without an imported Patient). */
export function patientFromProfile(id: string, profile: PatientProfile): FhirResource {
  return applyProfile({ resourceType: 'Patient', id }, profile);
}

/**
 * Small pure helpers of the FHIR mapping: JSON shape checks, standard base64, references,
 * readable labels. No `node:` import: this runs in browsers too.
 */
import type { JsonValue } from '../padded-json';
import type { FhirResource } from './types';

/** Base URL of Carnet's FHIR extensions. */
export const CARNET_FHIR_BASE = 'https://carnet.health/fhir';
/** The extension carrying what FHIR cannot: kind, title, text, original structured JSON. */
export const RECORD_EXTENSION = `${CARNET_FHIR_BASE}/StructureDefinition/record`;
/** SHA-256 (lowercase hex) of an attachment's content. */
export const SHA256_EXTENSION = `${CARNET_FHIR_BASE}/StructureDefinition/sha256`;

/** A FHIR `id`: 1 to 64 of `A-Z a-z 0-9 - .`. */
export const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** A plain JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/** Is `v` a plain (non-array, non-null) object? */
export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Is `v` an object with a non-empty string `resourceType`? */
export function isResource(v: unknown): v is FhirResource {
  return isObject(v) && typeof v.resourceType === 'string' && v.resourceType !== '';
}

/** A deep copy of a JSON value (structuredClone is not everywhere the SDK runs). */
export function cloneJson<T extends JsonValue>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Deep equality of two JSON values; key order does not matter. */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** Calls `visit` on every object nested in `v` (including `v`), depth first. */
export function eachObject(v: JsonValue | undefined, visit: (o: JsonObject) => void): void {
  if (Array.isArray(v)) {
    for (const x of v) eachObject(x, visit);
  } else if (isObject(v)) {
    visit(v);
    for (const x of Object.values(v)) eachObject(x, visit);
  }
}

/** The `reference` strings of a resource (contained resources included). */
export function referencesOf(v: JsonValue | undefined): string[] {
  const out: string[] = [];
  eachObject(v, (o) => {
    if (typeof o.reference === 'string') out.push(o.reference);
  });
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Standard base64 with padding (FHIR `base64Binary`). */
export function toBase64(b: Uint8Array): string {
  const parts: string[] = [];
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]!;
    s += i + 1 < b.length ? B64[(n >>> 6) & 63]! : '=';
    s += i + 2 < b.length ? B64[n & 63]! : '=';
    // Join in pieces: one string grown by += over megabytes is slow in some engines.
    if (s.length >= 8192) {
      parts.push(s);
      s = '';
    }
  }
  parts.push(s);
  return parts.join('');
}

/** Parses standard base64 (whitespace and padding tolerated); `undefined` if malformed. */
export function fromBase64(s: string): Uint8Array | undefined {
  const clean = s.replace(/[\s=]+$/u, '').replace(/\s+/gu, '');
  if (clean.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64_INDEX.get(clean[i]!);
    if (v === undefined) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  return out;
}

/** First non-empty string among `vs`. */
function firstString(...vs: (JsonValue | undefined)[]): string | undefined {
  for (const v of vs) if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/** A readable label of a CodeableConcept (or an array of them): text, else first display. */
export function conceptLabel(v: JsonValue | undefined): string | undefined {
  if (Array.isArray(v)) {
    for (const x of v) {
      const l = conceptLabel(x);
      if (l !== undefined) return l;
    }
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const coding = Array.isArray(v.coding) ? v.coding : [];
  return firstString(v.text, ...coding.map((c) => (isObject(c) ? c.display : undefined)));
}

/** A readable name of a FHIR HumanName list (`text`, else given names and family). */
export function humanName(v: JsonValue | undefined): string | undefined {
  if (!Array.isArray(v)) return undefined;
  const names = v.filter(isObject);
  const pick = names.find((n) => n.use === 'official') ?? names.find((n) => n.use !== 'old');
  if (pick === undefined) return undefined;
  const text = firstString(pick.text);
  if (text !== undefined) return text;
  const given = Array.isArray(pick.given) ? pick.given.filter((g) => typeof g === 'string') : [];
  const joined = [...given, typeof pick.family === 'string' ? pick.family : '']
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .join(' ');
  return joined === '' ? undefined : joined;
}

const MAX_TITLE = 200;

/** A record title for a resource: code / medication / type / name, else its resource type. */
export function resourceTitle(r: FhirResource, prefixType: boolean): string {
  const label =
    conceptLabel(r.code) ??
    conceptLabel(r.medicationCodeableConcept) ??
    conceptLabel(r.vaccineCode) ??
    conceptLabel(r.type) ??
    firstString(r.description, r.title, typeof r.name === 'string' ? r.name : undefined) ??
    humanName(r.name) ??
    conceptLabel(r.category);
  const title =
    label === undefined ? r.resourceType : prefixType ? `${r.resourceType}: ${label}` : label;
  return title.length > MAX_TITLE ? `${title.slice(0, MAX_TITLE - 1)}…` : title;
}

/** The resource types of FHIR R4 (4.0.1). */
export const R4_RESOURCE_TYPES: ReadonlySet<string> = new Set(
  (
    'Account ActivityDefinition AdverseEvent AllergyIntolerance Appointment AppointmentResponse ' +
    'AuditEvent Basic Binary BiologicallyDerivedProduct BodyStructure Bundle CapabilityStatement ' +
    'CarePlan CareTeam CatalogEntry ChargeItem ChargeItemDefinition Claim ClaimResponse ' +
    'ClinicalImpression CodeSystem Communication CommunicationRequest CompartmentDefinition ' +
    'Composition ConceptMap Condition Consent Contract Coverage CoverageEligibilityRequest ' +
    'CoverageEligibilityResponse DetectedIssue Device DeviceDefinition DeviceMetric DeviceRequest ' +
    'DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference EffectEvidenceSynthesis ' +
    'Encounter Endpoint EnrollmentRequest EnrollmentResponse EpisodeOfCare EventDefinition Evidence ' +
    'EvidenceVariable ExampleScenario ExplanationOfBenefit FamilyMemberHistory Flag Goal ' +
    'GraphDefinition Group GuidanceResponse HealthcareService ImagingStudy Immunization ' +
    'ImmunizationEvaluation ImmunizationRecommendation ImplementationGuide InsurancePlan Invoice ' +
    'Library Linkage List Location Measure MeasureReport Media Medication MedicationAdministration ' +
    'MedicationDispense MedicationKnowledge MedicationRequest MedicationStatement ' +
    'MedicinalProduct MedicinalProductAuthorization MedicinalProductContraindication ' +
    'MedicinalProductIndication MedicinalProductIngredient MedicinalProductInteraction ' +
    'MedicinalProductManufactured MedicinalProductPackaged MedicinalProductPharmaceutical ' +
    'MedicinalProductUndesirableEffect MessageDefinition MessageHeader MolecularSequence ' +
    'NamingSystem NutritionOrder Observation ObservationDefinition OperationDefinition ' +
    'OperationOutcome Organization OrganizationAffiliation Parameters Patient PaymentNotice ' +
    'PaymentReconciliation Person PlanDefinition Practitioner PractitionerRole Procedure ' +
    'Provenance Questionnaire QuestionnaireResponse RelatedPerson RequestGroup ResearchDefinition ' +
    'ResearchElementDefinition ResearchStudy ResearchSubject RiskAssessment RiskEvidenceSynthesis ' +
    'Schedule SearchParameter ServiceRequest Slot SpecimenDefinition Specimen StructureDefinition ' +
    'StructureMap Subscription Substance SubstanceNucleicAcid SubstancePolymer SubstanceProtein ' +
    'SubstanceReferenceInformation SubstanceSourceMaterial SubstanceSpecification SupplyDelivery ' +
    'SupplyRequest Task TerminologyCapabilities TestReport TestScript ValueSet ' +
    'VerificationResult VisionPrescription'
  ).split(' '),
);

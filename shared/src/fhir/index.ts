/**
 * FHIR R4 mapping of Carnet records (docs/fhir.md): import (`fhirToDrafts`), export
 * (`draftsToBundle`) and structural validation (`validateR4Bundle`). Pure TypeScript, no
 * `node:` import: it runs in browsers, workers and Node. Exported as `@carnet/shared/fhir`.
 */
export { fhirToDrafts, IMPORT_BUNDLE_TYPES } from './import';
export { draftsToBundle, fhirId, bundleBase } from './export';
export { validateR4Bundle } from './validate';
export { profileFromPatient } from './patient';
export {
  CARNET_FHIR_BASE,
  RECORD_EXTENSION,
  SHA256_EXTENSION,
  FHIR_ID,
  R4_RESOURCE_TYPES,
  toBase64,
  fromBase64,
} from './util';
export type {
  DocumentDraft,
  EntryKind,
  ExportFolder,
  ExportRecord,
  FhirBundle,
  FhirBundleEntry,
  FhirResource,
  PatientDraft,
  RecordDraft,
} from './types';

/**
 * Types of the FHIR R4 mapping (docs/fhir.md): what an import produces (drafts) and what an
 * export consumes (decrypted records).
 */
import type { EntryKind } from '../client/types';
import type { PatientProfile } from '../folder';
import type { JsonValue } from '../padded-json';
import type { RecordKind } from '../record';

export type { EntryKind, JsonValue, PatientProfile, RecordKind };

/** A FHIR resource as parsed JSON: an object with a `resourceType` (and usually an `id`). */
export type FhirResource = { resourceType: string } & { [key: string]: JsonValue };

/** One entry of an exported FHIR Bundle. */
export type FhirBundleEntry = { fullUrl: string; resource: FhirResource } & {
  [key: string]: JsonValue;
};

/** A FHIR R4 Bundle as {@link draftsToBundle} builds it. */
export type FhirBundle = { resourceType: 'Bundle'; type: string; entry: FhirBundleEntry[] } & {
  [key: string]: JsonValue;
};

/**
 * The file behind a document draft: either inline bytes (`data`, from a FHIR attachment or a
 * Binary) or a path inside a Carnet export archive (`path`, which the archive importer opens and
 * checks against `sha256`).
 */
export interface DocumentDraft {
  fileName: string;
  mimeType?: string;
  /** Size in bytes (of `data` when present). */
  size: number;
  /** SHA-256 of the content, lowercase hex, when the source stated it. */
  sha256?: string;
  /** Path inside an export archive (`attachment.url` of a Carnet export). */
  path?: string;
  /** Inline content (attachment `data` or a referenced Binary). */
  data?: Uint8Array;
}

/** A record to create, from one FHIR resource. */
export interface RecordDraft {
  /** `document` drafts carry `document`; `note` drafts carry `text`. */
  kind: EntryKind | 'note' | 'document';
  title: string;
  text?: string;
  /** The FHIR resource (references as `Type/id`, `entry.request` dropped) or Carnet JSON. */
  structured?: JsonValue;
  document?: DocumentDraft;
}

/** One patient of an import: the folder profile and the records of the folder. */
export interface PatientDraft {
  profile: PatientProfile;
  records: RecordDraft[];
}

/** A decrypted record as the exporter hands it to {@link draftsToBundle}. */
export interface ExportRecord {
  recordId: string;
  kind: RecordKind;
  title: string;
  text?: string;
  structured?: JsonValue;
  createdAt: number;
  authorId: string;
  version: number;
  /** A document's file, stored in the archive at `path`. */
  file?: {
    path: string;
    fileName: string;
    mimeType?: string;
    size: number;
    /** SHA-1 of the content, standard base64 (FHIR `Attachment.hash`). */
    sha1Base64: string;
    /** SHA-256 of the content, lowercase hex. */
    sha256Hex: string;
  };
}

/** What {@link draftsToBundle} exports: one folder. */
export interface ExportFolder {
  folderId: string;
  profile: PatientProfile;
  records: ExportRecord[];
}

/** Public types of the client SDK (see docs/sdk.md). */
import type { Role } from '../account';
import type { PatientProfile } from '../folder';
import type { AccountId, FolderId, RecordId } from '../ids';
import type { MemberRole } from '../manifest';
import type { JsonValue } from '../padded-json';
import type { PinStatus } from '../pinning';
import type { RecordKind } from '../record';
import type { FetchLike } from './http';
import type { LocalStore } from './store';

export type { PatientProfile, MemberRole, RecordKind, Role, JsonValue };

/** Options of `new CarnetClient(...)`. */
export interface ClientOptions {
  /** The relay, e.g. `http://127.0.0.1:8080`; the SDK appends `/api/v1`. */
  relayUrl: string;
  /** Local state; default a fresh in-memory store (nothing survives the process). */
  store?: LocalStore;
  /** `fetch` to use; default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** Base of invite links (the web app); default `relayUrl`. */
  appUrl?: string;
  /** Clock in ms (tests); default `Date.now`. */
  now?: () => number;
}

/** The logged-in account. */
export interface AccountInfo {
  accountId: AccountId;
  userName: string;
  role: Role;
  /** Safety code of this account's key bundle (30 digits in 6 groups). */
  safetyCode: string;
}

/** Another account whose key bundle was verified and pinned. */
export interface Contact {
  accountId: AccountId;
  userName: string;
  role: Role;
  safetyCode: string;
  /** How the pin was established or confirmed. */
  pin: PinStatus;
}

/** A folder as listed. Pending invitations carry only ids and `status`. */
export interface FolderSummary {
  folderId: FolderId;
  ownerId: AccountId;
  status: 'member' | 'pending';
  /** My role in the signed manifest. */
  myRole?: MemberRole;
  epoch?: number;
  manifestSeq?: number;
  profile?: PatientProfile;
  /** Version of the profile, for `updateProfile`'s compare-and-swap. */
  profileVersion?: number;
}

/** A member of a folder, from the signed manifest. */
export interface FolderMember {
  accountId: AccountId;
  role: MemberRole;
  safetyCode: string;
}

/** A folder with its members (from the signed manifest, never from the relay's list). */
export interface FolderDetails extends FolderSummary {
  members: FolderMember[];
}

/**
 * Kinds of structured entries. `encounter` holds a FHIR Encounter, `fhir` any other FHIR
 * resource kept verbatim (imports), `profile` the full FHIR Patient behind a folder's profile.
 */
export type EntryKind =
  'observation' | 'condition' | 'allergy' | 'medication' | 'encounter' | 'fhir' | 'profile';

/** What to write as a new record or a new version of one. */
export type RecordInput =
  | { kind: 'note'; title: string; text: string }
  | { kind: EntryKind; title: string; structured: JsonValue; text?: string }
  | {
      kind: 'document';
      title?: string;
      fileName: string;
      mimeType?: string;
      text?: string;
      /** Exact byte length of `body`. */
      size: number;
      /** The content; read once, in constant memory. */
      body: ReadableStream<Uint8Array>;
    };

/** A verified record version, header decrypted. */
export interface RecordSummary {
  recordId: RecordId;
  version: number;
  epoch: number;
  authorId: AccountId;
  createdAt: number;
  kind: RecordKind;
  title: string;
  fileName?: string;
  mimeType?: string;
  size?: number;
}

/** A record version with its full header content. */
export interface RecordView extends RecordSummary {
  text?: string;
  structured?: JsonValue;
}

/** A created invite: hand `link` to the patient (it holds the secret in its fragment). */
export interface CreatedInvite {
  link: string;
  inviteId: string;
  expiresAt: number;
}

/** An invite answer the owner's client verified and turned into a member. */
export interface AdmittedPatient {
  folderId: FolderId;
  accountId: AccountId;
  safetyCode: string;
}

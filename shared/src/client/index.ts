/**
 * The Carnet client SDK (docs/sdk.md): runs in browsers, workers and Node. Node-only helpers
 * (file store, file streams, upload spool) are in `@carnet/shared/client/node`.
 */
export { CarnetClient, type CarnetClientOptions } from './client';
export { ApiError, isApiError, isConflict, type FetchLike } from './http';
export { MemoryLocalStore, type LocalStore } from './store';
export type { DeletedFolder, DeletionResult, RelayKeyInfo } from './deletion';
export type { DeletionCounts, DeletionReceiptFields } from '../receipt';
export type { UploadSpool, SpooledBlob } from './record-write';
export { IN_MEMORY_UPLOAD_LIMIT } from './record-write';
export { DEFAULT_INVITE_TTL_MS, MAX_INVITE_TTL_MS } from './invites';
export type { AuditEntry, AuditParty, AuditTrail, AuditWords } from './audit';
export type {
  GrantEvent,
  GrantFolderView,
  GrantInfo,
  GrantStatus,
  NewGrantOptions,
  WatchOptions,
} from './grants';
export type {
  AdoptedImport,
  FhirImportResult,
  ImportSource,
  ReviewedImport,
  ReviewedItem,
  StageOptions,
} from './imports';
export type {
  AccountInfo,
  AdmittedPatient,
  ClientOptions,
  Contact,
  CreatedInvite,
  EntryKind,
  FolderDetails,
  FolderMember,
  FolderSummary,
  JsonValue,
  MemberRole,
  PatientProfile,
  RecordInput,
  RecordKind,
  RecordSummary,
  RecordView,
  Role,
} from './types';
export { CarnetError, isCarnetError, type CarnetErrorCode } from '../errors';

/**
 * The one place the CLI imports the client SDK from (docs/sdk.md): the browser-safe client and
 * its Node-only helpers (file-backed store, file streams, upload spool).
 */
export {
  ApiError,
  CarnetClient,
  isApiError,
  MemoryLocalStore,
  type DeletionResult,
  type AccountInfo,
  type AdmittedPatient,
  type AuditEntry,
  type AuditTrail,
  type Contact,
  type FolderSummary,
  type GrantEvent,
  type GrantInfo,
  type PatientProfile,
  type RecordInput,
  type RecordSummary,
  type RecordView,
} from '@carnet/shared/client';
export {
  exportVault,
  importArchive,
  type ExportEncryption,
  type ExportProgress,
  type ImportProgress,
  FileLocalStore,
  fileToStream,
  streamToFile,
  tempFileSpool,
} from '@carnet/shared/client/node';

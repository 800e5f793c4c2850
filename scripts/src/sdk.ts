/**
 * The one place the CLI imports the client SDK from (docs/sdk.md): the browser-safe client and
 * its Node-only helpers (file-backed store, file streams, upload spool).
 */
export {
  ApiError,
  CarnetClient,
  isApiError,
  type AccountInfo,
  type AdmittedPatient,
  type Contact,
  type FolderSummary,
  type PatientProfile,
  type RecordInput,
  type RecordSummary,
  type RecordView,
} from '@carnet/shared/client';
export {
  FileLocalStore,
  fileToStream,
  streamToFile,
  tempFileSpool,
} from '@carnet/shared/client/node';

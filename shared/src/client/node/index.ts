/**
 * Node-only parts of the client SDK: a file-backed local store, streaming documents from and to
 * files, a disk spool for large uploads, and export archives (docs/export.md). Never imported
 * by browser code.
 */
export { FileLocalStore } from './file-store';
export { fileToStream, streamToFile } from './files';
export { tempFileSpool } from './spool';
export {
  exportVault,
  type ExportEncryption,
  type ExportOptions,
  type ExportProgress,
  type ExportSummary,
} from './export';
export {
  importArchive,
  type ImportArchiveOptions,
  type ImportArchiveSummary,
  type ImportProgress,
} from './archive';

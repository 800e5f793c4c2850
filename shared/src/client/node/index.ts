/**
 * Node-only parts of the client SDK: a file-backed local store, streaming documents from and to
 * files, and a disk spool for large uploads. Never imported by browser code.
 */
export { FileLocalStore } from './file-store';
export { fileToStream, streamToFile } from './files';
export { tempFileSpool } from './spool';

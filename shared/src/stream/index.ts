/**
 * Large files: chunked, padded, key-committed AES-256-GCM STREAM over WebCrypto
 * (`KIND.FILE_STREAM`). Format: docs/protocol-parts/30-file-stream.md.
 */
export { padme } from '../padme';
export {
  DEFAULT_CHUNK_SIZE,
  FILE_CIPHER,
  HEADER_LEN as FILE_HEADER_LEN,
  MAX_CHUNK_SIZE,
  MIN_CHUNK_SIZE,
  paddedFileSize,
} from './format';
export type { FileStreamContext, FileStreamOptions } from './format';
export { createFileEncryptor, encryptFileBytes } from './encrypt';
export type { FileEncryptor } from './encrypt';
export { createFileDecryptor, decryptFileBytes } from './decrypt';
export type { FileDecryptor } from './decrypt';
export { hashWorkerReady } from './digest-worker';

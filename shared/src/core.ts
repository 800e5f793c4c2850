/**
 * `@carnet/shared/core` — Carnet's formats, bytes in and bytes out: key bundles and safety
 * codes, keyrings and recovery codes, folder keys with epochs and lineage, record versions,
 * manifests, grants, invites, streamed files, audit chains, staged imports and deletion
 * receipts. Each format has a version byte, an allow-list, associated data binding its
 * context, and a vector file in `shared/vectors/`.
 * Callers never choose a nonce. docs/protocol.md describes every byte.
 */
export * from './errors';
export * from './ids';
export * from './keys';
export { FORMAT, KIND, MIN_FORMAT, ACCEPTED_FORMATS } from './registry';
export type { FormatByte, KindByte } from './registry';
export type { ObjectContext } from './context';
export { sealEnvelope, openEnvelope } from './envelope';
export { wrapToPublicKey, unwrapWithPrivateKey } from './wrap';
export * from './account';
export * from './safety-code';
export * from './pinning';
export * from './kdf';
export { sealKeyringWithPassword, openKeyringWithPassword, readKeyringKdfParams } from './keyring';
export * from './recovery';
export * from './folder';
export * from './record';
export * from './manifest';
export * from './high-water';
export * from './grant';
export * from './invite';
export * from './audit';
export * from './import-item';
export * from './receipt';
export * from './relay-key';
export * from './stream/index';
export {
  concatBytes,
  equalBytes,
  fromBase64url,
  fromHex,
  fromUtf8,
  lp,
  toBase64url,
  toHex,
  utf8,
} from './bytes';

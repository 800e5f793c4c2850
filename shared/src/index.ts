/**
 * `@carnet/shared` — the safe, high-level face of Carnet's client: the SDK, its errors, and the
 * few helpers an application needs to talk to people (safety codes, recovery codes, ids).
 *
 * Layers, from safe to raw (Proton's split between a high-level and a low-level layer):
 * - `@carnet/shared` (this file) and `@carnet/shared/client`: accounts, folders, records,
 *   invites, sharing. Every relay answer is verified before use.
 * - `@carnet/shared/client/node`: Node-only helpers (file store, file streams).
 * - `@carnet/shared/core`: the formats, bytes in and bytes out (docs/protocol.md). Callers never
 *   pass nonces; every object is versioned, typed and bound to its context.
 * - `@carnet/shared/primitives`: raw primitives, for benchmarks and attack tests only.
 */
export * from './client/index';
export { ERROR_CODES } from './errors';
export { isId, newId, parseId } from './ids';
export type { AccountId, BlobId, FolderId, GrantId, RecordId } from './ids';
export { parseSafetyCode, safetyCodesEqual } from './safety-code';
export { parseRecoveryCode } from './recovery';

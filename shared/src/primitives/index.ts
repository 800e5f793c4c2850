/**
 * `@carnet/shared/primitives` — raw primitives (X25519, Ed25519, AEADs, SHA-2/HKDF, HPKE,
 * randomness, backend selection). For benchmarks and attack tests only: applications use the
 * formats of `@carnet/shared/core` or the SDK, which bind every key to its context.
 */
export * from './aead';
export * from './backend';
export * from './ed25519';
export * from './random';
export * from './sha2';
export * from './x25519';
export { hpkeSeal, hpkeOpen } from '../hpke';

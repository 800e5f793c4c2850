/**
 * The relay's own Ed25519 signing key, kept in `relay-signing.key` in the data directory (the
 * 32-byte seed, mode 0600, created at first start like `secret.key`). It signs deletion
 * receipts; clients pin its public key on first sight (`GET /relay`) and verify receipts
 * under it later, offline if need be. Losing the file means new receipts are signed by a new
 * key that clients refuse until the user accepts it: back it up with the database
 * (`carnet admin backup` does).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import {
  asKey,
  relayKeyFingerprint,
  type IdentityPrivateKey,
  type IdentityPublicKey,
} from '@carnet/shared/core';
import { loadOrCreateSecret } from './relay';

/** Name of the relay's signing key file inside the data directory. */
export const SIGNING_KEY_FILE = 'relay-signing.key';

/** The relay's signing key pair and the fingerprint users compare. */
export interface RelaySigningKey {
  /** Ed25519 seed (private). */
  seed: IdentityPrivateKey;
  /** Ed25519 public key, served by `GET /relay`. */
  publicKey: IdentityPublicKey;
  /** `relayKeyFingerprint(publicKey)`: what an operator publishes and users compare. */
  fingerprint: string;
}

// PKCS#8 prefix of an Ed25519 private key (RFC 8410): the seed follows it.
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The Ed25519 public key of `seed`, computed by Node's own crypto (synchronous). */
export function ed25519PublicKeyOf(seed: Uint8Array): Uint8Array {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  // An Ed25519 SPKI is a fixed 12-byte header followed by the 32-byte key.
  return new Uint8Array(spki.subarray(spki.length - 32));
}

/** Reads (or creates at first start) the relay's signing key in `dataDir`. */
export function loadRelaySigningKey(dataDir: string): RelaySigningKey {
  const seed = new Uint8Array(loadOrCreateSecret(join(dataDir, SIGNING_KEY_FILE)));
  const publicKey = asKey<IdentityPublicKey>(ed25519PublicKeyOf(seed));
  return {
    seed: asKey<IdentityPrivateKey>(seed),
    publicKey,
    fingerprint: relayKeyFingerprint(publicKey),
  };
}

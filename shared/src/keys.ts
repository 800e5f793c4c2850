/**
 * Branded key roles. A `FolderKey` cannot be passed where an `AccountKey` is expected, even
 * though both are 32 random bytes. Brands exist only at compile time.
 */
import { invalidArgument } from './errors';
declare const role: unique symbol;
type KeyRole<R extends string> = Uint8Array & { readonly [role]: R };

/** Ed25519 private seed (32 bytes): signs key bundles, records, manifests, grants. */
export type IdentityPrivateKey = KeyRole<'IdentityPrivateKey'>;
/** Ed25519 public key (32 bytes). */
export type IdentityPublicKey = KeyRole<'IdentityPublicKey'>;
/** X25519 private key (32 bytes): HPKE recipient of member wraps. */
export type EncryptionPrivateKey = KeyRole<'EncryptionPrivateKey'>;
/** X25519 public key (32 bytes). */
export type EncryptionPublicKey = KeyRole<'EncryptionPublicKey'>;
/** Symmetric key of an account: re-seals folder keys already opened. */
export type AccountKey = KeyRole<'AccountKey'>;
/** Symmetric folder key of one epoch. */
export type FolderKey = KeyRole<'FolderKey'>;
/** Symmetric data key of one record version. */
export type DataKey = KeyRole<'DataKey'>;
/** Key derived from the password; seals the keyring. Never sent. */
export type KeyringKey = KeyRole<'KeyringKey'>;
/** Key derived from the password; sent to the relay, which stores only its hash. */
export type AuthKey = KeyRole<'AuthKey'>;
/** X25519 private key of a support grant. */
export type GrantPrivateKey = KeyRole<'GrantPrivateKey'>;
/** X25519 public key of a support grant. */
export type GrantPublicKey = KeyRole<'GrantPublicKey'>;
/** 32-byte invite secret; lives only in a URL fragment or QR code. */
export type InviteSecret = KeyRole<'InviteSecret'>;

/** Brands raw bytes as a key role after checking its length. Internal to the package. */
export function asKey<K extends KeyRole<string>>(bytes: Uint8Array, length = 32): K {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw invalidArgument('key', `${length} bytes`);
  }
  return bytes as K;
}

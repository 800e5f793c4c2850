/**
 * The keyring: an account's private keys and account key, sealed for storage on the relay.
 *
 * Two sealed copies exist: one under the password-derived `keyringKey` (KIND.KEYRING_PASSWORD)
 * and one under the recovery-code key (KIND.KEYRING_RECOVERY, see recovery.ts). Both seal the
 * same plaintext in a key-committing envelope bound to the account id.
 *
 * The password copy carries its KDF parameters in the clear, so a client can check them
 * against the floor and against the last parameters it saw *before* spending a second on
 * Argon2id; the same parameters are bound into the envelope's associated data, so a relay
 * that edits them makes the keyring fail to open (`INTEGRITY`).
 *
 * A wrong key and a tampered keyring both give `INTEGRITY`; telling the user "wrong
 * password" is the SDK's decision, not this layer's.
 */
import { concatBytes, fromBase64url, toBase64url, toHex } from './bytes';
import { CarnetError, integrityError, invalidArgument } from './errors';
import { parseId, type AccountId } from './ids';
import type { KeyringKey } from './keys';
import { accountSecretsFromPrivate, type AccountSecrets } from './account';
import type { ObjectContext } from './context';
import { openEnvelope, sealEnvelope } from './envelope';
import { assertKdfFloor, encodeKdfParams, readKdfParams, type KdfParams } from './kdf';
import { checkPrefix, FORMAT, KIND } from './registry';

/** Version byte of the keyring plaintext. */
const PLAINTEXT_V1 = 0x01;
/** version ‖ account id (16) ‖ identity seed (32) ‖ encryption private key (32) ‖ account key (32). */
export const KEYRING_PLAINTEXT_LENGTH = 1 + 16 + 32 + 32 + 32;

/** Keyring kinds. */
export type KeyringKind = typeof KIND.KEYRING_PASSWORD | typeof KIND.KEYRING_RECOVERY;

/** Encodes the keyring plaintext. Internal to the package. */
export function encodeKeyringPlaintext(secrets: AccountSecrets, accountId: AccountId): Uint8Array {
  const parts = [
    secrets.identityPrivateKey,
    secrets.encryptionPrivateKey,
    secrets.accountKey,
  ] as const;
  for (const p of parts) {
    if (!(p instanceof Uint8Array) || p.length !== 32)
      throw invalidArgument('secrets', '32-byte keys');
  }
  return concatBytes(new Uint8Array([PLAINTEXT_V1]), fromBase64url(accountId), ...parts);
}

/**
 * Decodes an opened keyring plaintext and recomputes the public keys. The plaintext buffer is
 * wiped. Throws `FORMAT` on a malformed plaintext and `INTEGRITY` if it names another account.
 */
export async function decodeKeyringPlaintext(
  plaintext: Uint8Array,
  accountId: AccountId,
): Promise<AccountSecrets> {
  try {
    if (plaintext.length !== KEYRING_PLAINTEXT_LENGTH || plaintext[0] !== PLAINTEXT_V1) {
      throw new CarnetError('FORMAT', 'Malformed keyring.');
    }
    // The AD already binds the account id; this second check costs nothing.
    if (toBase64url(plaintext.subarray(1, 17)) !== accountId) throw integrityError();
    return await accountSecretsFromPrivate(
      plaintext.slice(17, 49),
      plaintext.slice(49, 81),
      plaintext.slice(81, 113),
    );
  } finally {
    plaintext.fill(0);
  }
}

function checkAccountId(accountId: AccountId): void {
  parseId<AccountId>(accountId, 'accountId');
}

/** Envelope context of a keyring. Internal to the package. */
export function keyringContext(kind: KeyringKind, accountId: AccountId, extra = ''): ObjectContext {
  const label = kind === KIND.KEYRING_PASSWORD ? `keyring/password${extra}` : 'keyring/recovery';
  return { accountId, label };
}

function passwordContext(accountId: AccountId, encodedParams: Uint8Array): ObjectContext {
  return keyringContext(KIND.KEYRING_PASSWORD, accountId, ` kdf=${toHex(encodedParams)}`);
}

/**
 * Seals the keyring under the password-derived key. `params` are the ones `keyringKey` was
 * derived with; they must meet the floor (`KDF_TOO_WEAK`). Layout:
 * `format ‖ kind ‖ KDF params ‖ envelope` (docs/protocol-parts/20-accounts-keyring.md).
 */
export function sealKeyringWithPassword(
  secrets: AccountSecrets,
  keyringKey: KeyringKey,
  params: KdfParams,
  accountId: AccountId,
): Uint8Array {
  checkAccountId(accountId);
  assertKdfFloor(params);
  const encodedParams = encodeKdfParams(params);
  const plaintext = encodeKeyringPlaintext(secrets, accountId);
  try {
    const envelope = sealEnvelope(
      KIND.KEYRING_PASSWORD,
      keyringKey,
      plaintext,
      passwordContext(accountId, encodedParams),
    );
    return concatBytes(new Uint8Array([FORMAT.V1, KIND.KEYRING_PASSWORD]), encodedParams, envelope);
  } finally {
    plaintext.fill(0);
  }
}

/** Splits a password-sealed keyring into its parameters and envelope. */
function splitPasswordKeyring(sealed: Uint8Array): {
  params: KdfParams;
  encodedParams: Uint8Array;
  envelope: Uint8Array;
} {
  if (!(sealed instanceof Uint8Array)) throw invalidArgument('sealed', 'bytes');
  checkPrefix(sealed, KIND.KEYRING_PASSWORD);
  const { params, length } = readKdfParams(sealed, 2);
  return {
    params,
    encodedParams: sealed.subarray(2, 2 + length),
    envelope: sealed.subarray(2 + length),
  };
}

/**
 * The KDF parameters in a password-sealed keyring's clear prefix, so that the client can run
 * `assertKdfNotWeaker` before deriving. Structure errors: `TRUNCATED`, `DOWNGRADE`, `FORMAT`,
 * `CONTEXT_MISMATCH`.
 */
export function readKeyringKdfParams(sealed: Uint8Array): KdfParams {
  return splitPasswordKeyring(sealed).params;
}

/**
 * Opens a password-sealed keyring. Throws `KDF_TOO_WEAK` if its parameters are below the
 * floor, `INTEGRITY` for a wrong key, another account or any edited byte (parameters
 * included), and the structure errors of {@link readKeyringKdfParams}.
 */
export async function openKeyringWithPassword(
  sealed: Uint8Array,
  keyringKey: KeyringKey,
  accountId: AccountId,
): Promise<AccountSecrets> {
  checkAccountId(accountId);
  const { params, encodedParams, envelope } = splitPasswordKeyring(sealed);
  assertKdfFloor(params);
  const plaintext = openEnvelope(
    KIND.KEYRING_PASSWORD,
    keyringKey,
    envelope,
    passwordContext(accountId, encodedParams),
  );
  return decodeKeyringPlaintext(plaintext, accountId);
}

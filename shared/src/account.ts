/**
 * Account keys and the public key bundle.
 *
 * An account has an Ed25519 identity key (signs), an X25519 encryption key (HPKE recipient)
 * and a random symmetric account key. Its public keys are published in the relay's directory
 * as a *key bundle* signed by the identity key. The bundle is public, so it carries no name:
 * only the account id, the role, the two public keys and the creation time.
 *
 * A valid self-signature proves only that the bundle's author holds the identity key; it says
 * nothing about *who* that is. Binding a bundle to a person is the job of the safety code and
 * of pinning (safety-code.ts, pinning.ts).
 */
import {
  concatBytes,
  equalBytes,
  fromBase64url,
  lp,
  readU64,
  toBase64url,
  u64,
  utf8,
} from './bytes';
import { CarnetError, invalidArgument } from './errors';
import { parseId, type AccountId } from './ids';
import {
  asKey,
  type AccountKey,
  type EncryptionPrivateKey,
  type EncryptionPublicKey,
  type IdentityPrivateKey,
  type IdentityPublicKey,
} from './keys';
import { ed25519Keygen, ed25519PublicKey, ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { randomBytes } from './primitives/random';
import { x25519Keygen, x25519PublicKey } from './primitives/x25519';
import { checkPrefix, FORMAT, KIND, type FormatByte } from './registry';

/** Role bytes of the key bundle. Numbers are never reused. */
export const ROLE = {
  practitioner: 0x01,
  patient: 0x02,
  support: 0x03,
} as const;

/** Role of an account. */
export type Role = keyof typeof ROLE;

const ROLE_BY_BYTE = new Map<number, Role>(
  (Object.entries(ROLE) as [Role, number][]).map(([r, b]) => [b, r]),
);

/** Every secret of an account, as held in the keyring (public halves recomputed on open). */
export interface AccountSecrets {
  identityPrivateKey: IdentityPrivateKey;
  identityPublicKey: IdentityPublicKey;
  encryptionPrivateKey: EncryptionPrivateKey;
  encryptionPublicKey: EncryptionPublicKey;
  accountKey: AccountKey;
}

/** Fresh keys for a new account. */
export async function generateAccountKeys(): Promise<AccountSecrets> {
  const identity = await ed25519Keygen();
  const encryption = await x25519Keygen();
  return {
    identityPrivateKey: asKey<IdentityPrivateKey>(identity.privateKey),
    identityPublicKey: asKey<IdentityPublicKey>(identity.publicKey),
    encryptionPrivateKey: asKey<EncryptionPrivateKey>(encryption.privateKey),
    encryptionPublicKey: asKey<EncryptionPublicKey>(encryption.publicKey),
    accountKey: asKey<AccountKey>(randomBytes(32)),
  };
}

/**
 * Rebuilds {@link AccountSecrets} from the three private values (public halves recomputed),
 * as the keyring stores them.
 */
export async function accountSecretsFromPrivate(
  identityPrivateKey: Uint8Array,
  encryptionPrivateKey: Uint8Array,
  accountKey: Uint8Array,
): Promise<AccountSecrets> {
  const idPriv = asKey<IdentityPrivateKey>(identityPrivateKey);
  const encPriv = asKey<EncryptionPrivateKey>(encryptionPrivateKey);
  return {
    identityPrivateKey: idPriv,
    identityPublicKey: asKey<IdentityPublicKey>(await ed25519PublicKey(idPriv)),
    encryptionPrivateKey: encPriv,
    encryptionPublicKey: asKey<EncryptionPublicKey>(await x25519PublicKey(encPriv)),
    accountKey: asKey<AccountKey>(accountKey),
  };
}

declare const verified: unique symbol;

/**
 * A key bundle whose signature was checked by {@link verifyKeyBundle} (the only producer of
 * this type, so holding one means it was verified).
 */
export interface KeyBundle {
  readonly format: FormatByte;
  readonly accountId: AccountId;
  readonly role: Role;
  /** Creation time, milliseconds since the Unix epoch. */
  readonly createdAt: number;
  readonly identityPublicKey: IdentityPublicKey;
  readonly encryptionPublicKey: EncryptionPublicKey;
  /** The exact signed encoding, for re-publication and fingerprinting. */
  readonly bytes: Uint8Array;
  readonly [verified]: true;
}

/** The fields of a bundle parsed from bytes, signature not yet checked. Internal. */
export type UnverifiedKeyBundle = Omit<KeyBundle, typeof verified> & { signature: Uint8Array };

/** Byte offsets of the v1 bundle (documented in docs/protocol-parts/20-accounts-keyring.md). */
const OFF = { accountId: 2, role: 18, createdAt: 19, identity: 27, encryption: 59, signature: 91 };
/** Length of a v1 key bundle. */
export const KEY_BUNDLE_LENGTH = 155;

/** Domain string prefixed (length-prefixed) to the signed bytes. */
export const KEY_BUNDLE_SIGNATURE_DOMAIN = 'carnet/v1/key-bundle/signature';

function signedMessage(body: Uint8Array): Uint8Array {
  return concatBytes(lp(utf8(KEY_BUNDLE_SIGNATURE_DOMAIN)), body);
}

/** Options of {@link createKeyBundle}. */
export interface KeyBundleOptions {
  accountId: AccountId;
  role: Role;
  /** Milliseconds since the Unix epoch. */
  createdAt: number;
}

/** Encodes and signs the public key bundle of an account. */
export async function createKeyBundle(
  secrets: AccountSecrets,
  { accountId, role, createdAt }: KeyBundleOptions,
): Promise<Uint8Array> {
  if (typeof role !== 'string' || !Object.hasOwn(ROLE, role)) {
    throw invalidArgument('role', 'practitioner, patient or support');
  }
  const roleByte = ROLE[role];
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) {
    throw invalidArgument('createdAt', 'a non-negative integer (ms)');
  }
  const idPub = asKey<IdentityPublicKey>(secrets.identityPublicKey);
  const encPub = asKey<EncryptionPublicKey>(secrets.encryptionPublicKey);
  if (!equalBytes(await x25519PublicKey(secrets.encryptionPrivateKey), encPub)) {
    throw invalidArgument('secrets', 'a matching, valid key set');
  }
  const body = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.KEY_BUNDLE]),
    fromBase64url(parseId<AccountId>(accountId, 'accountId')),
    new Uint8Array([roleByte]),
    u64(createdAt),
    idPub,
    encPub,
  );
  const signature = await ed25519Sign(secrets.identityPrivateKey, signedMessage(body));
  const bundle = concatBytes(body, signature);
  // Publishing a bundle nobody can verify (mismatched halves, a weak key) would lock the
  // account out of every share; sign-up is rare, so check once here.
  try {
    await verifyKeyBundle(bundle, accountId);
  } catch (e) {
    throw new CarnetError('INVALID_ARGUMENT', '"secrets" must be a matching, valid key set', {
      cause: e,
    });
  }
  return bundle;
}

/**
 * Parses the structure of a bundle without checking its signature. Throws `TRUNCATED`,
 * `DOWNGRADE`, `FORMAT` or `CONTEXT_MISMATCH` (wrong kind).
 */
export function parseKeyBundle(bytes: Uint8Array): UnverifiedKeyBundle {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bundle', 'bytes');
  const format = checkPrefix(bytes, KIND.KEY_BUNDLE);
  if (bytes.length < KEY_BUNDLE_LENGTH) throw new CarnetError('TRUNCATED');
  if (bytes.length > KEY_BUNDLE_LENGTH)
    throw new CarnetError('FORMAT', 'Trailing bytes in key bundle.');
  const role = ROLE_BY_BYTE.get(bytes[OFF.role] as number);
  if (role === undefined) throw new CarnetError('FORMAT', 'Unknown role in key bundle.');
  const createdAt = readU64(bytes, OFF.createdAt);
  if (createdAt === undefined) throw new CarnetError('FORMAT', 'Creation time out of range.');
  const copy = bytes.slice();
  return {
    format,
    accountId: toBase64url(copy.subarray(OFF.accountId, OFF.role)) as AccountId,
    role,
    createdAt,
    identityPublicKey: copy.slice(OFF.identity, OFF.encryption) as IdentityPublicKey,
    encryptionPublicKey: copy.slice(OFF.encryption, OFF.signature) as EncryptionPublicKey,
    signature: copy.slice(OFF.signature),
    bytes: copy,
  };
}

/**
 * Verifies a key bundle: structure, self-signature, key sanity and, if given, the account id.
 * Throws `KEY_UNVERIFIED` for a bad signature, a weak key or another account's bundle, and the
 * structural errors of {@link parseKeyBundle}.
 */
export async function verifyKeyBundle(
  bytes: Uint8Array,
  expectedAccountId?: AccountId,
): Promise<KeyBundle> {
  const parsed = parseKeyBundle(bytes);
  // Small-order or non-canonical identity keys are refused by ed25519Verify itself (both
  // backends); the encryption key is checked here, where nothing else would.
  if (isLowOrderX25519(parsed.encryptionPublicKey)) throw new CarnetError('KEY_UNVERIFIED');
  let ok: boolean;
  try {
    const body = parsed.bytes.subarray(0, OFF.signature);
    ok = await ed25519Verify(parsed.identityPublicKey, signedMessage(body), parsed.signature);
  } catch (e) {
    throw new CarnetError('KEY_UNVERIFIED', undefined, { cause: e });
  }
  if (!ok) throw new CarnetError('KEY_UNVERIFIED');
  if (expectedAccountId !== undefined && parsed.accountId !== expectedAccountId) {
    throw new CarnetError('KEY_UNVERIFIED', 'The key bundle belongs to another account.');
  }
  const { signature: _signature, ...bundle } = parsed;
  return bundle as KeyBundle;
}

const P25519 = 2n ** 255n - 19n;
/** u-coordinates of the points of order 1, 2, 4 and 8 on Curve25519 (mod p). */
const LOW_ORDER_U = new Set<bigint>([
  0n,
  1n,
  P25519 - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
]);

/**
 * True for an X25519 public key of low order (any encoding: X25519 ignores the top bit and
 * reduces mod p), whose shared secret with anyone is all zeroes.
 */
export function isLowOrderX25519(pub: Uint8Array): boolean {
  let u = 0n;
  for (let i = pub.length - 1; i >= 0; i--) u = (u << 8n) | BigInt(pub[i] as number);
  u &= (1n << 255n) - 1n;
  return LOW_ORDER_U.has(u % P25519);
}

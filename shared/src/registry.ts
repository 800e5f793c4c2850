/**
 * The one registry of format and kind bytes. Every binary object Carnet writes starts with
 * `[format, kind]`. Numbers are never reused: a retired kind stays listed as retired.
 *
 * The client accepts only the formats in {@link ACCEPTED_FORMATS}; anything older than
 * {@link MIN_FORMAT} is a `DOWNGRADE`, anything unknown a `FORMAT` error.
 */
import { CarnetError } from './errors';

/** Format (version) bytes. */
export const FORMAT = {
  V1: 0x01,
} as const;

/** A format byte. */
export type FormatByte = (typeof FORMAT)[keyof typeof FORMAT];

/** The lowest format the client still accepts. */
export const MIN_FORMAT: FormatByte = FORMAT.V1;

/** Formats the client accepts (the allow-list). */
export const ACCEPTED_FORMATS: readonly FormatByte[] = [FORMAT.V1];

/** Kind bytes: what an object is. Never reuse a number. */
export const KIND = {
  /** Public key bundle of an account, signed by its identity key. */
  KEY_BUNDLE: 0x01,
  /** Keyring sealed under the password-derived key. */
  KEYRING_PASSWORD: 0x02,
  /** Keyring sealed under the recovery-code key. */
  KEYRING_RECOVERY: 0x03,
  /** A folder key re-sealed under the account key. */
  ACCOUNT_FOLDER_KEY: 0x04,
  /** A folder key HPKE-wrapped to a member. */
  MEMBER_WRAP: 0x05,
  /** Folder key of epoch e-1 sealed under the folder key of epoch e. */
  LINEAGE: 0x06,
  /** A record version's data key sealed under a folder key. */
  DATA_KEY: 0x07,
  /** Encrypted record header (title, kind, structured content, file name, MIME type…). */
  RECORD_HEADER: 0x08,
  /** Chunked, padded file body. */
  FILE_STREAM: 0x09,
  /** Encrypted patient profile of a folder. */
  FOLDER_PROFILE: 0x0a,
  /** Signed record version. */
  RECORD_VERSION: 0x0b,
  /** Signed folder manifest. */
  MANIFEST: 0x0c,
  /** Signed support grant. */
  GRANT: 0x0d,
  /** A folder key or data key HPKE-wrapped to a grant key. */
  GRANT_KEY_WRAP: 0x0e,
  /** A grant's private key HPKE-wrapped to the support agent. */
  GRANT_PRIVATE_WRAP: 0x0f,
  /** A folder key sealed under an invite secret. */
  INVITE_FOLDER_KEY: 0x10,
  /** The invited patient's key bundle, MACed under the invite secret. */
  INVITE_RESPONSE: 0x11,
  /**
   * Client-signed audit event: an action byte (viewed, exported) signed by the member or agent
   * who did it, kept verbatim in the audit chain.
   */
  AUDIT_VIEWED: 0x12,
  /** An item staged by a support agent under an import grant, signed by the agent. */
  IMPORT_ITEM: 0x13,
  /** The data key of a staged import item, HPKE-wrapped to the practitioner. */
  IMPORT_KEY_WRAP: 0x14,
  /** Deletion receipt, signed by the relay's own key. */
  DELETION_RECEIPT: 0x15,
  /** Hash-chain encoding of one relay audit event (hashed, never stored as such). */
  AUDIT_EVENT: 0x16,
  /** Encrypted header of a staged import item, sealed under the item's data key. */
  IMPORT_HEADER: 0x17,
} as const;

/** A kind byte. */
export type KindByte = (typeof KIND)[keyof typeof KIND];

const KIND_VALUES = new Set<number>(Object.values(KIND));

/**
 * Checks the `[format, kind]` prefix of `obj` against the allow-list and the expected kind.
 * Throws `TRUNCATED`, `DOWNGRADE`, `FORMAT` or `CONTEXT_MISMATCH`.
 */
export function checkPrefix(obj: Uint8Array, expectedKind: KindByte): FormatByte {
  if (obj.length < 2) throw new CarnetError('TRUNCATED');
  const format = obj[0] as number;
  const kind = obj[1] as number;
  if (format < MIN_FORMAT) throw new CarnetError('DOWNGRADE');
  if (!(ACCEPTED_FORMATS as readonly number[]).includes(format)) {
    throw new CarnetError('FORMAT', `Unknown format byte 0x${format.toString(16)}.`);
  }
  if (!KIND_VALUES.has(kind))
    throw new CarnetError('FORMAT', `Unknown kind byte 0x${kind.toString(16)}.`);
  if (kind !== expectedKind) throw new CarnetError('CONTEXT_MISMATCH');
  return format as FormatByte;
}

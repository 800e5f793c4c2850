/**
 * Deletion receipts: what the relay signs, with its own Ed25519 key, when it deletes a folder
 * or an account — who asked, when, and how much it erased.
 *
 * A receipt is a statement, not a proof: the relay could sign and keep a copy. What it gives the
 * practitioner is accountability — a signed, dated claim by a known relay key (pinned on first
 * use, shown as {@link relayKeyFingerprint}) that can be held against its operator.
 */
import { concatBytes, u64 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { AccountId } from './ids';
import type { IdentityPrivateKey, IdentityPublicKey } from './keys';
import { encodeObjectId, readSigned, signatureMessage, SIGNATURE_LEN } from './object-codec';
import { ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { FORMAT, KIND } from './registry';

/** What was deleted. */
export type DeletionSubject = 'folder' | 'account';

/** Subject bytes of receipts. Numbers are never reused. */
export const DELETION_SUBJECT = {
  folder: 0x01,
  account: 0x02,
} as const satisfies Record<DeletionSubject, number>;

/** How much the relay erased. Every count is a safe non-negative integer. */
export interface DeletionCounts {
  folders: number;
  records: number;
  versions: number;
  blobs: number;
  /** Bytes of blob files removed. */
  bytes: number;
  members: number;
  grants: number;
  auditEvents: number;
}

/** The signed content of a deletion receipt. */
export interface DeletionReceiptFields {
  subject: DeletionSubject;
  /** The folder id or account id deleted. */
  subjectId: string;
  /** The account that asked. */
  requestedBy: AccountId;
  /** Milliseconds since the Unix epoch, by the relay's clock. */
  at: number;
  counts: DeletionCounts;
}

/** Domain string of receipt signatures. */
export const DELETION_RECEIPT_SIGNATURE_DOMAIN = 'carnet/v1/receipt/deletion';

/** Count fields, in encoding order. Never reorder: the order is part of the v1 format. */
export const DELETION_COUNT_FIELDS = [
  'folders',
  'records',
  'versions',
  'blobs',
  'bytes',
  'members',
  'grants',
  'auditEvents',
] as const satisfies readonly (keyof DeletionCounts)[];

/** Length of a signed deletion receipt. */
export const DELETION_RECEIPT_LEN =
  2 + 1 + 16 + 16 + 8 + 8 * DELETION_COUNT_FIELDS.length + SIGNATURE_LEN;

const SUBJECT_BY_BYTE = new Map<number, DeletionSubject>(
  (Object.entries(DELETION_SUBJECT) as [DeletionSubject, number][]).map(([s, b]) => [b, s]),
);
type Fail = (field: string, expected: string) => CarnetError;
const receiptFormat: Fail = (f, e) =>
  new CarnetError('FORMAT', `The deletion receipt's "${f}" must be ${e}.`);

/**
 * Signs a deletion receipt with the relay's key. Layout (fixed, 171 bytes):
 * `01 15 | subject u8 (1 folder, 2 account) | subjectId 16 | requestedBy 16 | at u64 |
 * folders u64 | records u64 | versions u64 | blobs u64 | bytes u64 | members u64 | grants u64 |
 * auditEvents u64 | signature 64`, the signature covering
 * `lp(DELETION_RECEIPT_SIGNATURE_DOMAIN) ‖ every byte before it`. `INVALID_ARGUMENT` for a
 * malformed field.
 */
export async function signDeletionReceipt(
  relaySeed: IdentityPrivateKey,
  f: DeletionReceiptFields,
): Promise<Uint8Array> {
  checkFields(f, (field, e) => invalidArgument(field, e));
  const tbs = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.DELETION_RECEIPT, DELETION_SUBJECT[f.subject]]),
    encodeObjectId(f.subjectId, 'subjectId'),
    encodeObjectId(f.requestedBy, 'requestedBy'),
    u64(f.at),
    ...DELETION_COUNT_FIELDS.map((k) => u64(f.counts[k])),
  );
  return concatBytes(
    tbs,
    await ed25519Sign(relaySeed, signatureMessage(DELETION_RECEIPT_SIGNATURE_DOMAIN, tbs)),
  );
}

/**
 * Parses a receipt's structure without checking its signature (for display of a receipt whose
 * relay key is unknown). `TRUNCATED` / `DOWNGRADE` / `FORMAT` / `CONTEXT_MISMATCH`.
 */
export function inspectDeletionReceipt(bytes: Uint8Array): DeletionReceiptFields {
  return parseReceipt(bytes).fields;
}

/** What the requester expects a receipt to say; each given field is checked. */
export type DeletionReceiptExpectation = Partial<
  Pick<DeletionReceiptFields, 'subject' | 'subjectId' | 'requestedBy'>
>;

/**
 * Verifies a receipt under the relay's pinned key. Structure errors as in
 * {@link inspectDeletionReceipt}; `INTEGRITY` if the signature does not verify (tampered, forged,
 * or signed by another relay key); `CONTEXT_MISMATCH` for a receipt about another subject or
 * requester than `expected`.
 */
export async function verifyDeletionReceipt(
  relayPub: IdentityPublicKey,
  bytes: Uint8Array,
  expected: DeletionReceiptExpectation = {},
): Promise<DeletionReceiptFields> {
  const { fields, tbs, signature } = parseReceipt(bytes);
  if (
    !(await ed25519Verify(
      relayPub,
      signatureMessage(DELETION_RECEIPT_SIGNATURE_DOMAIN, tbs),
      signature,
    ))
  ) {
    throw new CarnetError('INTEGRITY');
  }
  for (const k of ['subject', 'subjectId', 'requestedBy'] as const) {
    if (expected[k] !== undefined && expected[k] !== fields[k])
      throw new CarnetError('CONTEXT_MISMATCH');
  }
  return fields;
}

function parseReceipt(bytes: Uint8Array): {
  fields: DeletionReceiptFields;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const { reader, tbs, signature } = readSigned(bytes, KIND.DELETION_RECEIPT, DELETION_RECEIPT_LEN);
  const subject = SUBJECT_BY_BYTE.get(reader.u8());
  if (subject === undefined) throw receiptFormat('subject', 'folder or account');
  const subjectId = reader.id<AccountId>() as string;
  const requestedBy = reader.id<AccountId>();
  const at = reader.u64();
  const counts = {} as DeletionCounts;
  for (const k of DELETION_COUNT_FIELDS) counts[k] = reader.u64();
  reader.end();
  const fields: DeletionReceiptFields = { subject, subjectId, requestedBy, at, counts };
  checkFields(fields, receiptFormat);
  return { fields, tbs, signature };
}

function checkFields(f: DeletionReceiptFields, fail: Fail): void {
  if (typeof f !== 'object' || f === null) throw fail('fields', 'an object');
  if (!Object.hasOwn(DELETION_SUBJECT, f.subject)) throw fail('subject', 'folder or account');
  for (const k of ['subjectId', 'requestedBy'] as const) {
    try {
      encodeObjectId(f[k], k);
    } catch {
      throw fail(k, 'a 22-character id');
    }
  }
  const count = (n: unknown): boolean => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!count(f.at)) throw fail('at', 'a safe non-negative integer (ms)');
  if (typeof f.counts !== 'object' || f.counts === null) throw fail('counts', 'an object');
  for (const k of DELETION_COUNT_FIELDS) {
    if (!count(f.counts[k])) throw fail(`counts.${k}`, 'a safe non-negative integer');
  }
  const extra = Object.keys(f.counts).find(
    (k) => !(DELETION_COUNT_FIELDS as readonly string[]).includes(k),
  );
  if (extra !== undefined) throw fail(`counts.${extra}`, 'absent (unknown field)');
}

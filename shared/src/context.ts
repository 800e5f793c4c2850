/**
 * The canonical associated-data (AD) encoding shared by every Carnet format. Binding the
 * object's place (folder, record, version, epoch, account, grant) into the AD is what turns a
 * relay's swap of two ciphertexts into an `INTEGRITY` failure instead of a wrong record.
 *
 * Layout (see docs/protocol-parts/10-primitives-envelope-hpke.md):
 *
 *     "carnet/v1/ad" (12 bytes) ‖ format u8 ‖ kind u8 ‖ field*
 *     field = tag u8 ‖ length u32 BE ‖ value
 *
 * Fields appear in increasing tag order, each at most once; an absent field is omitted
 * entirely, so it is distinct from a present-but-empty one. Ids and labels are UTF-8, numbers
 * are u64 BE (length 8). The encoding is injective: it can be parsed back unambiguously.
 */
import { concatBytes, u32, u64, utf8 } from './bytes';
import { invalidArgument } from './errors';
import type { AccountId, FolderId, GrantId, RecordId } from './ids';
import { isId } from './ids';
import type { FormatByte, KindByte } from './registry';

/** Where an object belongs. Every field present when sealing must be present, equal, when opening. */
export interface ObjectContext {
  folderId?: FolderId;
  recordId?: RecordId;
  /** Record version number (non-negative safe integer). */
  version?: number;
  /** Folder key epoch (non-negative safe integer). */
  epoch?: number;
  accountId?: AccountId;
  grantId?: GrantId;
  /** Free-form purpose label, e.g. a sub-object name; UTF-8, must be well-formed. */
  label?: string;
}

/** Domain-separation prefix of every AD. */
export const AD_DOMAIN = 'carnet/v1/ad';

/** Field tags, in encoding order. Never renumber: tags are part of the v1 format. */
export const AD_TAG = {
  folderId: 0x01,
  recordId: 0x02,
  version: 0x03,
  epoch: 0x04,
  accountId: 0x05,
  grantId: 0x06,
  label: 0x07,
} as const satisfies Record<keyof ObjectContext, number>;

type Field = keyof ObjectContext;
const FIELDS = Object.keys(AD_TAG) as Field[];
const ID_FIELDS: ReadonlySet<Field> = new Set<Field>([
  'folderId',
  'recordId',
  'accountId',
  'grantId',
]);
const NUMBER_FIELDS: ReadonlySet<Field> = new Set<Field>(['version', 'epoch']);
// A lone surrogate would be replaced by U+FFFD by TextEncoder, so two different strings would
// encode alike; refusing them keeps the encoding injective.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DOMAIN_BYTES = utf8(AD_DOMAIN);

function encodeValue(field: Field, value: unknown): Uint8Array {
  if (NUMBER_FIELDS.has(field)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw invalidArgument(field, 'a non-negative safe integer');
    }
    return u64(value);
  }
  if (typeof value !== 'string') throw invalidArgument(field, 'a string');
  if (ID_FIELDS.has(field) && !isId(value)) throw invalidArgument(field, 'a 22-character id');
  if (LONE_SURROGATE.test(value)) throw invalidArgument(field, 'well-formed Unicode');
  return utf8(value);
}

/**
 * Encodes `(format, kind, ctx)` as associated data. Unknown keys in `ctx` are refused rather
 * than ignored, so that a misspelt field cannot silently drop out of the binding.
 */
export function encodeAssociatedData(
  format: FormatByte,
  kind: KindByte,
  ctx: ObjectContext,
): Uint8Array {
  if (!Number.isInteger(format) || format < 0 || format > 0xff)
    throw invalidArgument('format', 'a byte');
  if (!Number.isInteger(kind) || kind < 0 || kind > 0xff) throw invalidArgument('kind', 'a byte');
  if (typeof ctx !== 'object' || ctx === null) throw invalidArgument('ctx', 'an object');
  for (const key of Object.keys(ctx)) {
    if (!Object.prototype.hasOwnProperty.call(AD_TAG, key))
      throw invalidArgument('ctx', `free of unknown field "${key}"`);
  }
  const parts: Uint8Array[] = [DOMAIN_BYTES, new Uint8Array([format, kind])];
  for (const field of FIELDS) {
    const value: unknown = ctx[field];
    // `undefined` counts as absent: `{ epoch: undefined }` and `{}` are the same context.
    if (value === undefined) continue;
    const bytes = encodeValue(field, value);
    parts.push(new Uint8Array([AD_TAG[field]]), u32(bytes.length), bytes);
  }
  return concatBytes(...parts);
}

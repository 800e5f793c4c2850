/**
 * Binary reading and writing helpers for the signed and MACed objects of folders, records,
 * manifests, grants and invites. Internal to the package.
 *
 * Every reader error is typed: a buffer that ends early is `TRUNCATED`, bytes left over or a
 * field out of range are `FORMAT`. Ids travel as their 16 raw bytes, never as text, so each
 * object has exactly one encoding.
 */
import { concatBytes, fromBase64url, lp, readU64, toBase64url, utf8 } from './bytes';
import { CarnetError, type CarnetErrorCode } from './errors';
import type { AccountId, FolderId, GrantId, RecordId } from './ids';
import { parseId } from './ids';
import { checkPrefix, type KindByte } from './registry';

/** Length of an Ed25519 signature. */
export const SIGNATURE_LEN = 64;
/** Length of an id in binary objects. */
export const ID_LEN = 16;

type AnyId = AccountId | FolderId | RecordId | GrantId;

/** The 16 raw bytes of an id; `INVALID_ARGUMENT` naming `param` if it is not a valid id. */
export function encodeObjectId(id: string, param: string): Uint8Array {
  return fromBase64url(parseId<AnyId>(id, param));
}

/** Sequential reader over one object. */
export class ByteReader {
  private off: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
  ) {
    this.off = start;
  }

  /** Bytes not read yet. */
  get remaining(): number {
    return this.bytes.length - this.off;
  }

  /** Offset of the next byte. */
  get offset(): number {
    return this.off;
  }

  /** The next `n` bytes (a copy, so callers may keep it). */
  take(n: number): Uint8Array {
    if (this.remaining < n) throw new CarnetError('TRUNCATED');
    // `Uint8Array.prototype.slice` on purpose: a Node `Buffer`'s own `slice` returns a view
    // into its shared pool, which is neither a copy nor safe to read through `.buffer`.
    const out = Uint8Array.prototype.slice.call(this.bytes, this.off, this.off + n);
    this.off += n;
    return out;
  }

  u8(): number {
    return this.take(1)[0] as number;
  }

  u16(): number {
    const b = this.take(2);
    return ((b[0] as number) << 8) | (b[1] as number);
  }

  u32(): number {
    const b = this.take(4);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, false);
  }

  /** A u64 that must fit a safe JS integer, else `FORMAT`. */
  u64(): number {
    const n = readU64(this.take(8), 0);
    if (n === undefined) throw new CarnetError('FORMAT', 'A 64-bit field is out of range.');
    return n;
  }

  /** A 16-byte id, returned in its 22-character text form. */
  id<T extends AnyId>(): T {
    return toBase64url(this.take(ID_LEN)) as T;
  }

  /** Fails with `FORMAT` if any byte is left. */
  end(): void {
    if (this.remaining !== 0) throw new CarnetError('FORMAT', 'Unexpected bytes after the object.');
  }

  /**
   * Splits off a trailing signature: exactly {@link SIGNATURE_LEN} bytes must remain. Fewer is
   * `missing` (the caller's "unsigned" code), more is `FORMAT`.
   */
  signatureTail(missing: CarnetErrorCode): { tbs: Uint8Array; signature: Uint8Array } {
    if (this.remaining < SIGNATURE_LEN) throw new CarnetError(missing);
    if (this.remaining > SIGNATURE_LEN)
      throw new CarnetError('FORMAT', 'Unexpected bytes after the object.');
    return { tbs: this.bytes.subarray(0, this.off), signature: this.bytes.slice(this.off) };
  }
}

/** Checks the prefix of `bytes` and returns a reader positioned after it. */
export function readerFor(bytes: Uint8Array, kind: KindByte): ByteReader {
  if (!(bytes instanceof Uint8Array))
    throw new CarnetError('FORMAT', 'The object is not a byte array.');
  checkPrefix(bytes, kind);
  return new ByteReader(bytes, 2);
}

/**
 * Splits a fixed-length signed object: `TRUNCATED` if shorter than `length`, `FORMAT` if longer.
 * The returned reader covers the part to be signed, after the prefix.
 */
export function readSigned(
  bytes: Uint8Array,
  kind: KindByte,
  length: number,
): { reader: ByteReader; tbs: Uint8Array; signature: Uint8Array } {
  readerFor(bytes, kind);
  if (bytes.length < length) throw new CarnetError('TRUNCATED');
  if (bytes.length > length) throw new CarnetError('FORMAT', 'Unexpected bytes after the object.');
  const tbs = bytes.subarray(0, length - SIGNATURE_LEN);
  return { reader: new ByteReader(tbs, 2), tbs, signature: bytes.slice(length - SIGNATURE_LEN) };
}

/** Is `n` an integer in 0..2³²−1? */
export function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

/** Lexicographic order of two byte arrays (for canonical sorting of ids). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/**
 * The message an Ed25519 signature of a signed object covers: `lp(domain) ‖ tbs`, where `tbs`
 * is every byte of the object before the signature. The domain string keeps a signature made
 * for one purpose from being valid for another, as the key bundle does.
 */
export function signatureMessage(domain: string, tbs: Uint8Array): Uint8Array {
  return concatBytes(lp(utf8(domain)), tbs);
}

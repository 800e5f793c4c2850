/**
 * Canonical, padded JSON: the plaintext of record headers and folder profiles.
 *
 *     plaintext = jsonLength u32 BE ‖ canonical JSON (UTF-8) ‖ zero bytes up to paddedLength
 *
 * Canonical JSON sorts object keys by UTF-16 code units and writes no whitespace (the RFC 8785
 * rules for the values Carnet stores), so one value has one encoding. Padding hides lengths: up
 * to 4 KiB every plaintext is rounded up to a multiple of 256 bytes (at least 256), so a
 * patient's name or a title leaks nothing but "short"; above that Padmé (`padme.ts`) bounds the leak to
 * about 12 %. Internal to the package.
 */
import { concatBytes, fromUtf8, u32, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import { padme } from './padme';

/** A JSON value. */
export type JsonValue =
  null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Padding bucket below which sizes are rounded to multiples of {@link PAD_BUCKET}. */
export const PAD_SMALL_LIMIT = 4096;
/** Size step, and smallest padded size, of small plaintexts. */
export const PAD_BUCKET = 256;
/** Largest JSON accepted in a header or profile (16 MiB): larger content belongs in a file. */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_DEPTH = 64;

/** The padded size of a plaintext of `n` bytes (see the module comment). */
export function paddedLength(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument('n', 'a safe non-negative integer');
  if (n <= PAD_SMALL_LIMIT) return Math.max(PAD_BUCKET, Math.ceil(n / PAD_BUCKET) * PAD_BUCKET);
  return padme(n);
}

/** Is `v` a JSON value made only of plain objects, arrays, finite numbers, strings, booleans, null? */
export function isJsonValue(v: unknown, depth = 0): v is JsonValue {
  if (depth > MAX_DEPTH) return false;
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every((x) => isJsonValue(x, depth + 1));
  if (typeof v !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(v).every((x) => isJsonValue(x, depth + 1));
}

/** Canonical JSON text of `v` (sorted keys, no whitespace). */
export function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] as JsonValue)}`).join(',')}}`;
}

/** Encodes `v` as canonical JSON, length-prefixed and zero-padded. */
export function encodePaddedJson(v: JsonValue): Uint8Array {
  if (!isJsonValue(v))
    throw invalidArgument('value', `a JSON value nested at most ${MAX_DEPTH} deep`);
  const json = utf8(canonicalJson(v));
  if (json.length > MAX_JSON_BYTES) throw invalidArgument('value', 'at most 16 MiB of JSON');
  const total = paddedLength(4 + json.length);
  return concatBytes(u32(json.length), json, new Uint8Array(total - 4 - json.length));
}

/**
 * Decodes what {@link encodePaddedJson} wrote. Anything else — a length past the end, non-zero
 * or non-canonical padding, invalid UTF-8 or JSON — is `FORMAT`: it decrypted correctly, so the
 * key holder who sealed it wrote a malformed object.
 */
export function decodePaddedJson(plain: Uint8Array): JsonValue {
  const bad = (): CarnetError => new CarnetError('FORMAT', 'The encrypted object is malformed.');
  if (plain.length < 4) throw bad();
  const len = new DataView(plain.buffer, plain.byteOffset, 4).getUint32(0, false);
  if (len > plain.length - 4 || len > MAX_JSON_BYTES || plain.length !== paddedLength(4 + len))
    throw bad();
  for (let i = 4 + len; i < plain.length; i++) if (plain[i] !== 0) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(plain.subarray(4, 4 + len)));
  } catch {
    throw bad();
  }
  if (!isJsonValue(v)) throw bad();
  return v;
}

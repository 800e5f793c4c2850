/**
 * Byte helpers shared by every format: concatenation, big-endian integers, constant-time
 * comparison, base64url and hex. Internal to the package.
 */
import { invalidArgument } from './errors';

/** Concatenates byte arrays into a fresh array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time equality of two byte arrays (length is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** Big-endian unsigned 16-bit integer. */
export function u16(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw invalidArgument('n', 'a u16');
  return new Uint8Array([n >>> 8, n & 0xff]);
}

/** Big-endian unsigned 32-bit integer. */
export function u32(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw invalidArgument('n', 'a u32');
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** Big-endian unsigned 64-bit integer from a safe JS integer. */
export function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument('n', 'a safe non-negative integer');
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, Math.floor(n / 2 ** 32), false);
  view.setUint32(4, n >>> 0, false);
  return out;
}

/** Reads a big-endian u64 as a safe JS integer, or returns undefined if it is not safe. */
export function readU64(b: Uint8Array, off: number): number | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const hi = view.getUint32(off, false);
  const lo = view.getUint32(off + 4, false);
  const n = hi * 2 ** 32 + lo;
  return Number.isSafeInteger(n) ? n : undefined;
}

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 encoding. */
export function utf8(s: string): Uint8Array {
  return te.encode(s);
}

/** Strict UTF-8 decoding (invalid sequences throw). */
export function fromUtf8(b: Uint8Array): string {
  return td.decode(b);
}

/** A length-prefixed (u32 BE) field, for unambiguous concatenation in signed and AD encodings. */
export function lp(b: Uint8Array): Uint8Array {
  return concatBytes(u32(b.length), b);
}

/** Lower-case hex. */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Parses lower- or upper-case hex. */
export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw invalidArgument('hex', 'hex digits');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map([...B64URL].map((c, i) => [c, i]));

/** Base64url without padding (RFC 4648 §5). */
export function toBase64url(b: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8) | (b[i + 2] as number);
    s += B64URL[n >>> 18]! + B64URL[(n >>> 12) & 63]! + B64URL[(n >>> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = (b[i] as number) << 16;
    s += B64URL[n >>> 18]! + B64URL[(n >>> 12) & 63]!;
  } else if (rest === 2) {
    const n = ((b[i] as number) << 16) | ((b[i + 1] as number) << 8);
    s += B64URL[n >>> 18]! + B64URL[(n >>> 12) & 63]! + B64URL[(n >>> 6) & 63]!;
  }
  return s;
}

/** Parses canonical base64url without padding; anything else throws `INVALID_ARGUMENT`. */
export function fromBase64url(s: string): Uint8Array {
  if (s.length % 4 === 1) throw invalidArgument('base64url', 'canonical base64url');
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of s) {
    const v = B64URL_INDEX.get(c);
    if (v === undefined) throw invalidArgument('base64url', 'base64url characters');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw invalidArgument('base64url', 'canonical base64url');
  return out;
}

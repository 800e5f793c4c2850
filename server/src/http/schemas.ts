/**
 * Schema building blocks shared by the routes: ids, opaque byte fields, user names, KDF
 * parameters. Every object schema is strict: an unknown field is refused, not ignored.
 */
import { z } from 'zod';
import { badRequest } from './errors';

/**
 * A 128-bit id in canonical base64url: 22 characters, the last one carrying 2 bits and 4 zero
 * bits (so one of `AQgw`). Canonical only, so that one id has one spelling.
 */
export const ID_RE = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** An id field. */
export const id = z.string().regex(ID_RE, 'expected a 22-character base64url id');

/** Login handle: lower case, 3–64 characters. */
export const USER_NAME_RE = /^[a-z0-9][a-z0-9._@+-]{1,62}[a-z0-9]$/;

/** A user name field. */
export const userName = z.string().regex(USER_NAME_RE, 'expected a lower-case user name');

const B64URL_RE = /^[A-Za-z0-9_-]*$/;

/**
 * An opaque byte field: canonical unpadded base64url of 1..`max` bytes (exactly `max` when
 * `exact`), decoded to a Buffer.
 */
export function bytes(max: number, exact = false) {
  const maxChars = Math.ceil((max * 4) / 3);
  return z
    .string()
    .max(maxChars, `at most ${max} bytes`)
    .regex(B64URL_RE, 'expected base64url')
    .transform((s, ctx): Buffer => {
      const buf = Buffer.from(s, 'base64url');
      // Node's decoder is lenient; round-tripping rejects stray bits and impossible lengths.
      const ok = buf.length > 0 && buf.toString('base64url') === s && buf.length <= max;
      if (!ok || (exact && buf.length !== max)) {
        ctx.addIssue({
          code: 'custom',
          message: exact ? `expected exactly ${max} bytes` : `expected 1 to ${max} bytes`,
        });
        return z.NEVER;
      }
      return buf;
    });
}

/** A positive safe integer (versions, sequence numbers, epochs). */
export const positiveInt = z.int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A non-negative safe integer. */
export const nonNegativeInt = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

/** Account roles. */
export const accountRole = z.enum(['practitioner', 'patient', 'support']);

/** Argon2id parameters and salt; bounds only — the client enforces its own floor. */
export const kdf = z.strictObject({
  algorithm: z.literal('argon2id'),
  memoryKiB: z.int().min(8192).max(4194304),
  iterations: z.int().min(1).max(64),
  parallelism: z.int().min(1).max(16),
  salt: bytes(16, true),
});

/** Parsed KDF parameters. */
export type Kdf = z.output<typeof kdf>;

/** Size limits of the opaque fields, in decoded bytes (see docs/api.md). */
export const LIMITS = {
  keyBundle: 8 * 1024,
  keyring: 64 * 1024,
  manifest: 256 * 1024,
  wrap: 4 * 1024,
  lineage: 4 * 1024,
  profile: 64 * 1024,
  header: 64 * 1024,
  signed: 16 * 1024,
  dataKey: 1024,
  sealedKey: 4 * 1024,
  inviteResponse: 16 * 1024,
  members: 1000,
} as const;

/** One line per issue, with its path: precise enough to fix a client, no input echoed. */
export function formatZodError(e: z.ZodError): string {
  return e.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(body)'}: ${i.message}`)
    .join('; ');
}

/** Validates a path parameter as an id: anything else is a 400, never a lookup. */
export function pathId(value: string | undefined, name: string): string {
  if (value === undefined || !ID_RE.test(value)) throw badRequest(`malformed ${name}`);
  return value;
}

/** Validates a path or query parameter as a positive integer. */
export function pathInt(value: string | undefined, name: string): number {
  if (value === undefined || !/^[1-9]\d{0,14}$/.test(value)) {
    throw badRequest(`malformed ${name}`);
  }
  return Number(value);
}

/** Encodes stored bytes for a JSON answer. */
export const b64 = (b: Uint8Array): string =>
  (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)).toString(
    'base64url',
  );

/**
 * The one error class of the Carnet core. Every failure of a check — cryptographic, format,
 * pinning, rollback, grant — is a `CarnetError` with a machine-readable `code`.
 *
 * Decryption failures (wrong key, tampered byte, wrong context, truncated stream) all surface
 * as `INTEGRITY` with the same message, so that nothing observable tells them apart.
 */
export const ERROR_CODES = [
  'INTEGRITY',
  'CONTEXT_MISMATCH',
  'KEY_CHANGED',
  'KEY_UNVERIFIED',
  'ACL_UNSIGNED',
  'UNAUTHORIZED_AUTHOR',
  'ROLLBACK',
  'RECORD_MISSING',
  'DOWNGRADE',
  'TRUNCATED',
  'KDF_TOO_WEAK',
  'GRANT_EXPIRED',
  'GRANT_NOT_YET_VALID',
  'GRANT_SCOPE',
  'GRANT_RIGHTS',
  'FORMAT',
  'INVALID_ARGUMENT',
  'BAD_RECOVERY_CODE',
  'BAD_PASSWORD',
  'UNSUPPORTED',
  'AUDIT_BROKEN',
] as const;

/** Machine-readable reason of a {@link CarnetError}. */
export type CarnetErrorCode = (typeof ERROR_CODES)[number];

const DEFAULT_MESSAGES: Record<CarnetErrorCode, string> = {
  INTEGRITY: 'The data could not be decrypted or verified: it was altered, or the key is wrong.',
  CONTEXT_MISMATCH: 'The object belongs to another folder, record, version or epoch.',
  KEY_CHANGED: 'The keys of a known account changed. Verify the new safety code before going on.',
  KEY_UNVERIFIED: 'The key bundle is not validly signed, or its safety code does not match.',
  ACL_UNSIGNED: 'The folder membership list is not signed by the folder owner.',
  UNAUTHORIZED_AUTHOR: 'The author of this object is not allowed to write it.',
  ROLLBACK: 'The relay served an older state than one already seen.',
  RECORD_MISSING: 'A record listed in the signed manifest is missing.',
  DOWNGRADE: 'The object uses a format or version that is no longer accepted.',
  TRUNCATED: 'The data ends too early.',
  KDF_TOO_WEAK: 'The key derivation parameters are weaker than required.',
  GRANT_EXPIRED: 'This support grant has expired or was revoked.',
  GRANT_NOT_YET_VALID: 'This support grant is not valid yet.',
  GRANT_SCOPE: 'This object is outside the scope of the support grant.',
  GRANT_RIGHTS: 'This support grant does not give that right.',
  FORMAT: 'The object is malformed.',
  INVALID_ARGUMENT: 'An argument is invalid.',
  BAD_RECOVERY_CODE: 'The recovery code is not valid: check it for typing mistakes.',
  BAD_PASSWORD: 'The password is wrong.',
  UNSUPPORTED: 'This environment lacks a required capability.',
  AUDIT_BROKEN:
    'The audit log was rewritten, truncated or forked: it no longer matches what was seen before.',
};

/** The single error type thrown by the Carnet core. */
export class CarnetError extends Error {
  /** Machine-readable reason. */
  readonly code: CarnetErrorCode;

  constructor(code: CarnetErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? DEFAULT_MESSAGES[code], options);
    this.name = 'CarnetError';
    this.code = code;
  }
}

/** True when `e` is a {@link CarnetError}, optionally of the given code. */
export function isCarnetError(e: unknown, code?: CarnetErrorCode): e is CarnetError {
  return e instanceof CarnetError && (code === undefined || e.code === code);
}

/**
 * The uniform decryption failure. Callers must not add detail: the relay (or anyone who sees
 * error reports) must not learn which check failed.
 */
export function integrityError(): CarnetError {
  return new CarnetError('INTEGRITY');
}

/** An `INVALID_ARGUMENT` error naming the parameter, in the manner of noble. */
export function invalidArgument(param: string, expected: string): CarnetError {
  return new CarnetError('INVALID_ARGUMENT', `"${param}" must be ${expected}`);
}

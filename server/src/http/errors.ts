/**
 * The relay's one error type and the handler that turns any thrown value into
 * `{ "error": { "code", "message" } }`. Codes are stable: clients switch on them.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Status of each error code. */
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION: 400,
  DIGEST_MISMATCH: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN_ORIGIN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  FOLDER_DELETED: 410,
  PAYLOAD_TOO_LARGE: 413,
  QUOTA_EXCEEDED: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const satisfies Record<string, ContentfulStatusCode>;

/** A stable API error code. */
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error the relay answers with on purpose. `headers` are added to the response. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: ContentfulStatusCode;
  readonly headers: Record<string, string>;
  /** Extra fields of the error object (e.g. `deletedAt` of `FOLDER_DELETED`); never secrets. */
  readonly details: Record<string, string | number>;

  constructor(
    code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
    details: Record<string, string | number> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = headers;
    this.details = details;
  }
}

/** `404 NOT_FOUND` — also what the relay answers for objects the caller may not see. */
export const notFound = (what = 'not found'): ApiError => new ApiError('NOT_FOUND', what);
/** `409 CONFLICT`. */
export const conflict = (message: string): ApiError => new ApiError('CONFLICT', message);
/** `400 VALIDATION`. */
export const invalid = (message: string): ApiError => new ApiError('VALIDATION', message);
/** `400 BAD_REQUEST`. */
export const badRequest = (message: string): ApiError => new ApiError('BAD_REQUEST', message);
/** `401 UNAUTHENTICATED`. */
export const unauthenticated = (message = 'authentication required'): ApiError =>
  new ApiError('UNAUTHENTICATED', message);

/** Answers `err` as JSON. Body-size errors also close the connection, see the comment. */
export function errorResponse(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  // The rest of an oversized body is not worth reading: ask the client to go away rather
  // than let the connection keep streaming bytes nobody will use.
  if (err.code === 'PAYLOAD_TOO_LARGE' || err.code === 'QUOTA_EXCEEDED') {
    c.header('Connection', 'close');
  }
  return c.json({ error: { ...err.details, code: err.code, message: err.message } }, err.status);
}

/**
 * Builds the app's `onError`: `ApiError`s are answered as they are; anything else is a bug,
 * reported to `report` (name and message only — never a request body) and answered as a
 * generic `500 INTERNAL`.
 */
export function makeErrorHandler(report: (e: unknown) => void) {
  return (err: unknown, c: Context): Response => {
    if (err instanceof ApiError) return errorResponse(c, err);
    report(err);
    return errorResponse(c, new ApiError('INTERNAL', 'internal error'));
  };
}

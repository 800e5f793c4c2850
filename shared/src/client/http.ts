/**
 * HTTP transport to the relay (docs/api.md): JSON requests, blob upload and download, and the
 * mapping of relay errors to {@link ApiError}. Nothing here trusts the relay; it only moves
 * bytes. Answers are decoded and checked by wire.ts, then verified by the SDK.
 */
import { CarnetError } from '../errors';

/** A failure reported by the relay (or the network), with the relay's stable `code`. */
export class ApiError extends Error {
  /** HTTP status; 0 when the relay could not be reached. */
  readonly status: number;
  /** The relay's error code (docs/api.md), or `NETWORK`. */
  readonly code: string;
  /** Seconds to wait before retrying, when the relay said so (429). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    status: number,
    code: string,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number },
  ) {
    super(message, options);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** True when `e` is an {@link ApiError}, optionally with the given code. */
export function isApiError(e: unknown, code?: string): e is ApiError {
  return e instanceof ApiError && (code === undefined || e.code === code);
}

/** True when `e` is a lost compare-and-swap (409): re-read, then retry on purpose. */
export function isConflict(e: unknown): e is ApiError {
  return isApiError(e, 'CONFLICT');
}

/** The error for a call that needs a session when there is none. */
export function notLoggedIn(): ApiError {
  return new ApiError(401, 'UNAUTHENTICATED', 'Not logged in.');
}

/** `fetch` as the SDK calls it (the global one, or a test double). */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Body of a JSON request. */
export type JsonBody = Record<string, unknown>;

/** Low-level relay transport; one per client. */
export class RelayHttp {
  /** Bearer token of the current session. */
  token: string | undefined;
  readonly #base: string;
  readonly #fetch: FetchLike;

  constructor(relayUrl: string, fetchImpl: FetchLike) {
    this.#base = `${relayUrl.replace(/\/+$/, '')}/api/v1`;
    this.#fetch = fetchImpl;
  }

  /** A JSON request; resolves with the parsed body (`undefined` for 204). */
  async json(method: string, path: string, body?: JsonBody): Promise<unknown> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await this.#send(path, {
      method,
      headers: this.#auth(headers),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 204) return undefined;
    return readJson(res);
  }

  /**
   * Uploads a blob. A stream is sent as it is produced (chunked), so memory stays constant;
   * `contentDigest` (SHA-256 of the whole body) is sent when known beforehand.
   */
  async upload(
    path: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    contentDigest?: Uint8Array,
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'Content-Type': 'application/octet-stream',
    };
    if (contentDigest !== undefined)
      headers['Content-Digest'] = `sha-256=:${base64(contentDigest)}:`;
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'POST',
      headers: this.#auth(headers),
      body: body instanceof Uint8Array ? new Blob([body.slice()]) : body,
    };
    // Required by the Fetch standard for a streamed request body.
    if (!(body instanceof Uint8Array)) init.duplex = 'half';
    return readJson(await this.#send(path, init));
  }

  /** Downloads a blob as a stream. */
  async download(path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#send(path, { method: 'GET', headers: this.#auth({}) });
    if (res.body === null) return new ReadableStream({ start: (c) => c.close() });
    return res.body;
  }

  #auth(headers: Record<string, string>): Record<string, string> {
    if (this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    return headers;
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await this.#fetch(this.#base + path, init);
    } catch (e) {
      throw new ApiError(0, 'NETWORK', 'The relay could not be reached.', { cause: e });
    }
    if (!res.ok) throw await errorFrom(res);
    return res;
  }
}

async function readJson(res: Response): Promise<unknown> {
  try {
    return (await res.json()) as unknown;
  } catch (e) {
    throw new CarnetError('FORMAT', 'The relay sent an answer that is not JSON.', { cause: e });
  }
}

/** Builds the {@link ApiError} of a failed response from the relay's error body. */
async function errorFrom(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Not the relay's JSON error shape (a proxy's page): keep the HTTP status as the code.
  }
  const retry = Number(res.headers.get('Retry-After'));
  return new ApiError(res.status, code, message, {
    retryAfterSeconds: Number.isFinite(retry) && retry > 0 ? retry : undefined,
  });
}

/** Standard base64 with padding, as RFC 9530 digests are written. */
function base64(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

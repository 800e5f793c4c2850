/**
 * Reading request bodies with the limit counted on the bytes actually received, so that a
 * chunked body without `Content-Length`, or one whose `Content-Length` lies, is cut off at the
 * limit like any other.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError, badRequest } from './errors';
import { formatZodError } from './schemas';
import type { AppEnv } from './types';

/**
 * The request body as a stream of chunks. On Node the `IncomingMessage` is read directly (no
 * web-stream wrapper per chunk); under `app.request()` the `Request` body is used.
 */
export async function* bodyChunks(c: Context<AppEnv>): AsyncGenerator<Uint8Array> {
  try {
    yield* rawChunks(c);
  } catch (e) {
    // A client that hangs up mid-body is not a relay bug: answer (if anyone still listens)
    // with a 400 rather than report an internal error.
    if (e instanceof ApiError) throw e;
    throw badRequest('request body interrupted');
  }
}

async function* rawChunks(c: Context<AppEnv>): AsyncGenerator<Uint8Array> {
  const incoming = c.env?.incoming;
  if (incoming) {
    // Stopping early (over the limit) must not destroy the socket, or the 413 never leaves:
    // @hono/node-server drains or closes the rest after the response.
    for await (const chunk of incoming.iterator({ destroyOnReturn: false })) {
      yield chunk as Uint8Array;
    }
    return;
  }
  const body = c.req.raw.body;
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** `413 PAYLOAD_TOO_LARGE` for a body over `limit` bytes. */
export const tooLarge = (limit: number): ApiError =>
  new ApiError('PAYLOAD_TOO_LARGE', `body larger than ${limit} bytes`);

/**
 * Declared `Content-Length`, or undefined if absent. A malformed value is a 400: Node's
 * parser already refuses most, this keeps the `app.request()` path equally strict.
 */
export function declaredLength(c: Context): number | undefined {
  const v = c.req.header('content-length');
  if (v === undefined) return undefined;
  if (!/^\d{1,16}$/.test(v)) throw badRequest('malformed Content-Length');
  return Number(v);
}

/** Reads the whole body into memory, refusing more than `limit` bytes. */
export async function readBody(c: Context<AppEnv>, limit: number): Promise<Buffer> {
  const declared = declaredLength(c);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of bodyChunks(c)) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge(limit);
    parts.push(chunk);
  }
  return Buffer.concat(parts, total);
}

/** The media type of the request, lower-cased, without parameters. */
export function mediaType(c: Context): string {
  return (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Reads a JSON body and validates it against `schema`: `415` if not `application/json`,
 * `413` over the limit, `400 BAD_REQUEST` if not JSON, `400 VALIDATION` if it does not match.
 */
export async function readJson<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  limit: number,
): Promise<z.output<S>> {
  if (mediaType(c) !== 'application/json') {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'expected Content-Type: application/json');
  }
  const raw = await readBody(c, limit);
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('malformed JSON body');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError('VALIDATION', formatZodError(parsed.error));
  return parsed.data;
}

/**
 * Blobs: streamed upload (hashed, size- and quota-limited on the bytes actually received,
 * fsync'd, visible only once its row commits), streamed download with single ranges, and
 * deletion of an unattached upload.
 */
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { requireSession } from '../http/auth';
import { bodyChunks, declaredLength, mediaType } from '../http/body';
import { ApiError, badRequest, conflict, invalid, notFound } from '../http/errors';
import { b64, pathId } from '../http/schemas';
import { webStream } from '../http/stream';
import type { AppEnv } from '../http/types';
import type { Relay } from '../relay';
import type { BlobRow } from '../store/blobs';
import { appendAudit } from '../store/audit';
import { overLimit, type ReceivedFile } from '../storage/blobfiles';

/**
 * SHA-256 declared in `Content-Digest: sha-256=:<base64>:` (RFC 9530), or undefined without
 * the header: a client encrypting a stream on the fly knows the digest only at the end, and
 * compares it with the `sha256` of the answer instead. A malformed header is a 400.
 */
export function parseContentDigest(header: string | undefined): Buffer | undefined {
  if (header === undefined) return undefined;
  const m = /(?:^|,)\s*sha-256=:([A-Za-z0-9+/]{43}=):/.exec(header);
  const digest = m ? Buffer.from(m[1]!, 'base64') : undefined;
  if (!digest || digest.length !== 32 || digest.toString('base64') !== m?.[1]) {
    throw badRequest('Content-Digest must be sha-256=:<base64 of 32 bytes>:');
  }
  return digest;
}

/** A parsed `Range`: inclusive bounds, `undefined` for the whole blob, or unsatisfiable. */
export type ByteRange = { start: number; end: number } | undefined | 'unsatisfiable';

/**
 * Parses a single `bytes=` range against `size`. Malformed or multi-range headers are
 * ignored (RFC 9110 §14.2 allows it): the whole blob is sent.
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** Ranges up to this many bytes are read into memory at once instead of streamed. */
const SMALL_READ = 1024 * 1024;

/** The request's single `Range` against `size`; `416` (with `Content-Range`) if unsatisfiable. */
export function requestedRange(
  c: Context,
  size: number,
): { start: number; end: number } | undefined {
  const range = parseRange(c.req.header('range'), size);
  if (range === 'unsatisfiable') {
    throw new ApiError('RANGE_NOT_SATISFIABLE', 'range outside the blob', {
      'Content-Range': `bytes */${size}`,
    });
  }
  return range;
}

/**
 * Answers a blob download: the whole blob (`200`, with `Content-Digest`) or one range (`206`,
 * with `Content-Range`), `ETag`, `Accept-Ranges`; `HEAD` gets the headers only. Shared by
 * `/blobs`, the grant and the import downloads; the caller has checked access (and audited).
 */
export async function sendBlob(
  c: Context,
  relay: Relay,
  blob: BlobRow,
  range: { start: number; end: number } | undefined,
): Promise<Response> {
  const blobId = blob.blob_id;
  const { start, end } = range ?? { start: 0, end: blob.size - 1 };
  c.header('Content-Type', 'application/octet-stream');
  c.header('Accept-Ranges', 'bytes');
  c.header('ETag', `"${b64(blob.sha256)}"`);
  c.header('Content-Length', String(end - start + 1));
  if (range) c.header('Content-Range', `bytes ${start}-${end}/${blob.size}`);
  else c.header('Content-Digest', `sha-256=:${blob.sha256.toString('base64')}:`);
  const status = range ? 206 : 200;
  // HEAD is routed here too: open no file for a body nobody will read.
  if (c.req.method === 'HEAD') return c.body(null, status);
  // Small answers in one read and one write: cheaper than a stream, and memory stays bounded
  // by SMALL_READ per request. Larger ones stream with backpressure.
  if (end - start < SMALL_READ) {
    return c.body(await relay.files.readSmall(blobId, start, end), status);
  }
  return c.body(webStream(relay.files.read(blobId, start, end)), status);
}

/** Sub-app factory for `/blobs`. */
export function blobRoutes(relay: Relay): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', requireSession(relay));

  app.post('/', async (c) => {
    const me = c.var.session.accountId;
    if (mediaType(c) !== 'application/octet-stream') {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'expected application/octet-stream');
    }
    const expected = parseContentDigest(c.req.header('content-digest'));
    const { maxBlobBytes: max, quotaBytes: quota } = relay.config;
    const room = quota - relay.blobs.used(me) - (relay.uploading.get(me) ?? 0);
    const declared = declaredLength(c);
    if (declared !== undefined && declared > max) throw overLimit('PAYLOAD_TOO_LARGE', max);
    if (room <= 0 || (declared !== undefined && declared > room)) {
      throw overLimit('QUOTA_EXCEEDED', quota);
    }
    const blobId = randomBytes(16).toString('base64url');
    let reserved = 0;
    const reserve = (n: number) => {
      reserved += n;
      relay.uploading.set(me, (relay.uploading.get(me) ?? 0) + n);
    };
    try {
      const file = await relay.files.receive(blobId, bodyChunks(c), (total, chunk) => {
        if (total > max) throw overLimit('PAYLOAD_TOO_LARGE', max);
        if (total > room) throw overLimit('QUOTA_EXCEEDED', quota);
        reserve(chunk);
      });
      await commit(relay, file, blobId, me, expected);
      return c.json({ blobId, size: file.size, sha256: b64(file.sha256) }, 201);
    } finally {
      const left = (relay.uploading.get(me) ?? 0) - reserved;
      if (left > 0) relay.uploading.set(me, left);
      else relay.uploading.delete(me);
    }
  });

  app.get('/:blobId', async (c) => {
    const blobId = pathId(c.req.param('blobId'), 'blobId');
    const blob = relay.blobs.visibleTo(blobId, c.var.session.accountId);
    if (!blob) throw notFound('no such blob');
    const range = parseRange(c.req.header('range'), blob.size);
    if (range === 'unsatisfiable') {
      throw new ApiError('RANGE_NOT_SATISFIABLE', 'range outside the blob', {
        'Content-Range': `bytes */${blob.size}`,
      });
    }
    // Audit before any byte leaves, and before the headers (a failed append must not leave a
    // Content-Length on the error answer). Each range request is one event; HEAD sends no
    // content, and an uploader reading back its unattached blob has no folder chain yet.
    if (blob.folder_id !== null && c.req.method !== 'HEAD') {
      appendAudit(relay.db, {
        chainId: blob.folder_id,
        type: 'blob.read',
        at: relay.now(),
        actorId: c.var.session.accountId,
        folderId: blob.folder_id,
        blobId,
      });
    }
    return sendBlob(c, relay, blob, range);
  });

  app.delete('/:blobId', async (c) => {
    const blobId = pathId(c.req.param('blobId'), 'blobId');
    // Visibility first: an uploader removed from the folder must get the same 404 as anyone
    // else, not a 409 that would confirm the folder and its record still exist.
    const blob = relay.blobs.visibleTo(blobId, c.var.session.accountId);
    if (!blob || blob.account_id !== c.var.session.accountId) throw notFound('no such blob');
    if (blob.folder_id !== null) throw conflict('blob is attached to a record');
    relay.blobs.delete(blobId);
    await relay.files.remove(blobId);
    return c.body(null, 204);
  });

  return app;
}

/** Checks the digest (if declared), publishes the file and commits the row within the quota. */
async function commit(
  relay: Relay,
  file: ReceivedFile,
  blobId: string,
  accountId: string,
  expected: Buffer | undefined,
): Promise<void> {
  if (file.size === 0 || (expected !== undefined && !file.sha256.equals(expected))) {
    await relay.files.discard(file);
    if (file.size === 0) throw invalid('empty blob');
    throw new ApiError('DIGEST_MISMATCH', 'body does not match Content-Digest');
  }
  await relay.files.publish(file, blobId);
  const row = { blobId, accountId, size: file.size, sha256: file.sha256, now: relay.now() };
  if (!relay.blobs.insertWithinQuota(row, relay.config.quotaBytes)) {
    await relay.files.remove(blobId);
    throw overLimit('QUOTA_EXCEEDED', relay.config.quotaBytes);
  }
}

/**
 * Blob streaming through a real listening relay on 127.0.0.1: uploads with and without
 * Content-Length, digests, ranges, limits on what is actually streamed, quotas.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../src/server';
import { digestHeader, kdf, newId, rnd, tempDir } from './helpers';

const MiB = 1024 * 1024;
let server: RunningServer;
let dir: string;
let token: string;
let other: string;

async function registerOver(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/accounts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      accountId: newId(),
      userName: name,
      role: 'practitioner',
      keyBundle: rnd(32),
      authKey: rnd(32),
      kdf: kdf(),
      keyring: rnd(64),
      recovery: { authKey: rnd(32), keyring: rnd(64) },
    }),
  });
  const body = (await res.json()) as { session: { token: string } };
  return body.session.token;
}

beforeAll(async () => {
  dir = tempDir();
  server = await startServer({
    dataDir: dir,
    port: 0,
    maxBlobBytes: 4 * MiB,
    quotaBytes: 6 * MiB,
    log: () => {},
  });
  token = await registerOver(server.url, 'blob.owner');
  other = await registerOver(server.url, 'blob.other');
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const auth = (t = token) => ({ authorization: `Bearer ${t}` });

async function upload(data: Buffer, headers: Record<string, string> = {}, t = token) {
  const res = await fetch(`${server.url}/api/v1/blobs`, {
    method: 'POST',
    headers: {
      ...auth(t),
      'content-type': 'application/octet-stream',
      'content-digest': digestHeader(data),
      ...headers,
    },
    body: new Uint8Array(data),
  });
  return {
    status: res.status,
    body: (await res.json()) as { blobId: string; size: number; error?: { code: string } },
  };
}

/** Streams `total` bytes chunked (no Content-Length) with node:http; resolves with the status. */
function chunkedUpload(
  chunks: Buffer[],
  digest: string,
  t = token,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.url}/api/v1/blobs`, {
      method: 'POST',
      headers: { ...auth(t), 'content-type': 'application/octet-stream', 'content-digest': digest },
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const write = () => {
      const next = chunks.shift();
      if (next === undefined) return req.end();
      if (req.destroyed) return;
      if (req.write(next)) setImmediate(write);
      else req.once('drain', write);
    };
    write();
  });
}

async function usedBytes(t = token): Promise<number> {
  const me = await fetch(`${server.url}/api/v1/accounts/me`, { headers: auth(t) });
  return ((await me.json()) as { usage: { usedBytes: number } }).usage.usedBytes;
}

const tmpFiles = () => readdirSync(join(dir, 'tmp'));

describe('blob upload and download', () => {
  const data = randomBytes(300_000);
  let blobId = '';

  it('uploads with a declared digest and downloads the same bytes', async () => {
    const up = await upload(data);
    expect(up.status).toBe(201);
    expect(up.body.size).toBe(data.length);
    expect(up.body.blobId).toMatch(/^[A-Za-z0-9_-]{21}[AQgw]$/);
    blobId = up.body.blobId;
    const res = await fetch(`${server.url}/api/v1/blobs/${blobId}`, { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-digest')).toBe(digestHeader(data));
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });

  it('serves single ranges with 206, and 416 outside the blob', async () => {
    const get = (range: string) =>
      fetch(`${server.url}/api/v1/blobs/${blobId}`, { headers: { ...auth(), range } });
    const first = await get('bytes=0-9');
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-9/${data.length}`);
    expect(Buffer.from(await first.arrayBuffer()).equals(data.subarray(0, 10))).toBe(true);
    const tail = await get('bytes=-5');
    expect(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(-5))).toBe(true);
    const open = await get('bytes=299990-');
    expect(Buffer.from(await open.arrayBuffer()).equals(data.subarray(299_990))).toBe(true);
    const clipped = await get('bytes=299999-999999999');
    expect(clipped.headers.get('content-range')).toBe(`bytes 299999-299999/${data.length}`);
    await clipped.arrayBuffer();
    const outside = await get(`bytes=${data.length}-`);
    expect(outside.status).toBe(416);
    expect(outside.headers.get('content-range')).toBe(`bytes */${data.length}`);
    await outside.arrayBuffer();
    const multi = await get('bytes=0-1,5-6');
    expect(multi.status).toBe(200);
    await multi.arrayBuffer();
  });

  it('answers HEAD with the headers only', async () => {
    const res = await fetch(`${server.url}/api/v1/blobs/${blobId}`, {
      method: 'HEAD',
      headers: auth(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(data.length));
  });

  it('shows an unattached blob to its uploader only', async () => {
    const res = await fetch(`${server.url}/api/v1/blobs/${blobId}`, { headers: auth(other) });
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });

  it('accepts a chunked upload without Content-Length', async () => {
    const parts = [randomBytes(MiB), randomBytes(MiB), randomBytes(123)];
    const whole = Buffer.concat(parts);
    const r = await chunkedUpload(parts, digestHeader(whole));
    expect(r.status).toBe(201);
    const { blobId: id } = JSON.parse(r.body) as { blobId: string };
    const res = await fetch(`${server.url}/api/v1/blobs/${id}`, { headers: auth() });
    expect(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest()
        .equals(createHash('sha256').update(whole).digest()),
    ).toBe(true);
    // Free the quota for the tests below.
    expect(
      (await fetch(`${server.url}/api/v1/blobs/${id}`, { method: 'DELETE', headers: auth() }))
        .status,
    ).toBe(204);
  });

  it('refuses a body that does not match its digest, and keeps nothing of it', async () => {
    const before = readdirSync(join(dir, 'blobs')).length;
    const used = await usedBytes();
    const r = await upload(randomBytes(1000), {
      'content-digest': digestHeader(Buffer.from('other')),
    });
    expect(r.status).toBe(400);
    expect(r.body.error?.code).toBe('DIGEST_MISMATCH');
    expect(readdirSync(join(dir, 'blobs'))).toHaveLength(before);
    expect(tmpFiles()).toEqual([]);
    expect(await usedBytes()).toBe(used);
  });

  it('accepts a stream without a digest and answers the digest it computed', async () => {
    const parts = [randomBytes(70_000), randomBytes(5)];
    const whole = Buffer.concat(parts);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.url}/api/v1/blobs`, {
        method: 'POST',
        headers: { ...auth(), 'content-type': 'application/octet-stream' },
      });
      req.on('response', (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (const p of parts) req.write(p);
      req.end();
    });
    expect(res.status).toBe(201);
    const answer = JSON.parse(res.body) as { sha256: string; size: number };
    expect(answer.size).toBe(whole.length);
    expect(answer.sha256).toBe(createHash('sha256').update(whole).digest('base64url'));
  });

  it('refuses a malformed digest header and a wrong media type', async () => {
    expect((await upload(Buffer.from('x'), { 'content-digest': 'sha-256=:nope:' })).status).toBe(
      400,
    );
    expect((await upload(Buffer.from('x'), { 'content-digest': 'md5=:AAAA:' })).status).toBe(400);
    expect((await upload(Buffer.from('x'), { 'content-type': 'text/plain' })).status).toBe(415);
  });
});

describe('limits on what is actually streamed', () => {
  it('refuses a declared oversized body at once with 413', async () => {
    const r = await upload(randomBytes(5 * MiB));
    expect(r.status).toBe(413);
    expect(r.body.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('cuts off an oversized chunked body with 413, and the relay stays healthy', async () => {
    const parts = Array.from({ length: 6 }, () => randomBytes(MiB));
    const r = await chunkedUpload(parts, digestHeader(Buffer.from('whatever'))).catch(() => ({
      status: -1,
      body: '',
    }));
    // The 413 leaves before the client has finished sending; the relay drains the rest.
    expect(r.status).toBe(413);
    expect(r.body).toContain('PAYLOAD_TOO_LARGE');
    const health = await fetch(`${server.url}/api/v1/health`);
    expect(health.status).toBe(200);
    expect(tmpFiles()).toEqual([]);
  });

  it('survives an endless chunked body on a raw socket', async () => {
    const status = await new Promise<string>((resolve) => {
      const sock = connect(Number(new URL(server.url).port), '127.0.0.1');
      let answer = '';
      let stop = false;
      sock.on('data', (d) => {
        answer += d.toString();
        stop = true;
      });
      sock.on('error', () => (stop = true));
      sock.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
      sock.write(
        `POST /api/v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Digest: ${digestHeader(Buffer.from('x'))}\r\n` +
          'Transfer-Encoding: chunked\r\n\r\n',
      );
      const chunk = Buffer.concat([
        Buffer.from('10000\r\n'),
        randomBytes(0x10000),
        Buffer.from('\r\n'),
      ]);
      const pump = () => {
        for (let i = 0; i < 16 && !stop && !sock.destroyed; i++) sock.write(chunk);
        if (!stop && !sock.destroyed) setTimeout(pump, 1);
        else sock.end();
      };
      pump();
    });
    expect(status).toContain('413');
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
    expect(tmpFiles()).toEqual([]);
  });

  it('a Content-Length that understates the body does not smuggle a second request', async () => {
    const payload = randomBytes(4096);
    const answer = await new Promise<string>((resolve) => {
      const sock = connect(Number(new URL(server.url).port), '127.0.0.1');
      let out = '';
      sock.on('data', (d) => (out += d.toString('latin1')));
      sock.on('error', () => {});
      sock.on('close', () => resolve(out));
      sock.write(
        `POST /api/v1/blobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n` +
          `Content-Type: application/octet-stream\r\nContent-Digest: ${digestHeader(payload)}\r\n` +
          'Content-Length: 16\r\nConnection: close\r\n\r\n',
      );
      sock.end(payload);
    });
    // Only the declared 16 bytes are the body (they do not match the digest); the rest is
    // not a valid request, so Node answers 400 and closes. Nothing is stored either way.
    expect(answer.split('\r\n')[0]).toContain('400');
    expect(answer).not.toContain('201 Created');
    expect((await fetch(`${server.url}/api/v1/health`)).status).toBe(200);
  });
});

describe('quota', () => {
  it('refuses what would exceed the account quota, and counts only stored blobs', async () => {
    const t = await registerOver(server.url, 'quota.user');
    expect((await upload(randomBytes(3 * MiB), {}, t)).status).toBe(201);
    expect((await upload(randomBytes(2 * MiB), {}, t)).status).toBe(201);
    const over = await upload(randomBytes(2 * MiB), {}, t);
    expect(over.status).toBe(413);
    expect(over.body.error?.code).toBe('QUOTA_EXCEEDED');
    expect(await usedBytes(t)).toBe(5 * MiB);
    const chunked = await chunkedUpload(
      [randomBytes(MiB), randomBytes(MiB)],
      digestHeader(Buffer.from('y')),
      t,
    ).catch(() => ({ status: -1, body: '' }));
    expect(chunked.status).toBe(413);
    expect(await usedBytes(t)).toBe(5 * MiB);
  });

  it('of two concurrent uploads that together exceed the quota, one is refused', async () => {
    const t = await registerOver(server.url, 'quota.race');
    const [a, b] = await Promise.all([
      upload(randomBytes(4 * MiB), {}, t),
      upload(randomBytes(4 * MiB), {}, t),
    ]);
    expect([a.status, b.status].sort()).toEqual([201, 413]);
    expect(await usedBytes(t)).toBe(4 * MiB);
  });
});

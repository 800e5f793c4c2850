import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer } from '../src/server';
import {
  b64,
  createFolder,
  kdf,
  newId,
  register,
  rnd,
  tempDir,
  testRelay,
  type TestRelay,
} from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

type Err = { error: { code: string; message: string } };

describe('malformed requests get a clear 4xx', () => {
  it('malformed JSON, unknown fields, wrong types, wrong media type', async () => {
    t = testRelay();
    const bad = await t.api.call<Err>('POST', 'auth/prelogin', {
      body: '{"userName": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_REQUEST');
    const unknown = await t.api.post<Err>('auth/prelogin', { userName: 'abc', admin: true });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('VALIDATION');
    expect(unknown.body.error.message).toContain('admin');
    const wrongType = await t.api.post<Err>('auth/prelogin', { userName: 42 });
    expect(wrongType.body.error.code).toBe('VALIDATION');
    const notJson = await t.api.call<Err>('POST', 'auth/prelogin', {
      body: 'userName=abc',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(notJson.status).toBe(415);
    expect(notJson.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const array = await t.api.post<Err>('auth/prelogin', [1, 2]);
    expect(array.status).toBe(400);
  });

  it('refuses non-canonical or oversized base64url and wrong key lengths', async () => {
    t = testRelay();
    const base = {
      accountId: newId(),
      userName: 'valid.name',
      role: 'patient',
      keyBundle: b64('b'),
      authKey: rnd(32),
      kdf: kdf(),
      keyring: b64('k'),
      recovery: { authKey: rnd(32), keyring: b64('r') },
    };
    const cases: Record<string, unknown>[] = [
      { keyBundle: 'YQ==' }, // padding
      { keyBundle: 'YR' }, // stray bits
      { keyBundle: 'a+b/' }, // standard alphabet
      { keyBundle: '' }, // empty
      { keyBundle: rnd(9000) }, // over 8 KiB
      { authKey: rnd(31) },
      { kdf: { ...kdf(), salt: rnd(15) } },
      { kdf: { ...kdf(), memoryKiB: 1 } },
      { userName: 'UPPER' },
      { userName: '../etc' },
      { accountId: 'short' },
      { role: 'admin' },
    ];
    for (const c of cases) {
      const r = await t.api.post<Err>('accounts', { ...base, ...c });
      expect(r.status, JSON.stringify(c).slice(0, 60)).toBe(400);
      expect(r.body.error.code).toBe('VALIDATION');
    }
    expect((await t.api.post('accounts', base)).status).toBe(201);
  });

  it('odd ids in paths are 400 or 404, never a crash', async () => {
    t = testRelay();
    const a = await register(t.api);
    const folderId = await createFolder(t.api, a);
    const odd = [
      '..%2F..%2Fetc%2Fpasswd',
      '%2e%2e',
      'abc%00def',
      `${folderId}%00`,
      'x'.repeat(10_240),
      encodeURIComponent('é'.repeat(22)),
      `${folderId.slice(0, 21)}=`,
      `${folderId.slice(0, 21)}B`, // non-canonical spelling
      '%',
    ];
    for (const id of odd) {
      for (const p of [
        `folders/${id}`,
        `folders/${id}/records`,
        `folders/${folderId}/records/${id}`,
        `blobs/${id}`,
        `directory/${id}`,
        `invites/${id}`,
      ]) {
        const r = await t.api.get<Err>(p, a.token);
        expect([400, 404], `${p.slice(0, 80)} → ${r.status}`).toContain(r.status);
        expect(r.body.error.code).toMatch(/^(BAD_REQUEST|NOT_FOUND)$/);
      }
    }
    for (const raw of [
      `/api/v1/folders/../folders/${folderId}`,
      '/api/v1/folders/%2e%2e/x',
      '/api/v1/blobs/..',
    ]) {
      const r = await t.api.call('GET', raw, { token: a.token });
      expect([200, 400, 404], raw).toContain(r.status);
    }
    expect((await t.api.get('health')).status).toBe(200);
  });

  it('counts the JSON body limit on the bytes received, with or without Content-Length', async () => {
    t = testRelay({ jsonBodyLimit: 1024 });
    const big = JSON.stringify({ userName: 'a'.repeat(5000) });
    const declared = await t.api.call<Err>('POST', 'auth/prelogin', {
      body: big,
      headers: { 'content-type': 'application/json', 'content-length': String(big.length) },
    });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    // A streamed body with no Content-Length.
    const chunks = [big.slice(0, 600), big.slice(600)];
    const stream = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        const next = chunks.shift();
        if (next === undefined) ctrl.close();
        else ctrl.enqueue(new TextEncoder().encode(next));
      },
    });
    const res = await t.app.request('/api/v1/auth/prelogin', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(413);
    // A Content-Length that understates the body.
    const lying = await t.api.call('POST', 'auth/prelogin', {
      body: big,
      headers: { 'content-type': 'application/json', 'content-length': '10' },
    });
    expect([400, 413]).toContain(lying.status);
    expect((await t.api.post('auth/prelogin', { userName: 'fine' })).status).toBe(200);
  });

  it('unknown API routes are JSON 404s', async () => {
    t = testRelay();
    const r = await t.api.call<Err>('GET', '/api/v1/nope');
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('NOT_FOUND');
    expect((await t.api.call<Err>('GET', '/api/v2/anything')).body.error.code).toBe('NOT_FOUND');
  });
});

describe('security headers', () => {
  const expected = {
    'content-security-policy':
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
  };

  it('are on API answers, errors and the static page', async () => {
    t = testRelay();
    const answers = [
      await t.api.call('GET', 'health'),
      await t.api.call('GET', 'folders'),
      await t.api.call('GET', '/api/v1/nope'),
      await t.api.call('POST', 'auth/prelogin', {
        body: '{',
        headers: { 'content-type': 'application/json' },
      }),
      await t.api.call('GET', '/'),
      await t.api.call('GET', '/some/app/route'),
    ];
    for (const a of answers) {
      for (const [k, v] of Object.entries(expected)) expect(a.headers.get(k), k).toBe(v);
    }
    expect(answers[0]!.headers.get('cache-control')).toBe('no-store');
    expect(answers[2]!.headers.get('cache-control')).toBe('no-store');
    expect(answers[4]!.body).toContain('web app is not built');
  });

  it('are on HEAD answers of the real listening server too', async () => {
    // HEAD is answered by the Node adapter, not by app.request(): test it over a socket.
    const server = await startServer({ dataDir: tempDir(), port: 0, log: () => {} });
    try {
      for (const path of ['/', '/api/v1/health']) {
        const res = await fetch(server.url + path, { method: 'HEAD' });
        expect(res.status).toBe(200);
        for (const [k, v] of Object.entries(expected))
          expect(res.headers.get(k), `${path} ${k}`).toBe(v);
      }
    } finally {
      await server.close();
    }
  });

  it('serve a built web app without escaping its directory', async () => {
    const web = tempDir('carnet-web-');
    mkdirSync(join(web, 'assets'));
    writeFileSync(join(web, 'index.html'), '<!doctype html><p>app</p>');
    writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
    t = testRelay({ webDir: web });
    const index = await t.api.call('GET', '/');
    expect(index.body).toContain('<p>app</p>');
    expect(index.headers.get('content-security-policy')).toBe(expected['content-security-policy']);
    expect((await t.api.call('GET', '/folders/abc')).body).toContain('<p>app</p>');
    const js = await t.api.call('GET', '/assets/app.js');
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect((await t.api.call('GET', '/assets/missing.js')).status).toBe(404);
    expect((await t.api.call('GET', '/%2e%2e/%2e%2e/etc/passwd')).body).not.toContain('root:');
  });
});

describe('CSRF and CORS', () => {
  const cookie = (token: string) => `__Host-carnet_session=${token}`;

  it('refuses cookie-authenticated state changes from another origin', async () => {
    t = testRelay();
    const a = await register(t.api);
    const folder = (headers: Record<string, string>) =>
      t.api.call<Err>('POST', 'auth/logout', {
        json: {},
        headers: { cookie: cookie(a.token), ...headers },
      });
    const evil = await folder({ origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body.error.code).toBe('FORBIDDEN_ORIGIN');
    expect((await folder({ 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await folder({ 'sec-fetch-site': 'same-site' })).status).toBe(403);
    expect((await folder({})).status).toBe(403);
    // Still logged in: none of those went through.
    expect((await t.api.get('accounts/me', a.token)).status).toBe(200);
    expect(
      (await folder({ 'sec-fetch-site': 'same-origin', origin: 'http://localhost' })).status,
    ).toBe(204);
  });

  it('exempts bearer-token requests and checks configured origins', async () => {
    t = testRelay({ origins: ['https://carnet.example'] });
    const a = await register(t.api);
    const bearer = await t.api.call('POST', 'auth/logout', {
      token: a.token,
      json: {},
      headers: { origin: 'https://evil.example' },
    });
    expect(bearer.status).toBe(204);
    const b = await register(t.api);
    const ok = await t.api.call('POST', 'auth/logout', {
      json: {},
      headers: { cookie: cookie(b.token), origin: 'https://carnet.example' },
    });
    expect(ok.status).toBe(204);
    const login = await t.api.call('POST', 'auth/login', {
      json: { userName: b.userName, authKey: b.authKey },
      headers: { origin: 'https://evil.example' },
    });
    expect(login.status).toBe(403);
  });

  it('answers CORS only for the app origin', async () => {
    t = testRelay({ origins: ['https://carnet.example'] });
    const pre = (origin: string) =>
      t.app.request('/api/v1/folders', {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const good = await pre('https://carnet.example');
    expect(good.headers.get('access-control-allow-origin')).toBe('https://carnet.example');
    expect(good.headers.get('access-control-allow-credentials')).toBe('true');
    const bad = await pre('https://evil.example');
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
    const simple = async (origin: string) =>
      (await t.app.request('/api/v1/health', { headers: { origin } })).headers;
    expect((await simple('https://carnet.example')).get('access-control-allow-origin')).toBe(
      'https://carnet.example',
    );
    expect((await simple('https://carnet.example')).get('vary')).toBe('Origin');
    expect((await simple('https://evil.example')).get('access-control-allow-origin')).toBeNull();
  });
});

describe('request log', () => {
  it('records method, route template, status and duration, and no secret or id', async () => {
    const lines: string[] = [];
    t = testRelay({ log: (l) => lines.push(l) });
    const a = await register(t.api);
    const folderId = await createFolder(t.api, a);
    await t.api.post('auth/login', { userName: a.userName, authKey: a.authKey });
    await t.api.get(`folders/${folderId}`, a.token);
    const all = lines.join('\n');
    for (const secret of [a.token, a.authKey, a.userName, a.accountId, folderId])
      expect(all).not.toContain(secret);
    expect(all).toMatch(/GET \/api\/v1\/folders\/:folderId 200 \d+ms/);
    expect(all).toMatch(/POST \/api\/v1\/accounts 201 \d+ms/);
  });
});

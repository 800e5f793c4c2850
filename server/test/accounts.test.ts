import { afterEach, describe, expect, it } from 'vitest';
import { b64, kdf, newId, register, rnd, testRelay, type TestRelay } from './helpers';

let t: TestRelay;
afterEach(() => t?.dispose());

type Kdf = {
  algorithm: string;
  memoryKiB: number;
  iterations: number;
  parallelism: number;
  salt: string;
};

describe('registration', () => {
  it('registers, logs the account in and serves its own data', async () => {
    t = testRelay();
    const a = await register(t.api);
    const me = await t.api.get<{
      accountId: string;
      keyring: string;
      usage: { usedBytes: number };
    }>('accounts/me', a.token);
    expect(me.status).toBe(200);
    expect(me.body.accountId).toBe(a.accountId);
    expect(Buffer.from(me.body.keyring, 'base64url').toString()).toBe(`keyring of ${a.userName}`);
    expect(me.body.usage.usedBytes).toBe(0);
  });

  it('refuses a taken account id or user name with 409', async () => {
    t = testRelay();
    const a = await register(t.api);
    const body = (accountId: string, userName: string) => ({
      accountId,
      userName,
      role: 'patient',
      keyBundle: b64('b'),
      authKey: rnd(32),
      kdf: kdf(),
      keyring: b64('k'),
      recovery: { authKey: rnd(32), keyring: b64('r') },
    });
    expect((await t.api.post('accounts', body(a.accountId, 'someone.else'))).status).toBe(409);
    expect((await t.api.post('accounts', body(newId(), a.userName))).status).toBe(409);
  });

  it('stores only hashes of the auth keys', async () => {
    t = testRelay();
    const a = await register(t.api);
    const row = t.relay.db
      .prepare('SELECT auth_key_hash, recovery_auth_key_hash FROM accounts WHERE account_id = ?')
      .get(a.accountId) as { auth_key_hash: Buffer; recovery_auth_key_hash: Buffer };
    expect(row.auth_key_hash.equals(Buffer.from(a.authKey, 'base64url'))).toBe(false);
    expect(row.auth_key_hash).toHaveLength(32);
    expect(row.recovery_auth_key_hash.equals(Buffer.from(a.recoveryAuthKey, 'base64url'))).toBe(
      false,
    );
  });
});

describe('pre-login', () => {
  it('returns the real parameters for a known name', async () => {
    t = testRelay();
    const a = await register(t.api);
    const r = await t.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: a.userName });
    expect(r.status).toBe(200);
    expect(r.body.kdf.memoryKiB).toBe(65536);
  });

  it('returns stable fake parameters of the same shape for an unknown name', async () => {
    t = testRelay();
    const a = await register(t.api);
    const real = await t.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: a.userName });
    const fake1 = await t.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: 'nobody.here' });
    const fake2 = await t.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: 'nobody.here' });
    const other = await t.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: 'someone.else' });
    expect(fake1.body).toEqual(fake2.body);
    expect(Object.keys(fake1.body.kdf).sort()).toEqual(Object.keys(real.body.kdf).sort());
    expect(fake1.body.kdf.salt).toHaveLength(real.body.kdf.salt.length);
    expect(other.body.kdf.salt).not.toBe(fake1.body.kdf.salt);
  });

  it('keeps fake salts across a restart (the secret is in the data directory)', async () => {
    t = testRelay();
    const before = await t.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: 'ghost' });
    t.close();
    const again = testRelay({ dataDir: t.dir });
    const after = await again.api.post<{ kdf: Kdf }>('auth/prelogin', { userName: 'ghost' });
    again.close();
    expect(after.body.kdf.salt).toBe(before.body.kdf.salt);
  });
});

describe('login, logout, sessions', () => {
  it('logs in with the auth key and answers what the client needs', async () => {
    t = testRelay();
    const a = await register(t.api);
    const r = await t.api.post<{
      accountId: string;
      keyring: string;
      keyBundle: string;
      session: { token: string };
    }>('auth/login', { userName: a.userName, authKey: a.authKey });
    expect(r.status).toBe(200);
    expect(r.body.accountId).toBe(a.accountId);
    expect(r.body.keyring).toBe(b64(`keyring of ${a.userName}`));
    expect(r.body.session.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toContain(`__Host-carnet_session=${r.body.session.token}`);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/'])
      expect(cookie).toContain(attr);
  });

  it('refuses a wrong key or unknown name with the same 401', async () => {
    t = testRelay();
    const a = await register(t.api);
    const wrong = await t.api.post('auth/login', { userName: a.userName, authKey: rnd(32) });
    const unknown = await t.api.post('auth/login', { userName: 'no.such.user', authKey: rnd(32) });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
  });

  it('accepts the cookie from a same-origin browser request', async () => {
    t = testRelay();
    const a = await register(t.api);
    const r = await t.api.call('GET', 'accounts/me', {
      headers: { cookie: `__Host-carnet_session=${a.token}` },
    });
    expect(r.status).toBe(200);
  });

  it('logout ends the session', async () => {
    t = testRelay();
    const a = await register(t.api);
    const out = await t.api.post('auth/logout', {}, a.token);
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await t.api.get('accounts/me', a.token)).status).toBe(401);
  });

  it('expires a session after the idle timeout', async () => {
    t = testRelay({ idleTimeoutMs: 30 * 60_000 });
    const a = await register(t.api);
    t.clock.t += 29 * 60_000;
    expect((await t.api.get('accounts/me', a.token)).status).toBe(200);
    // Activity moved the idle deadline.
    t.clock.t += 29 * 60_000;
    expect((await t.api.get('accounts/me', a.token)).status).toBe(200);
    t.clock.t += 30 * 60_000;
    const r = await t.api.get<{ error: { code: string } }>('accounts/me', a.token);
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('UNAUTHENTICATED');
  });

  it('expires a session at the absolute timeout even when active', async () => {
    t = testRelay({ idleTimeoutMs: 30 * 60_000, absoluteTimeoutMs: 2 * 60 * 60_000 });
    const a = await register(t.api);
    for (let i = 0; i < 7; i++) {
      t.clock.t += 15 * 60_000;
      expect((await t.api.get('accounts/me', a.token)).status).toBe(200);
    }
    t.clock.t += 16 * 60_000;
    expect((await t.api.get('accounts/me', a.token)).status).toBe(401);
  });

  it('maintenance deletes expired sessions', async () => {
    t = testRelay();
    await register(t.api);
    t.clock.t += 13 * 60 * 60_000;
    expect((await t.maintain()).sessions).toBe(1);
  });
});

describe('rate limits', () => {
  it('limits failed logins per user name, with Retry-After', async () => {
    t = testRelay({ loginPerUser: { max: 3, windowMs: 60_000 } });
    const a = await register(t.api);
    for (let i = 0; i < 3; i++) {
      expect(
        (await t.api.post('auth/login', { userName: a.userName, authKey: rnd(32) })).status,
      ).toBe(401);
    }
    const limited = await t.api.post<{ error: { code: string } }>('auth/login', {
      userName: a.userName,
      authKey: a.authKey,
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // The window slides: once the failures are old enough, the right key works again.
    t.clock.t += 61_000;
    expect(
      (await t.api.post('auth/login', { userName: a.userName, authKey: a.authKey })).status,
    ).toBe(200);
  });

  it('limits failed logins per address across user names', async () => {
    t = testRelay({ loginPerAddress: { max: 4, windowMs: 60_000 }, trustProxy: true });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const attempt = (name: string, ip: string) =>
      t.api.call('POST', 'auth/login', {
        json: { userName: name, authKey: rnd(32) },
        headers: from(ip),
      });
    for (let i = 0; i < 4; i++) expect((await attempt(`victim${i}`, '10.0.0.1')).status).toBe(401);
    expect((await attempt('victim9', '10.0.0.1')).status).toBe(429);
    expect((await attempt('victim9', '10.0.0.2')).status).toBe(401);
  });
});

describe('recovery and password change', () => {
  it('recovers with the recovery key and sets a new password without the old one', async () => {
    t = testRelay();
    const a = await register(t.api);
    const rec = await t.api.post<{ keyring: string; session: { token: string } }>('auth/recover', {
      userName: a.userName,
      recoveryAuthKey: a.recoveryAuthKey,
    });
    expect(rec.status).toBe(200);
    expect(rec.body.keyring).toBe(b64(`recovery keyring of ${a.userName}`));
    const newKey = rnd(32);
    const change = await t.api.put(
      'auth/password',
      { authKey: newKey, kdf: kdf(), keyring: b64('new keyring') },
      rec.body.session.token,
    );
    expect(change.status).toBe(204);
    // Other sessions are revoked; old key refused; new key works.
    expect((await t.api.get('accounts/me', a.token)).status).toBe(401);
    expect(
      (await t.api.post('auth/login', { userName: a.userName, authKey: a.authKey })).status,
    ).toBe(401);
    const login = await t.api.post<{ keyring: string }>('auth/login', {
      userName: a.userName,
      authKey: newKey,
    });
    expect(login.body.keyring).toBe(b64('new keyring'));
    // The recovery session is now ordinary: a second change needs the current key.
    const again = await t.api.put(
      'auth/password',
      { authKey: rnd(32), kdf: kdf(), keyring: b64('x') },
      rec.body.session.token,
    );
    expect(again.status).toBe(401);
  });

  it('requires the current key in an ordinary session and can replace the recovery code', async () => {
    t = testRelay();
    const a = await register(t.api);
    const body = { authKey: rnd(32), kdf: kdf(), keyring: b64('k2') };
    expect((await t.api.put('auth/password', body, a.token)).status).toBe(401);
    const wrong = await t.api.put('auth/password', { ...body, currentAuthKey: rnd(32) }, a.token);
    expect(wrong.status).toBe(401);
    const newRecovery = rnd(32);
    const ok = await t.api.put(
      'auth/password',
      {
        ...body,
        currentAuthKey: a.authKey,
        recovery: { authKey: newRecovery, keyring: b64('r2') },
      },
      a.token,
    );
    expect(ok.status).toBe(204);
    expect((await t.api.get('accounts/me', a.token)).status).toBe(200);
    const oldRec = await t.api.post('auth/recover', {
      userName: a.userName,
      recoveryAuthKey: a.recoveryAuthKey,
    });
    expect(oldRec.status).toBe(401);
    const newRec = await t.api.post<{ keyring: string }>('auth/recover', {
      userName: a.userName,
      recoveryAuthKey: newRecovery,
    });
    expect(newRec.body.keyring).toBe(b64('r2'));
  });
});

describe('directory', () => {
  it('serves key bundles by name and by id to authenticated accounts', async () => {
    t = testRelay();
    const a = await register(t.api);
    const b = await register(t.api, 'patient');
    const byName = await t.api.get<{ accountId: string; keyBundle: string }>(
      `directory/by-name/${b.userName}`,
      a.token,
    );
    expect(byName.body.accountId).toBe(b.accountId);
    expect(byName.body.keyBundle).toBe(b64(`bundle of ${b.userName}`));
    const byId = await t.api.get(`directory/${b.accountId}`, a.token);
    expect(byId.body).toEqual(byName.body);
    expect((await t.api.get(`directory/${newId()}`, a.token)).status).toBe(404);
    expect((await t.api.get('directory/by-name/nobody.at.all', a.token)).status).toBe(404);
    expect((await t.api.get(`directory/${b.accountId}`)).status).toBe(401);
  });
});

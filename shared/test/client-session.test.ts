/**
 * Login checks that must happen before any derivation or request, against a fake relay:
 * the KDF floor, "not weaker than last seen", a keyring whose parameters disagree with the
 * pre-login answer, and the mapping of wrong credentials to typed errors.
 */
import { describe, expect, it } from 'vitest';
import { toBase64url } from '../src/bytes';
import { CarnetClient, MemoryLocalStore, isCarnetError, type FetchLike } from '../src/client';
import { kdfKey } from '../src/client/store';
import { recoveryAuthKey, RECOVERY_AUTH_LABEL } from '../src/recovery';
import { generateRecoveryCode, recoveryKeyFromCode } from '../src/recovery';

function kdf(memoryKiB: number, iterations: number): Record<string, unknown> {
  return {
    algorithm: 'argon2id',
    memoryKiB,
    iterations,
    parallelism: 1,
    salt: toBase64url(new Uint8Array(16).fill(9)),
  };
}

/** A relay that answers pre-login with `params` and refuses every login. */
function relay(params: Record<string, unknown>): { fetch: FetchLike; calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    fetch: (url) => {
      const path = new URL(url).pathname;
      calls.push(path);
      const body = path.endsWith('/prelogin')
        ? { kdf: params }
        : { error: { code: 'UNAUTHENTICATED', message: 'invalid user name or key' } };
      return Promise.resolve(
        new Response(JSON.stringify(body), {
          status: path.endsWith('/prelogin') ? 200 : 401,
          headers: { 'content-type': 'application/json' },
        }),
      );
    },
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (e: unknown) => (isCarnetError(e) ? e.code : String(e)),
  );
}

describe('login', () => {
  it('refuses parameters below the floor before deriving or sending anything', async () => {
    for (const [m, t] of [
      [8192, 3],
      [65536, 2],
      [32768, 10],
    ] as const) {
      const r = relay(kdf(m, t));
      const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: r.fetch });
      expect(await codeOf(c.login({ userName: 'dr.x', password: 'pw' }))).toBe('KDF_TOO_WEAK');
      expect(r.calls).toEqual(['/api/v1/auth/prelogin']);
    }
  });

  it('refuses parameters weaker than the ones this device saw last', async () => {
    const store = new MemoryLocalStore();
    await store.set(kdfKey('dr.x'), JSON.stringify(kdf(131072, 4)));
    const r = relay(kdf(65536, 3));
    const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: r.fetch, store });
    expect(await codeOf(c.login({ userName: 'DR.X', password: 'pw' }))).toBe('KDF_TOO_WEAK');
    expect(r.calls).toEqual(['/api/v1/auth/prelogin']);
  });

  it('maps a refused login to BAD_PASSWORD (unknown user and wrong password alike)', async () => {
    const r = relay(kdf(65536, 3));
    const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: r.fetch });
    expect(await codeOf(c.login({ userName: 'dr.x', password: 'pw' }))).toBe('BAD_PASSWORD');
    expect(r.calls).toEqual(['/api/v1/auth/prelogin', '/api/v1/auth/login']);
  });

  it('a damaged last-seen record is an error, not a reset', async () => {
    const store = new MemoryLocalStore();
    await store.set(kdfKey('dr.x'), '{"algorithm":"argon2id"}');
    const r = relay(kdf(65536, 3));
    const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: r.fetch, store });
    expect(await codeOf(c.login({ userName: 'dr.x', password: 'pw' }))).toBe('FORMAT');
  });
});

describe('recovery', () => {
  it('a mistyped code is refused locally', async () => {
    const r = relay(kdf(65536, 3));
    const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: r.fetch });
    const code = generateRecoveryCode();
    const typo = code.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'));
    expect(
      await codeOf(c.recover({ userName: 'dr.x', recoveryCode: typo, newPassword: 'x' })),
    ).toBe('BAD_RECOVERY_CODE');
    expect(r.calls).toEqual([]);
  });

  it('the auth key sent to the relay is independent of the keyring key', () => {
    const code = generateRecoveryCode();
    expect(RECOVERY_AUTH_LABEL).toBe('carnet/v1/recovery/auth-key');
    expect(toBase64url(recoveryAuthKey(code))).not.toBe(toBase64url(recoveryKeyFromCode(code)));
    expect(toBase64url(recoveryAuthKey(code.toLowerCase()))).toBe(
      toBase64url(recoveryAuthKey(code)),
    );
  });
});

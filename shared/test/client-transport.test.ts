/**
 * The SDK's transport and decoding, against a fake `fetch`: relay errors become `ApiError`
 * with the relay's code, unreachable relays `NETWORK`, malformed answers `FORMAT`, and calls
 * that need a session fail locally without one.
 */
import { describe, expect, it } from 'vitest';
import { CarnetClient, isApiError, isCarnetError, type FetchLike } from '../src/client';
import { RelayApi } from '../src/client/api';
import { ApiError, isConflict } from '../src/client/http';

/** A fake relay: answers every request with `respond`, records what was asked. */
function fake(respond: (url: string, init: RequestInit) => Response): {
  fetch: FetchLike;
  calls: string[];
} {
  const calls: string[] = [];
  return {
    calls,
    fetch: (url, init) => {
      calls.push(`${init.method ?? 'GET'} ${new URL(url).pathname}`);
      return Promise.resolve(respond(url, init));
    },
  };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'resolved',
    (e: unknown) => e,
  );
}

describe('relay errors', () => {
  it("become ApiError with the relay's status, code, message and Retry-After", async () => {
    const f = fake(() =>
      json(429, { error: { code: 'RATE_LIMITED', message: 'slow down' } }, { 'retry-after': '42' }),
    );
    const e = await failure(new RelayApi('http://relay.test', f.fetch).prelogin('dr.x'));
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      message: 'slow down',
      retryAfterSeconds: 42,
    });
    expect(f.calls).toEqual(['POST /api/v1/auth/prelogin']);
  });

  it('a conflict is recognisable as such', async () => {
    const f = fake(() =>
      json(409, { error: { code: 'CONFLICT', message: 'expected seq 4, current is 5' } }),
    );
    const e = await failure(
      new RelayApi('http://relay.test/', f.fetch).putProfile(
        'A'.repeat(22) as never,
        1,
        new Uint8Array([1]),
      ),
    );
    expect(isConflict(e)).toBe(true);
    expect(isApiError(e, 'NOT_FOUND')).toBe(false);
  });

  it('a non-JSON error page keeps the HTTP status as its code', async () => {
    const f = fake(
      () => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    );
    expect(
      await failure(new RelayApi('http://relay.test', f.fetch).prelogin('dr.x')),
    ).toMatchObject({ status: 502, code: 'HTTP_502' });
  });

  it('an unreachable relay is NETWORK, status 0', async () => {
    const api = new RelayApi('http://relay.test', () =>
      Promise.reject(new TypeError('fetch failed')),
    );
    expect(await failure(api.prelogin('dr.x'))).toMatchObject({ status: 0, code: 'NETWORK' });
  });
});

describe('malformed answers are FORMAT', () => {
  const cases: [string, unknown][] = [
    ['not an object', [1, 2]],
    ['kdf missing', {}],
    [
      'salt not base64url',
      {
        kdf: {
          algorithm: 'argon2id',
          memoryKiB: 65536,
          iterations: 3,
          parallelism: 1,
          salt: 'a+b/',
        },
      },
    ],
    [
      'negative memory',
      {
        kdf: { algorithm: 'argon2id', memoryKiB: -1, iterations: 3, parallelism: 1, salt: 'AAAA' },
      },
    ],
    [
      'other algorithm',
      {
        kdf: { algorithm: 'scrypt', memoryKiB: 65536, iterations: 3, parallelism: 1, salt: 'AAAA' },
      },
    ],
  ];
  for (const [name, body] of cases) {
    it(name, async () => {
      const f = fake(() => json(200, body));
      const e = await failure(new RelayApi('http://relay.test', f.fetch).prelogin('dr.x'));
      expect(isCarnetError(e, 'FORMAT')).toBe(true);
    });
  }

  it('an answer that is not JSON at all', async () => {
    const f = fake(() => new Response('{"truncated', { status: 200 }));
    expect(
      isCarnetError(
        await failure(new RelayApi('http://relay.test', f.fetch).prelogin('dr.x')),
        'FORMAT',
      ),
    ).toBe(true);
  });

  it('a folder list with an id that is not an id', async () => {
    const f = fake(() =>
      json(200, {
        folders: [{ folderId: '../../etc', ownerId: 'A'.repeat(22), status: 'pending' }],
        next: null,
      }),
    );
    expect(
      isCarnetError(
        await failure(new RelayApi('http://relay.test', f.fetch).listFolders()),
        'FORMAT',
      ),
    ).toBe(true);
  });
});

describe('without a session', () => {
  it('calls that need one fail with UNAUTHENTICATED and send nothing', async () => {
    const f = fake(() => json(500, {}));
    const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: f.fetch });
    expect(c.account).toBeUndefined();
    for (const call of [
      () => c.createFolder({ name: 'x' }),
      () => c.lookupAccount('dr.x'),
      () => c.whoami(),
      () => c.acceptInvite('http://relay.test/invite#' + 'A'.repeat(43)),
    ]) {
      expect(await failure(call())).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    }
    expect(f.calls).toEqual([]);
  });

  it('ids are checked before anything is sent', async () => {
    const f = fake(() => json(500, {}));
    const c = new CarnetClient({ relayUrl: 'http://relay.test', fetch: f.fetch });
    for (const call of [
      () => c.getFolder('../../../secret'),
      () => c.readRecord('A'.repeat(22), 'not-an-id'),
      () => c.removeMember('A'.repeat(22), ''),
    ]) {
      expect(isCarnetError(await failure(call()), 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(f.calls).toEqual([]);
  });
});

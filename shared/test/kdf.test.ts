import { argon2id as nobleArgon2idSync } from '@noble/hashes/argon2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { equalBytes, toHex, utf8 } from '../src/bytes';
import { isCarnetError, type CarnetErrorCode } from '../src/errors';
import {
  argon2idRaw,
  assertKdfFloor,
  assertKdfNotWeaker,
  decodeKdfParams,
  deriveLoginKeys,
  encodeKdfParams,
  fakeKdfParams,
  fakeKdfSalt,
  KDF_DEFAULTS,
  KDF_FLOOR,
  KDF_LABELS,
  kdfParamsEqual,
  newKdfParams,
  type KdfParams,
} from '../src/kdf';

/** Small parameters for unit tests only, through the explicit test-only switch. */
const TINY = { alg: 'argon2id', memoryKiB: 64, iterations: 1, parallelism: 1 } as const;
const TEST_ONLY = { unsafeSkipFloorForTests: true } as const;
const salt16 = (fill: number): Uint8Array => new Uint8Array(16).fill(fill);

function codeOf(f: () => unknown): CarnetErrorCode | 'no error' | 'not a CarnetError' {
  try {
    f();
    return 'no error';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'not a CarnetError';
  }
}

async function asyncCodeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'not a CarnetError';
  }
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('KDF floor and last-seen check', () => {
  const good = newKdfParams();

  it('makes default parameters of 64 MiB, t = 3, p = 1 with a 16-byte salt', () => {
    expect(good).toMatchObject({
      alg: 'argon2id',
      memoryKiB: 65536,
      iterations: 3,
      parallelism: 1,
    });
    expect(good.salt).toHaveLength(16);
    expect(equalBytes(good.salt, newKdfParams().salt)).toBe(false);
    expect(codeOf(() => assertKdfFloor(good))).toBe('no error');
  });

  it('refuses m = 32 MiB, t = 2 and a short salt as KDF_TOO_WEAK', () => {
    expect(codeOf(() => assertKdfFloor({ ...good, memoryKiB: 32 * 1024 }))).toBe('KDF_TOO_WEAK');
    expect(codeOf(() => assertKdfFloor({ ...good, memoryKiB: KDF_FLOOR.memoryKiB - 1 }))).toBe(
      'KDF_TOO_WEAK',
    );
    expect(codeOf(() => assertKdfFloor({ ...good, iterations: 2 }))).toBe('KDF_TOO_WEAK');
    expect(codeOf(() => assertKdfFloor({ ...good, salt: new Uint8Array(8) }))).toBe('KDF_TOO_WEAK');
  });

  it('refuses weak parameters in deriveLoginKeys before running Argon2id', async () => {
    expect(await asyncCodeOf(() => deriveLoginKeys('pw', { ...good, memoryKiB: 32768 }))).toBe(
      'KDF_TOO_WEAK',
    );
    expect(await asyncCodeOf(() => deriveLoginKeys('pw', { ...good, iterations: 2 }))).toBe(
      'KDF_TOO_WEAK',
    );
  });

  it('refuses parameters beyond the ceiling or malformed as FORMAT', () => {
    expect(codeOf(() => assertKdfFloor({ ...good, memoryKiB: 4 * 1024 * 1024 }))).toBe('FORMAT');
    expect(codeOf(() => assertKdfFloor({ ...good, iterations: 1000 }))).toBe('FORMAT');
    expect(codeOf(() => assertKdfFloor({ ...good, parallelism: 0 }))).toBe('FORMAT');
    expect(codeOf(() => assertKdfFloor({ ...good, salt: new Uint8Array(7) }))).toBe('FORMAT');
    expect(codeOf(() => assertKdfFloor({ ...good, memoryKiB: 65536.5 }))).toBe('FORMAT');
    const notArgon = { ...good, alg: 'scrypt' } as unknown as KdfParams;
    expect(codeOf(() => assertKdfFloor(notArgon))).toBe('FORMAT');
  });

  it('refuses parameters weaker than the last seen, accepts equal or stronger', () => {
    const last: KdfParams = { ...good, memoryKiB: 128 * 1024, iterations: 4 };
    expect(codeOf(() => assertKdfNotWeaker({ ...last, memoryKiB: 64 * 1024 }, last))).toBe(
      'KDF_TOO_WEAK',
    );
    expect(codeOf(() => assertKdfNotWeaker({ ...last, iterations: 3 }, last))).toBe('KDF_TOO_WEAK');
    expect(codeOf(() => assertKdfNotWeaker(last, last))).toBe('no error');
    expect(codeOf(() => assertKdfNotWeaker({ ...last, iterations: 5 }, last))).toBe('no error');
    expect(codeOf(() => assertKdfNotWeaker({ ...last, parallelism: 4 }, last))).toBe('no error');
    expect(codeOf(() => assertKdfNotWeaker(good))).toBe('no error');
    // The floor still applies when nothing was seen before.
    expect(codeOf(() => assertKdfNotWeaker({ ...good, iterations: 2 }))).toBe('KDF_TOO_WEAK');
  });
});

describe('KDF parameter encoding', () => {
  const arbParams = fc.record({
    alg: fc.constant('argon2id' as const),
    memoryKiB: fc.integer({ min: 1, max: 1024 * 1024 }),
    iterations: fc.integer({ min: 1, max: 64 }),
    parallelism: fc.integer({ min: 1, max: 16 }),
    salt: fc.uint8Array({ minLength: 8, maxLength: 64 }),
  });

  it('round-trips', () => {
    fc.assert(
      fc.property(arbParams, (p) => {
        const back = decodeKdfParams(encodeKdfParams(p));
        expect(back).toEqual(p);
        expect(kdfParamsEqual(back, p)).toBe(true);
      }),
    );
  });

  it('lays out alg, m, t, p, salt length and salt', () => {
    const p: KdfParams = { ...newKdfParams(), salt: salt16(0xaa) };
    expect(toHex(encodeKdfParams(p))).toBe(
      '01' + '00010000' + '00000003' + '01' + '10' + 'aa'.repeat(16),
    );
  });

  it('refuses truncated, trailing and unknown encodings', () => {
    const enc = encodeKdfParams(newKdfParams());
    expect(codeOf(() => decodeKdfParams(enc.subarray(0, 5)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeKdfParams(enc.subarray(0, enc.length - 1)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeKdfParams(new Uint8Array([...enc, 0])))).toBe('FORMAT');
    const unknown = enc.slice();
    unknown[0] = 0x02;
    expect(codeOf(() => decodeKdfParams(unknown))).toBe('FORMAT');
  });

  it('never throws anything but a CarnetError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(codeOf(() => decodeKdfParams(b))).not.toBe('not a CarnetError');
      }),
    );
  });
});

describe('Argon2id implementations', () => {
  // RFC 9106 §5.3 (Argon2id, with secret and associated data). hash-wasm takes no associated
  // data, so only noble can run it; the two libraries are then compared on other inputs.
  it('noble matches the RFC 9106 Argon2id test vector', () => {
    const tag = nobleArgon2idSync(new Uint8Array(32).fill(1), new Uint8Array(16).fill(2), {
      m: 32,
      t: 3,
      p: 4,
      dkLen: 32,
      key: new Uint8Array(8).fill(3),
      personalization: new Uint8Array(12).fill(4),
    });
    expect(toHex(tag)).toBe('0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659');
  });

  // The reference implementation's known answer (phc-winner-argon2 test.c, v = 0x13).
  it.each(['wasm', 'noble'] as const)(
    '%s matches the reference Argon2id answer at 64 MiB',
    async (implementation) => {
      const out = await argon2idRaw(
        utf8('password'),
        { memoryKiB: 65536, iterations: 2, parallelism: 1, salt: utf8('somesalt') },
        implementation,
      );
      expect(toHex(out)).toBe('09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7');
    },
  );

  it('hash-wasm and noble agree on random small inputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 1, maxLength: 40 }),
        fc.uint8Array({ minLength: 8, maxLength: 32 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        async (pw, salt, t, p) => {
          const params = { memoryKiB: 8 * p + 16, iterations: t, parallelism: p, salt };
          const a = await argon2idRaw(pw, params, 'wasm');
          const b = await argon2idRaw(pw, params, 'noble');
          expect(toHex(a)).toBe(toHex(b));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('falls back to noble, with the same output, when WebAssembly is missing', async () => {
    const params = { ...TINY, salt: salt16(7) };
    const viaWasm = await deriveLoginKeys('pässword', params, {
      ...TEST_ONLY,
      implementation: 'wasm',
    });
    vi.stubGlobal('WebAssembly', undefined);
    const viaAuto = await deriveLoginKeys('pässword', params, TEST_ONLY);
    expect(toHex(viaAuto.keyringKey)).toBe(toHex(viaWasm.keyringKey));
    expect(toHex(viaAuto.authKey)).toBe(toHex(viaWasm.authKey));
    // Forcing WASM where it cannot run is a typed error, not a silent fallback.
    expect(
      await asyncCodeOf(() =>
        deriveLoginKeys('x', params, { ...TEST_ONLY, implementation: 'wasm' }),
      ),
    ).toBe('UNSUPPORTED');
  });
});

describe('deriveLoginKeys', () => {
  const params: KdfParams = { ...TINY, salt: salt16(1) };

  it('derives two different keys, each HKDF of the Argon2id output under its own label', async () => {
    const keys = await deriveLoginKeys('hunter2', params, TEST_ONLY);
    expect(keys.authKey).toHaveLength(32);
    expect(keys.keyringKey).toHaveLength(32);
    expect(toHex(keys.authKey)).not.toBe(toHex(keys.keyringKey));
    expect(KDF_LABELS.authKey).not.toBe(KDF_LABELS.keyringKey);
    // Independent recomputation with noble directly.
    const master = nobleArgon2idSync(utf8('hunter2'), params.salt, {
      m: 64,
      t: 1,
      p: 1,
      dkLen: 32,
    });
    const h = (label: string): string => toHex(hkdf(sha256, master, undefined, utf8(label), 32));
    expect(toHex(keys.authKey)).toBe(h(KDF_LABELS.authKey));
    expect(toHex(keys.keyringKey)).toBe(h(KDF_LABELS.keyringKey));
    // Neither key is the raw Argon2id output the other one could be expanded from.
    expect(toHex(keys.authKey)).not.toBe(toHex(master));
    expect(toHex(keys.keyringKey)).not.toBe(toHex(master));
  });

  it('is deterministic and depends on password and salt', async () => {
    const a = await deriveLoginKeys('hunter2', params, TEST_ONLY);
    const b = await deriveLoginKeys('hunter2', params, TEST_ONLY);
    const c = await deriveLoginKeys('hunter3', params, TEST_ONLY);
    const d = await deriveLoginKeys('hunter2', { ...params, salt: salt16(2) }, TEST_ONLY);
    expect(toHex(a.keyringKey)).toBe(toHex(b.keyringKey));
    expect(toHex(a.keyringKey)).not.toBe(toHex(c.keyringKey));
    expect(toHex(a.keyringKey)).not.toBe(toHex(d.keyringKey));
  });

  it('normalises the password with NFKC', async () => {
    const nfc = await deriveLoginKeys('d\u00e9j\u00e0', params, TEST_ONLY);
    const nfd = await deriveLoginKeys('de\u0301ja\u0300', params, TEST_ONLY);
    const fullwidth = await deriveLoginKeys('\uff21\uff22', params, TEST_ONLY);
    const ascii = await deriveLoginKeys('AB', params, TEST_ONLY);
    expect(toHex(nfc.keyringKey)).toBe(toHex(nfd.keyringKey));
    expect(toHex(fullwidth.keyringKey)).toBe(toHex(ascii.keyringKey));
  });

  it('refuses an empty password', async () => {
    expect(await asyncCodeOf(() => deriveLoginKeys('', params, TEST_ONLY))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('fake KDF salts for unknown user names', () => {
  const secret = new Uint8Array(32).fill(9);

  it('is deterministic, 16 bytes, and differs per name and per server secret', () => {
    const a = fakeKdfSalt(secret, 'alice@example.org');
    expect(a).toHaveLength(16);
    expect(toHex(fakeKdfSalt(secret, 'alice@example.org'))).toBe(toHex(a));
    expect(toHex(fakeKdfSalt(secret, 'bob@example.org'))).not.toBe(toHex(a));
    expect(toHex(fakeKdfSalt(new Uint8Array(32).fill(8), 'alice@example.org'))).not.toBe(toHex(a));
  });

  it('answers like a real account: default parameters that pass the floor', () => {
    const p = fakeKdfParams(secret, 'nobody');
    expect(p).toMatchObject({ alg: 'argon2id', ...KDF_DEFAULTS });
    expect(codeOf(() => assertKdfFloor(p))).toBe('no error');
    expect(encodeKdfParams(p)).toHaveLength(encodeKdfParams(newKdfParams()).length);
  });

  it('refuses a short server secret', () => {
    expect(codeOf(() => fakeKdfSalt(new Uint8Array(16), 'x'))).toBe('INVALID_ARGUMENT');
  });

  it('matches an independent HMAC-SHA256 computation', () => {
    // HMAC(secret, u32(len(label)) ‖ label ‖ NFKC(userName)) truncated to 16 bytes.
    const label = utf8(KDF_LABELS.fakeSalt);
    const msg = new Uint8Array([0, 0, 0, label.length, ...label, ...utf8('carol')]);
    const expected = hmac(sha256, secret, msg).slice(0, 16);
    expect(toHex(fakeKdfSalt(secret, 'carol'))).toBe(toHex(expected));
  });
});

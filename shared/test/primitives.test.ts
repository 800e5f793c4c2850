/**
 * Primitives: backend selection (each path forced, fallback when WebCrypto lacks the
 * algorithm), RFC known answers on both backends, cross-backend agreement, and argument
 * handling. The bulk of the vectors is in wycheproof.test.ts and hpke.test.ts.
 */
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fromHex, toHex, utf8 } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import {
  chacha20poly1305Open,
  chacha20poly1305Seal,
  xchacha20poly1305Open,
  xchacha20poly1305Seal,
} from '../src/primitives/aead';
import {
  clearKeyCache,
  forgetWebCryptoProbes,
  getBackend,
  setBackend,
} from '../src/primitives/backend';
import type { Backend } from '../src/primitives/backend';
import {
  ed25519Keygen,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
} from '../src/primitives/ed25519';
import { hkdfSha256, hmacSha256, sha256 } from '../src/primitives/sha2';
import { x25519, x25519Keygen, x25519PublicKey } from '../src/primitives/x25519';

async function codeOf(fn: () => unknown): Promise<CarnetErrorCode | 'none' | 'foreign'> {
  try {
    await fn();
    return 'none';
  } catch (e) {
    return isCarnetError(e) ? e.code : 'foreign';
  }
}

const BACKENDS = ['webcrypto', 'noble'] as const;

afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => setBackend('auto'));

describe('backend selection', () => {
  it('defaults to auto and refuses unknown names', () => {
    expect(getBackend()).toBe('auto');
    setBackend('noble');
    expect(getBackend()).toBe('noble');
    expect(() => setBackend('openssl' as Backend)).toThrow(/backend/);
    expect(getBackend()).toBe('noble');
    setBackend('auto');
  });

  it.each([
    ['webcrypto', 1],
    ['noble', 0],
    ['auto', 1],
  ] as const)(
    '%s: uses WebCrypto %i time(s) per X25519 and Ed25519 operation',
    async (backend, calls) => {
      setBackend(backend);
      const { privateKey, publicKey } = await x25519Keygen();
      const derive = vi.spyOn(globalThis.crypto.subtle, 'deriveBits');
      const sign = vi.spyOn(globalThis.crypto.subtle, 'sign');
      const verify = vi.spyOn(globalThis.crypto.subtle, 'verify');
      await x25519(privateKey, publicKey);
      const seed = new Uint8Array(32).fill(1);
      const sig = await ed25519Sign(seed, utf8('m'));
      expect(await ed25519Verify(await ed25519PublicKey(seed), utf8('m'), sig)).toBe(true);
      expect([derive.mock.calls.length, sign.mock.calls.length, verify.mock.calls.length]).toEqual([
        calls,
        calls,
        calls,
      ]);
    },
  );

  it('auto falls back to noble when WebCrypto lacks the algorithm; forced webcrypto refuses', async () => {
    vi.spyOn(globalThis.crypto.subtle, 'generateKey').mockRejectedValue(
      new DOMException('no', 'NotSupportedError'),
    );
    forgetWebCryptoProbes();
    clearKeyCache();
    const derive = vi.spyOn(globalThis.crypto.subtle, 'deriveBits');
    try {
      const alice = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
      const bobPub = fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
      expect(toHex(await x25519(alice, bobPub))).toBe(
        '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
      );
      expect(derive).not.toHaveBeenCalled();
      setBackend('webcrypto');
      const code = async (fn: () => Promise<unknown>): Promise<string> =>
        fn().then(
          () => 'none',
          (e: unknown) => (isCarnetError(e) ? e.code : 'foreign'),
        );
      expect(await code(() => x25519(alice, bobPub))).toBe('UNSUPPORTED');
      expect(await code(() => ed25519Sign(alice, utf8('m')))).toBe('UNSUPPORTED');
    } finally {
      vi.restoreAllMocks();
      setBackend('auto');
      forgetWebCryptoProbes();
    }
  });
});

describe('SHA-2 family (RFC 6234, 4231, 5869)', () => {
  it('known answers', () => {
    expect(toHex(sha256(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(toHex(hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    const okm = hkdfSha256(
      fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b'),
      fromHex('000102030405060708090a0b0c'),
      fromHex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    );
    expect(toHex(okm)).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
    // RFC 5869 A.3: absent salt = 32 zero bytes.
    const ikm = fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
    expect(toHex(hkdfSha256(ikm, undefined, new Uint8Array(0), 42))).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
    );
    expect(toHex(hkdfSha256(ikm, new Uint8Array(32), new Uint8Array(0), 42))).toBe(
      toHex(hkdfSha256(ikm, undefined, new Uint8Array(0), 42)),
    );
  });

  it('refuses impossible HKDF lengths', async () => {
    for (const n of [-1, 1.5, 8161]) {
      expect(
        await codeOf(() => hkdfSha256(new Uint8Array(32), undefined, new Uint8Array(0), n)),
      ).toBe('INVALID_ARGUMENT');
    }
  });
});

describe.each(BACKENDS)('X25519 (%s)', (backend) => {
  const alice = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const alicePub = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
  const bob = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const bobPub = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
  const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';

  it('RFC 7748 §6.1', async () => {
    setBackend(backend);
    expect(toHex(await x25519PublicKey(alice))).toBe(alicePub);
    expect(toHex(await x25519PublicKey(bob))).toBe(bobPub);
    expect(toHex(await x25519(alice, fromHex(bobPub)))).toBe(shared);
    expect(toHex(await x25519(bob, fromHex(alicePub)))).toBe(shared);
  });

  it('generates working key pairs', async () => {
    setBackend(backend);
    const a = await x25519Keygen();
    const b = await x25519Keygen();
    expect(a.privateKey).toHaveLength(32);
    expect(toHex(a.publicKey)).toBe(toHex(await x25519PublicKey(a.privateKey)));
    expect(toHex(await x25519(a.privateKey, b.publicKey))).toBe(
      toHex(await x25519(b.privateKey, a.publicKey)),
    );
  });

  it('refuses low-order points with INTEGRITY and bad lengths with INVALID_ARGUMENT', async () => {
    setBackend(backend);
    const p = (2n ** 255n - 19n).toString(16);
    const le = (hex: string): Uint8Array => fromHex(hex.padStart(64, '0')).reverse();
    const lowOrder = [
      new Uint8Array(32),
      le('1'),
      le((2n ** 255n - 20n).toString(16)), // p - 1
      le(p), // p itself, non-canonical 0
      fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'), // order 8
    ];
    for (const pub of lowOrder) expect(await codeOf(() => x25519(alice, pub))).toBe('INTEGRITY');
    expect(await codeOf(() => x25519(alice.subarray(1), fromHex(bobPub)))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => x25519(alice, new Uint8Array(33)))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => x25519PublicKey(new Uint8Array(31)))).toBe('INVALID_ARGUMENT');
  });
});

describe.each(BACKENDS)('Ed25519 (%s)', (backend) => {
  const rfc8032 = [
    {
      seed: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
      pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
      msg: '',
      sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    },
    {
      seed: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
      pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
      msg: '72',
      sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    },
  ];

  it('RFC 8032 §7.1 tests 1 and 2', async () => {
    setBackend(backend);
    for (const v of rfc8032) {
      expect(toHex(await ed25519PublicKey(fromHex(v.seed)))).toBe(v.pk);
      expect(toHex(await ed25519Sign(fromHex(v.seed), fromHex(v.msg)))).toBe(v.sig);
      expect(await ed25519Verify(fromHex(v.pk), fromHex(v.msg), fromHex(v.sig))).toBe(true);
      expect(await ed25519Verify(fromHex(v.pk), utf8('other'), fromHex(v.sig))).toBe(false);
    }
  });

  it('generates working key pairs', async () => {
    setBackend(backend);
    const { privateKey, publicKey } = await ed25519Keygen();
    expect(toHex(publicKey)).toBe(toHex(await ed25519PublicKey(privateKey)));
    expect(
      await ed25519Verify(publicKey, utf8('hi'), await ed25519Sign(privateKey, utf8('hi'))),
    ).toBe(true);
  });

  it('never throws from verify on malformed input', async () => {
    setBackend(backend);
    const v = rfc8032[0]!;
    const [pk, sig] = [fromHex(v.pk), fromHex(v.sig)];
    const junk = [
      [pk.subarray(1), new Uint8Array(0), sig],
      [pk, new Uint8Array(0), sig.subarray(1)],
      [pk, new Uint8Array(0), new Uint8Array([...sig, 0])],
      [new Uint8Array(32).fill(0xff), new Uint8Array(0), sig],
      ['not bytes', new Uint8Array(0), sig],
      [pk, null, sig],
    ] as unknown as [Uint8Array, Uint8Array, Uint8Array][];
    for (const [a, m, s] of junk) expect(await ed25519Verify(a, m, s)).toBe(false);
    expect(await codeOf(() => ed25519Sign(new Uint8Array(64), utf8('m')))).toBe('INVALID_ARGUMENT');
  });
});

describe('WebCrypto private-key cache', () => {
  it('follows the contents of the key array, not just its identity', async () => {
    setBackend('webcrypto');
    const alice = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPub = fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const key = Uint8Array.from(alice);
    expect(toHex(await x25519PublicKey(key))).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    // Overwritten in place with Bob's private key: the cached import must not be reused.
    key.set(fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(await x25519PublicKey(key))).toBe(toHex(bobPub));
    const seed = new Uint8Array(32).fill(7);
    const sig = await ed25519Sign(seed, utf8('m'));
    seed.fill(8);
    expect(toHex(await ed25519Sign(seed, utf8('m')))).not.toBe(toHex(sig));
    const importKey = vi.spyOn(globalThis.crypto.subtle, 'importKey');
    await x25519(key, bobPub);
    expect(importKey).toHaveBeenCalledTimes(1); // the peer's public key only
    clearKeyCache();
    await x25519(key, bobPub);
    expect(importKey).toHaveBeenCalledTimes(3); // private key imported again
  });
});

describe('backends agree', () => {
  it('on X25519 and Ed25519 for random keys', async () => {
    const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
    await fc.assert(
      fc.asyncProperty(seedArb, seedArb, fc.uint8Array({ maxLength: 100 }), async (a, b, msg) => {
        const run = async (backend: Backend): Promise<string[]> => {
          setBackend(backend);
          const pub = await x25519PublicKey(b);
          const edPub = await ed25519PublicKey(a);
          const sig = await ed25519Sign(a, msg);
          return [toHex(pub), toHex(await x25519(a, pub)), toHex(edPub), toHex(sig)];
        };
        expect(await run('webcrypto')).toEqual(await run('noble'));
      }),
      { numRuns: 50 },
    );
  });
});

describe('AEADs', () => {
  const key = new Uint8Array(32).fill(3);
  const cases = [
    { name: 'XChaCha20-Poly1305', n: 24, seal: xchacha20poly1305Seal, open: xchacha20poly1305Open },
    { name: 'ChaCha20-Poly1305', n: 12, seal: chacha20poly1305Seal, open: chacha20poly1305Open },
  ];

  it.each(cases)(
    '$name: round trip on unaligned views, INTEGRITY on failure',
    async ({ n, seal, open }) => {
      const buf = new Uint8Array(200).map((_, i) => i);
      const nonce = buf.subarray(1, 1 + n);
      const pt = buf.subarray(3, 100);
      const aad = buf.subarray(5, 9);
      const ct = seal(key, nonce, pt, aad);
      expect(ct.length).toBe(pt.length + 16);
      expect(open(key, nonce, ct, aad)).toEqual(pt);
      expect(await codeOf(() => open(key, nonce, ct, buf.subarray(6, 9)))).toBe('INTEGRITY');
      expect(await codeOf(() => open(key, nonce, ct.subarray(0, 15), aad))).toBe('INTEGRITY');
      expect(await codeOf(() => open(key, nonce, ct.subarray(0, 16), aad))).toBe('INTEGRITY');
      expect(await codeOf(() => seal(key.subarray(1), nonce, pt, aad))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(() => seal(key, buf.subarray(0, n + 1), pt, aad))).toBe(
        'INVALID_ARGUMENT',
      );
    },
  );
});

describe('Ed25519 small-order public keys', () => {
  // The identity point (0, 1) encodes as 01 00…00; with R = identity and S = 0 the verification
  // equation holds for every message. OpenSSL accepts it; Carnet must not, on either backend.
  const identity = new Uint8Array(32);
  identity[0] = 1;
  const sig = new Uint8Array(64);
  sig[0] = 1;
  for (const b of ['webcrypto', 'noble'] as const) {
    it(`are refused with the ${b} backend`, async () => {
      const backend = await import('../src/primitives/backend');
      const { ed25519Verify } = await import('../src/primitives/ed25519');
      backend.setBackend(b);
      try {
        expect(await ed25519Verify(identity, new TextEncoder().encode('any message'), sig)).toBe(
          false,
        );
      } finally {
        backend.setBackend('auto');
      }
    });
  }
});

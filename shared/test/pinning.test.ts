import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createKeyBundle,
  generateAccountKeys,
  ROLE,
  verifyKeyBundle,
  type AccountSecrets,
  type KeyBundle,
  type Role,
} from '../src/account';
import { concatBytes, fromBase64url, lp, toHex, utf8 } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import { newId, type AccountId } from '../src/ids';
import { acceptChangedKey, MemoryPinStore, pinKeyBundle, pinValue } from '../src/pinning';
import {
  assertSafetyCode,
  FINGERPRINT_DOMAIN,
  fingerprint,
  fingerprintBytes,
  parseSafetyCode,
  safetyCodesEqual,
} from '../src/safety-code';

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return isCarnetError(e) ? e.code : `not a CarnetError: ${String(e)}`;
  }
}

async function bundleOf(
  secrets: AccountSecrets,
  accountId: AccountId,
  role: Role = 'practitioner',
  createdAt = Date.UTC(2026, 0, 1),
): Promise<KeyBundle> {
  return verifyKeyBundle(await createKeyBundle(secrets, { accountId, role, createdAt }));
}

async function freshBundle(accountId = newId<AccountId>()): Promise<KeyBundle> {
  return bundleOf(await generateAccountKeys(), accountId);
}

const CODE_RE = /^\d{5}( \d{5}){5}$/;

describe('safety code', () => {
  it('is 30 digits in 6 groups of 5, stable for the same keys', async () => {
    const secrets = await generateAccountKeys();
    const id = newId<AccountId>();
    const a = await bundleOf(secrets, id, 'patient', 1);
    const b = await bundleOf(secrets, id, 'patient', 2);
    expect(fingerprint(a)).toMatch(CODE_RE);
    // Re-signing the same keys later does not change the code.
    expect(fingerprint(b)).toBe(fingerprint(a));
    expect(fingerprint(a.bytes)).toBe(fingerprint(a));
  });

  it('changes with any public part: keys, account id, role', async () => {
    const secrets = await generateAccountKeys();
    const other = await generateAccountKeys();
    const id = newId<AccountId>();
    const base = fingerprint(await bundleOf(secrets, id, 'patient'));
    const variants = [
      await bundleOf(secrets, newId<AccountId>(), 'patient'),
      await bundleOf(secrets, id, 'practitioner'),
      await bundleOf(
        {
          ...secrets,
          encryptionPrivateKey: other.encryptionPrivateKey,
          encryptionPublicKey: other.encryptionPublicKey,
        },
        id,
        'patient',
      ),
      await bundleOf(
        {
          ...secrets,
          identityPrivateKey: other.identityPrivateKey,
          identityPublicKey: other.identityPublicKey,
        },
        id,
        'patient',
      ),
    ];
    for (const v of variants) expect(fingerprint(v)).not.toBe(base);
  });

  it('matches an independent computation of hash and digits', async () => {
    const b = await freshBundle();
    const h = sha256(
      concatBytes(
        lp(utf8(FINGERPRINT_DOMAIN)),
        fromBase64url(b.accountId),
        new Uint8Array([ROLE[b.role]]),
        b.identityPublicKey,
        b.encryptionPublicKey,
      ),
    );
    expect(toHex(fingerprintBytes(b))).toBe(toHex(h));
    const groups = [0, 1, 2, 3, 4, 5].map((g) => {
      const n = BigInt('0x' + toHex(h.subarray(5 * g, 5 * g + 5)));
      return (n % 100000n).toString().padStart(5, '0');
    });
    expect(fingerprint(b)).toBe(groups.join(' '));
  });

  it('parses codes typed with spaces, dashes, no separators or full-width digits', async () => {
    const code = fingerprint(await freshBundle());
    const digits = code.replace(/ /g, '');
    const fullwidth = [...digits].map((d) => String.fromCharCode(0xff10 + Number(d))).join('');
    for (const typed of [
      code,
      digits,
      `  ${code}  `,
      code.replace(/ /g, '-'),
      digits.replace(/(\d{3})/g, '$1 '),
      `${digits.slice(0, 10)}\t${digits.slice(10)}`,
      fullwidth,
    ]) {
      expect(parseSafetyCode(typed)).toBe(code);
      expect(safetyCodesEqual(typed, code)).toBe(true);
    }
  });

  it('refuses malformed codes with INVALID_ARGUMENT', async () => {
    const digits = fingerprint(await freshBundle()).replace(/ /g, '');
    for (const bad of ['', digits.slice(1), `${digits}1`, `${digits.slice(1)}a`, 'x'.repeat(30)]) {
      expect(await codeOf(() => parseSafetyCode(bad))).toBe('INVALID_ARGUMENT');
    }
  });

  it('tells different codes apart (property: any one digit changed)', async () => {
    const code = fingerprint(await freshBundle());
    const digits = code.replace(/ /g, '');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 29 }), fc.integer({ min: 1, max: 9 }), (i, d) => {
        const changed =
          digits.slice(0, i) + String((Number(digits[i]) + d) % 10) + digits.slice(i + 1);
        expect(safetyCodesEqual(changed, code)).toBe(false);
      }),
    );
  });

  it('assertSafetyCode throws KEY_UNVERIFIED on mismatch', async () => {
    const a = await freshBundle();
    const b = await freshBundle();
    expect(await codeOf(() => assertSafetyCode(a, fingerprint(a)))).toBe('no error');
    expect(await codeOf(() => assertSafetyCode(a, fingerprint(b)))).toBe('KEY_UNVERIFIED');
  });
});

describe('pinning', () => {
  it('pins on first sight (trust on first use), then accepts the same keys', async () => {
    const store = new MemoryPinStore();
    const b = await freshBundle();
    expect(await pinKeyBundle(store, b)).toEqual({
      status: 'trusted-on-first-use',
      safetyCode: fingerprint(b),
      fingerprint: toHex(fingerprintBytes(b)),
    });
    // The pin is the full 256-bit fingerprint, not the 100-bit code.
    expect(await store.get(b.accountId)).toBe(toHex(fingerprintBytes(b)));
    expect(pinValue(b)).toMatch(/^[0-9a-f]{64}$/);
    expect((await pinKeyBundle(store, b)).status).toBe('unchanged');
  });

  it('accepts the same keys re-signed later', async () => {
    const store = new MemoryPinStore();
    const secrets = await generateAccountKeys();
    const id = newId<AccountId>();
    await pinKeyBundle(store, await bundleOf(secrets, id, 'patient', 1));
    const later = await bundleOf(secrets, id, 'patient', 2);
    expect((await pinKeyBundle(store, later)).status).toBe('unchanged');
  });

  it('stops hard with KEY_CHANGED when a pinned account shows other keys', async () => {
    const store = new MemoryPinStore();
    const id = newId<AccountId>();
    const first = await freshBundle(id);
    const second = await freshBundle(id);
    await pinKeyBundle(store, first);
    expect(await codeOf(() => pinKeyBundle(store, second))).toBe('KEY_CHANGED');
    // Even when the caller "verified" the new code: a change needs acceptChangedKey.
    const opts = { expectedSafetyCode: fingerprint(second) };
    expect(await codeOf(() => pinKeyBundle(store, second, opts))).toBe('KEY_CHANGED');
    expect(await store.get(id)).toBe(pinValue(first));
  });

  it('verifies an expected safety code on first sight', async () => {
    const store = new MemoryPinStore();
    const b = await freshBundle();
    const other = await freshBundle();
    const wrong = { expectedSafetyCode: fingerprint(other) };
    expect(await codeOf(() => pinKeyBundle(store, b, wrong))).toBe('KEY_UNVERIFIED');
    expect(await store.get(b.accountId)).toBeUndefined();
    const typed = fingerprint(b).replace(/ /g, '-');
    expect((await pinKeyBundle(store, b, { expectedSafetyCode: typed })).status).toBe('verified');
    expect(await store.get(b.accountId)).toBe(pinValue(b));
  });

  it('checks an expected code against a pinned account too', async () => {
    const store = new MemoryPinStore();
    const b = await freshBundle();
    await pinKeyBundle(store, b);
    const wrong = { expectedSafetyCode: fingerprint(await freshBundle()) };
    expect(await codeOf(() => pinKeyBundle(store, b, wrong))).toBe('KEY_UNVERIFIED');
  });

  it('re-pins a changed key only with the verified new code', async () => {
    const store = new MemoryPinStore();
    const id = newId<AccountId>();
    const first = await freshBundle(id);
    const second = await freshBundle(id);
    await pinKeyBundle(store, first);
    expect(await codeOf(() => acceptChangedKey(store, second, fingerprint(first)))).toBe(
      'KEY_UNVERIFIED',
    );
    expect(await store.get(id)).toBe(pinValue(first));
    expect(await acceptChangedKey(store, second, fingerprint(second))).toEqual({
      status: 'verified',
      safetyCode: fingerprint(second),
      fingerprint: pinValue(second),
    });
    expect((await pinKeyBundle(store, second)).status).toBe('unchanged');
    // The old key is now the stranger.
    expect(await codeOf(() => pinKeyBundle(store, first))).toBe('KEY_CHANGED');
  });

  it('treats a corrupted pin as a change', async () => {
    const store = new MemoryPinStore();
    const b = await freshBundle();
    await store.set(b.accountId, 'garbage');
    expect(await codeOf(() => pinKeyBundle(store, b))).toBe('KEY_CHANGED');
  });

  it('keeps accounts apart', async () => {
    const store = new MemoryPinStore();
    const a = await freshBundle();
    const b = await freshBundle();
    await pinKeyBundle(store, a);
    expect((await pinKeyBundle(store, b)).status).toBe('trusted-on-first-use');
    expect((await pinKeyBundle(store, a)).status).toBe('unchanged');
  });
});

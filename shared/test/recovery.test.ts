import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateAccountKeys, type AccountSecrets } from '../src/account';
import { toHex, utf8 } from '../src/bytes';
import { isCarnetError } from '../src/errors';
import { newId, type AccountId } from '../src/ids';
import {
  CROCKFORD_ALPHABET,
  encodeRecoveryCode,
  generateRecoveryCode,
  openKeyringWithRecovery,
  parseRecoveryCode,
  RECOVERY_KEY_LABEL,
  recoveryKeyFromCode,
  sealKeyringWithRecovery,
} from '../src/recovery';

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return isCarnetError(e) ? e.code : `not a CarnetError: ${String(e)}`;
  }
}

const CODE_RE = /^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){6}$/;
const arbCode = fc
  .uint8Array({ minLength: 26, maxLength: 26 })
  .map((b) => encodeRecoveryCode(b.map((x) => x & 31)));
const symbolsOf = (code: string): string[] => [...code.replace(/-/g, '')];
const join = (symbols: string[]): string => symbols.join('');

function secretsHex(s: AccountSecrets): string[] {
  return [
    s.identityPrivateKey,
    s.identityPublicKey,
    s.encryptionPrivateKey,
    s.encryptionPublicKey,
    s.accountKey,
  ].map(toHex);
}

describe('recovery code', () => {
  it('is 7 groups of 4 Crockford symbols, fresh each time', () => {
    const codes = new Set(Array.from({ length: 200 }, () => generateRecoveryCode()));
    expect(codes.size).toBe(200);
    for (const c of codes) {
      expect(c).toMatch(CODE_RE);
      expect(parseRecoveryCode(c)).toBe(c);
    }
  });

  it('uses every symbol value (130 random bits, 5 per data symbol)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++)
      for (const s of symbolsOf(generateRecoveryCode()).slice(0, 26)) seen.add(s);
    expect(seen.size).toBe(32);
  });

  it('is case-, space- and dash-insensitive and reads O, I, L as 0, 1, 1', () => {
    fc.assert(
      fc.property(arbCode, (code) => {
        const plain = code.replace(/-/g, '');
        const variants = [
          plain,
          plain.toLowerCase(),
          code.replace(/-/g, ' '),
          ` ${code.toLowerCase()} `,
          plain.replace(/0/g, 'O').replace(/1/g, 'I'),
          plain.replace(/1/g, 'l'),
          plain.replace(/(.{2})/g, '$1 - '),
        ];
        for (const v of variants) {
          expect(parseRecoveryCode(v)).toBe(code);
          expect(toHex(recoveryKeyFromCode(v))).toBe(toHex(recoveryKeyFromCode(code)));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('catches every single-symbol substitution, at every position (property)', () => {
    fc.assert(
      fc.property(
        arbCode,
        fc.integer({ min: 0, max: 27 }),
        fc.integer({ min: 1, max: 31 }),
        (code, pos, delta) => {
          const s = symbolsOf(code);
          const v = CROCKFORD_ALPHABET.indexOf(s[pos]!);
          s[pos] = CROCKFORD_ALPHABET[(v + delta) % 32]!;
          expect(() => parseRecoveryCode(join(s))).toThrowError(
            expect.objectContaining({ code: 'BAD_RECOVERY_CODE' }),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('catches every substitution at the first, middle and check positions, exhaustively', () => {
    const code = generateRecoveryCode();
    for (const pos of [0, 13, 25, 26, 27]) {
      for (const sym of CROCKFORD_ALPHABET) {
        const s = symbolsOf(code);
        if (s[pos] === sym) continue;
        s[pos] = sym;
        expect(() => parseRecoveryCode(join(s)), `${pos}:${sym}`).toThrow(/recovery code/);
      }
    }
  });

  it('catches every adjacent swap of different symbols, including across groups (property)', () => {
    fc.assert(
      fc.property(arbCode, fc.integer({ min: 0, max: 26 }), (code, pos) => {
        const s = symbolsOf(code);
        fc.pre(s[pos] !== s[pos + 1]);
        [s[pos], s[pos + 1]] = [s[pos + 1]!, s[pos]!];
        expect(() => parseRecoveryCode(join(s))).toThrowError(
          expect.objectContaining({ code: 'BAD_RECOVERY_CODE' }),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('catches every adjacent swap of one fixed code, exhaustively', () => {
    const code = generateRecoveryCode();
    for (let pos = 0; pos < 27; pos++) {
      const s = symbolsOf(code);
      if (s[pos] === s[pos + 1]) continue;
      [s[pos], s[pos + 1]] = [s[pos + 1]!, s[pos]!];
      expect(() => parseRecoveryCode(join(s)), `swap at ${pos}`).toThrow(/recovery code/);
    }
  });

  it('refuses wrong lengths, foreign characters and non-canonical checks', async () => {
    const code = generateRecoveryCode();
    const plain = code.replace(/-/g, '');
    for (const bad of [
      '',
      plain.slice(1),
      `${plain}0`,
      `U${plain.slice(1)}`,
      `*${plain.slice(1)}`,
    ]) {
      expect(await codeOf(() => parseRecoveryCode(bad))).toBe('BAD_RECOVERY_CODE');
    }
    // Data symbols all zero give check 0 ("00"); "ZX" encodes 1021 + 0 ≡ 0 too, but is refused.
    const zero = encodeRecoveryCode(new Uint8Array(26));
    expect(zero.replace(/-/g, '').slice(26)).toBe('00');
    const alias = zero.replace(/-/g, '').slice(0, 26) + 'ZX';
    expect(await codeOf(() => parseRecoveryCode(alias))).toBe('BAD_RECOVERY_CODE');
    expect(await codeOf(() => encodeRecoveryCode(new Uint8Array(26).fill(32)))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('derives the key as HKDF-SHA256 of the 26 data symbols', () => {
    const code = generateRecoveryCode();
    const data = code.replace(/-/g, '').slice(0, 26);
    const expected = hkdf(sha256, utf8(data), undefined, utf8(RECOVERY_KEY_LABEL), 32);
    expect(toHex(recoveryKeyFromCode(code))).toBe(toHex(expected));
    expect(toHex(recoveryKeyFromCode(generateRecoveryCode()))).not.toBe(toHex(expected));
  });
});

describe('recovery keyring', () => {
  it('round-trips the secrets with the code typed any which way', async () => {
    const secrets = await generateAccountKeys();
    const accountId = newId<AccountId>();
    const code = generateRecoveryCode();
    const sealed = sealKeyringWithRecovery(secrets, code, accountId);
    expect([sealed[0], sealed[1]]).toEqual([0x01, 0x03]);
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const opened = await openKeyringWithRecovery(sealed, typed, accountId);
    expect(secretsHex(opened)).toEqual(secretsHex(secrets));
  });

  it('refuses a mistyped code as BAD_RECOVERY_CODE, a wrong one as INTEGRITY', async () => {
    const secrets = await generateAccountKeys();
    const accountId = newId<AccountId>();
    const code = generateRecoveryCode();
    const sealed = sealKeyringWithRecovery(secrets, code, accountId);
    const s = symbolsOf(code);
    s[3] = s[3] === 'A' ? 'B' : 'A';
    expect(await codeOf(() => openKeyringWithRecovery(sealed, join(s), accountId))).toBe(
      'BAD_RECOVERY_CODE',
    );
    expect(
      await codeOf(() => openKeyringWithRecovery(sealed, generateRecoveryCode(), accountId)),
    ).toBe('INTEGRITY');
    expect(await codeOf(() => openKeyringWithRecovery(sealed, code, newId<AccountId>()))).toBe(
      'INTEGRITY',
    );
  });

  it('refuses any random mutation with a CarnetError (property)', async () => {
    const secrets = await generateAccountKeys();
    const accountId = newId<AccountId>();
    const code = generateRecoveryCode();
    const sealed = sealKeyringWithRecovery(secrets, code, accountId);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: sealed.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (pos, x) => {
          const t = sealed.slice();
          t[pos] = (t[pos] as number) ^ x;
          const c = await codeOf(() => openKeyringWithRecovery(t, code, accountId));
          expect(c).toMatch(/^(INTEGRITY|FORMAT|TRUNCATED|DOWNGRADE|CONTEXT_MISMATCH)$/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

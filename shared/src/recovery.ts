/**
 * Recovery codes and the recovery-sealed keyring.
 *
 * A recovery code is 26 random Crockford base32 symbols (130 bits) followed by 2 check
 * symbols, shown once at sign-up as 7 groups of 4: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
 * Read as a 28-digit base-32 number the whole code is ≡ 0 (mod 1021). 1021 is a prime that
 * divides neither 32, nor any symbol difference (< 32), nor 31 (= 32 − 1), nor 1023 (= 32² − 1),
 * so every single substitution, every adjacent swap and every swap across one symbol changes
 * the residue and is caught (`BAD_RECOVERY_CODE`); other errors slip through with
 * probability ≈ 1/1021.
 *
 * The keyring key is HKDF-SHA256 of the code, with no slow KDF: the code holds 130 uniformly
 * random bits, so an exhaustive search costs 2^129 evaluations on average whatever each one
 * costs. A slow KDF protects low-entropy secrets (passwords); here it would only slow down
 * the honest user.
 */
import { utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { AccountId } from './ids';
import { parseId } from './ids';
import { type AccountSecrets } from './account';
import { openEnvelope, sealEnvelope } from './envelope';
import { decodeKeyringPlaintext, encodeKeyringPlaintext, keyringContext } from './keyring';
import { hkdfSha256 } from './primitives/sha2';
import { randomBytes } from './primitives/random';
import { KIND } from './registry';

declare const recoveryBrand: unique symbol;
/** Symmetric key derived from a recovery code; seals the recovery copy of the keyring. */
export type RecoveryKey = Uint8Array & { readonly [recoveryBrand]: 'RecoveryKey' };

/** Crockford base32 alphabet (no I, L, O, U). */
export const CROCKFORD_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Random symbols in a code (26 × 5 = 130 bits). */
export const RECOVERY_DATA_SYMBOLS = 26;
/** Check symbols after the data (a residue mod {@link RECOVERY_CHECK_MODULUS}, < 1024). */
export const RECOVERY_CHECK_SYMBOLS = 2;
/** The prime modulus of the check. */
export const RECOVERY_CHECK_MODULUS = 1021;
/** HKDF `info` of the recovery key. */
export const RECOVERY_KEY_LABEL = 'carnet/v1/recovery/keyring-key';

const TOTAL = RECOVERY_DATA_SYMBOLS + RECOVERY_CHECK_SYMBOLS;
const GROUP = 4;

/** Symbol values, with Crockford's aliases: O → 0, I and L → 1; case-insensitive. */
const DECODE = new Map<string, number>();
for (const [i, c] of [...CROCKFORD_ALPHABET].entries()) {
  DECODE.set(c, i);
  DECODE.set(c.toLowerCase(), i);
}
for (const [c, v] of [
  ['O', 0],
  ['o', 0],
  ['I', 1],
  ['i', 1],
  ['L', 1],
  ['l', 1],
] as const) {
  DECODE.set(c, v);
}

/** Residue mod 1021 of symbols read as a base-32 number. */
function residue(symbols: readonly number[]): number {
  let r = 0;
  for (const s of symbols) r = (r * 32 + s) % RECOVERY_CHECK_MODULUS;
  return r;
}

/** The 2 check symbols that make the whole code ≡ 0 (mod 1021). */
function checkSymbols(data: readonly number[]): [number, number] {
  // (N · 32² + c) ≡ 0  ⇔  c ≡ −N · 1024 (mod 1021).
  const c =
    (RECOVERY_CHECK_MODULUS - ((residue(data) * 1024) % RECOVERY_CHECK_MODULUS)) %
    RECOVERY_CHECK_MODULUS;
  return [c >>> 5, c & 31];
}

function render(symbols: readonly number[]): string {
  const chars = symbols.map((s) => CROCKFORD_ALPHABET[s]!).join('');
  const groups: string[] = [];
  for (let i = 0; i < chars.length; i += GROUP) groups.push(chars.slice(i, i + GROUP));
  return groups.join('-');
}

/** A fresh recovery code, e.g. `7G2K-…` (7 groups of 4 symbols, 130 random bits). */
export function generateRecoveryCode(): string {
  // 256 is a multiple of 32, so masking each byte to 5 bits keeps symbols uniform.
  return encodeRecoveryCode(randomBytes(RECOVERY_DATA_SYMBOLS).map((b) => b & 31));
}

/**
 * The recovery code whose data symbols are `symbols` (26 values in 0..31), check appended.
 * For vectors and tests; applications call {@link generateRecoveryCode}.
 */
export function encodeRecoveryCode(symbols: Uint8Array): string {
  if (
    !(symbols instanceof Uint8Array) ||
    symbols.length !== RECOVERY_DATA_SYMBOLS ||
    symbols.some((s) => s > 31)
  ) {
    throw invalidArgument('symbols', '26 values from 0 to 31');
  }
  const data = [...symbols];
  return render([...data, ...checkSymbols(data)]);
}

/**
 * Parses a recovery code as a person may type it: any case, spaces or dashes anywhere,
 * O/I/L for 0/1/1. Returns the canonical form. Throws `BAD_RECOVERY_CODE` for a wrong length,
 * a character outside the alphabet, or a failed check.
 */
export function parseRecoveryCode(input: string): string {
  if (typeof input !== 'string') throw invalidArgument('recoveryCode', 'a string');
  const cleaned = input.normalize('NFKC').replace(/[\s\-‐‑‒–—_.]/g, '');
  if (cleaned.length !== TOTAL) throw new CarnetError('BAD_RECOVERY_CODE');
  const symbols: number[] = [];
  for (const ch of cleaned) {
    const v = DECODE.get(ch);
    if (v === undefined) throw new CarnetError('BAD_RECOVERY_CODE');
    symbols.push(v);
  }
  const c = (symbols[TOTAL - 2] as number) * 32 + (symbols[TOTAL - 1] as number);
  // c < 1021 keeps the encoding unique (c and c + 1021 would otherwise both pass).
  if (residue(symbols) !== 0 || c >= RECOVERY_CHECK_MODULUS) {
    throw new CarnetError('BAD_RECOVERY_CODE');
  }
  return render(symbols);
}

/**
 * The recovery key: HKDF-SHA256(ikm = the 26 canonical data symbols in ASCII, no salt,
 * info = {@link RECOVERY_KEY_LABEL}). Throws `BAD_RECOVERY_CODE` for a mistyped code.
 */
export function recoveryKeyFromCode(code: string): RecoveryKey {
  const data = parseRecoveryCode(code).replace(/-/g, '').slice(0, RECOVERY_DATA_SYMBOLS);
  return hkdfSha256(utf8(data), undefined, utf8(RECOVERY_KEY_LABEL), 32) as RecoveryKey;
}

/**
 * HKDF label of the recovery auth key. The keyring key from the same code uses another label
 * ({@link RECOVERY_KEY_LABEL}), so the relay, which learns this key, learns nothing about the
 * key that seals the recovery keyring.
 */
export const RECOVERY_AUTH_LABEL = 'carnet/v1/recovery/auth-key';

/**
 * The key sent to the relay's `/auth/recover` (which stores only its hash): HKDF-SHA256 of the
 * same canonical data symbols as {@link recoveryKeyFromCode}, under {@link RECOVERY_AUTH_LABEL}.
 * Throws `BAD_RECOVERY_CODE` for a mistyped code.
 */
export function recoveryAuthKey(code: string): Uint8Array {
  const data = parseRecoveryCode(code).replace(/-/g, '').slice(0, RECOVERY_DATA_SYMBOLS);
  return hkdfSha256(utf8(data), undefined, utf8(RECOVERY_AUTH_LABEL), 32);
}

function checkAccountId(accountId: AccountId): void {
  parseId<AccountId>(accountId, 'accountId');
}

/**
 * Seals the keyring under the recovery code. The result is exactly an envelope of kind
 * KEYRING_RECOVERY bound to the account id (no clear parameters: nothing to tune).
 */
export function sealKeyringWithRecovery(
  secrets: AccountSecrets,
  code: string,
  accountId: AccountId,
): Uint8Array {
  checkAccountId(accountId);
  const key = recoveryKeyFromCode(code);
  const plaintext = encodeKeyringPlaintext(secrets, accountId);
  try {
    return sealEnvelope(
      KIND.KEYRING_RECOVERY,
      key,
      plaintext,
      keyringContext(KIND.KEYRING_RECOVERY, accountId),
    );
  } finally {
    plaintext.fill(0);
    key.fill(0);
  }
}

/**
 * Opens the recovery copy of the keyring. Throws `BAD_RECOVERY_CODE` for a mistyped code
 * (failed check), `INTEGRITY` for a well-formed but wrong code, another account or any edited
 * byte, and `TRUNCATED` / `DOWNGRADE` / `FORMAT` / `CONTEXT_MISMATCH` for structure.
 */
export async function openKeyringWithRecovery(
  sealed: Uint8Array,
  code: string,
  accountId: AccountId,
): Promise<AccountSecrets> {
  checkAccountId(accountId);
  const key = recoveryKeyFromCode(code);
  let plaintext: Uint8Array;
  try {
    plaintext = openEnvelope(
      KIND.KEYRING_RECOVERY,
      key,
      sealed,
      keyringContext(KIND.KEYRING_RECOVERY, accountId),
    );
  } finally {
    key.fill(0);
  }
  return decodeKeyringPlaintext(plaintext, accountId);
}

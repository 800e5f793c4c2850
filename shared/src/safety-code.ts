/**
 * Fingerprints and safety codes of key bundles.
 *
 * The fingerprint is SHA-256 over a domain string and the bundle's public parts (account id,
 * role, identity key, encryption key; not the creation time, so re-signing the same keys keeps
 * the code). The safety code shows ~100 bits of it as 30 decimal digits in 6 groups of 5,
 * which people can read aloud or compare on two screens. 100 bits against a second-preimage
 * search is far beyond reach, and digits survive being read over the phone in any language;
 * see docs/protocol-parts/20-accounts-keyring.md for the reasoning.
 */
import { concatBytes, equalBytes, fromBase64url, lp, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import { parseKeyBundle, ROLE, type KeyBundle } from './account';
import { sha256 } from './primitives/sha2';

/** Domain string of the fingerprint hash. */
export const FINGERPRINT_DOMAIN = 'carnet/v1/key-bundle/fingerprint';

/** Digits in a safety code. */
export const SAFETY_CODE_DIGITS = 30;
const GROUP = 5;

type BundleLike = Pick<
  KeyBundle,
  'accountId' | 'role' | 'identityPublicKey' | 'encryptionPublicKey'
>;

/**
 * The 32-byte fingerprint of a bundle. A `Uint8Array` is parsed for structure only (its
 * signature is NOT checked): verify bundles from the relay with `verifyKeyBundle` first.
 */
export function fingerprintBytes(bundle: KeyBundle | Uint8Array): Uint8Array {
  const b: BundleLike = bundle instanceof Uint8Array ? parseKeyBundle(bundle) : bundle;
  return sha256(
    concatBytes(
      lp(utf8(FINGERPRINT_DOMAIN)),
      fromBase64url(b.accountId),
      new Uint8Array([ROLE[b.role]]),
      b.identityPublicKey,
      b.encryptionPublicKey,
    ),
  );
}

/**
 * The safety code of a bundle: 30 digits in 6 groups of 5, e.g. `01234 56789 …`. Each group
 * is a 40-bit big-endian slice of the fingerprint reduced mod 100000 (bias below 1e-7).
 * A `Uint8Array` is parsed for structure only, as in {@link fingerprintBytes}.
 */
export function fingerprint(bundle: KeyBundle | Uint8Array): string {
  const fp = fingerprintBytes(bundle);
  const groups: string[] = [];
  for (let g = 0; g < SAFETY_CODE_DIGITS / GROUP; g++) {
    let n = 0;
    // 5 bytes = 40 bits; fits a double exactly.
    for (let i = 0; i < 5; i++) n = n * 256 + (fp[g * 5 + i] as number);
    groups.push(String(n % 100000).padStart(GROUP, '0'));
  }
  return groups.join(' ');
}

/**
 * Parses a safety code typed or pasted by a person: full-width digits, spaces, dashes and dots
 * are tolerated. Returns the canonical form (6 groups of 5 separated by single spaces).
 * Throws `INVALID_ARGUMENT` if it is not 30 digits.
 */
export function parseSafetyCode(input: string): string {
  if (typeof input !== 'string') throw invalidArgument('safetyCode', 'a string');
  const digits = input.normalize('NFKC').replace(/[\s\-‐‑‒–—.·_]/g, '');
  if (!/^[0-9]{30}$/.test(digits)) throw invalidArgument('safetyCode', '30 digits');
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += GROUP) groups.push(digits.slice(i, i + GROUP));
  return groups.join(' ');
}

/**
 * Compares two safety codes, each in any form {@link parseSafetyCode} accepts. Throws
 * `INVALID_ARGUMENT` if either is malformed, so a typing slip is not reported as a mismatch.
 */
export function safetyCodesEqual(a: string, b: string): boolean {
  return equalBytes(utf8(parseSafetyCode(a)), utf8(parseSafetyCode(b)));
}

/** Throws `KEY_UNVERIFIED` unless `bundle`'s safety code equals `expected`. */
export function assertSafetyCode(bundle: KeyBundle, expected: string): void {
  if (!safetyCodesEqual(fingerprint(bundle), expected)) throw new CarnetError('KEY_UNVERIFIED');
}

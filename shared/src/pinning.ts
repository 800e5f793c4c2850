/**
 * Key pinning. The first bundle a client accepts for an account is pinned (trust on first
 * use, or verified if the caller passes a safety code compared out of band). Any later bundle
 * for that account with other keys is a hard stop: `KEY_CHANGED`, never a warning. Accepting
 * a changed key takes a separate, explicit call with a verified code.
 *
 * The pin is the full 256-bit fingerprint (hex), not the 100-bit safety code: the automatic
 * check costs nothing more at full strength, and only the human comparison needs to be short.
 */
import { CarnetError } from './errors';
import type { AccountId } from './ids';
import type { KeyBundle } from './account';
import { toHex } from './bytes';
import { fingerprint, fingerprintBytes, safetyCodesEqual } from './safety-code';

/** Where a client remembers the fingerprint it pinned for each account. */
export interface PinStore {
  /** The pinned fingerprint (64 hex digits) of `accountId`, if any. */
  get(accountId: AccountId): Promise<string | undefined>;
  /** Pins (or, only through {@link acceptChangedKey}, re-pins) `accountId`. */
  set(accountId: AccountId, fingerprint: string): Promise<void>;
}

/** A {@link PinStore} in memory (tests, CLI sessions). */
export class MemoryPinStore implements PinStore {
  readonly #pins = new Map<AccountId, string>();

  /** {@inheritDoc PinStore.get} */
  get(accountId: AccountId): Promise<string | undefined> {
    return Promise.resolve(this.#pins.get(accountId));
  }

  /** {@inheritDoc PinStore.set} */
  set(accountId: AccountId, fingerprint: string): Promise<void> {
    this.#pins.set(accountId, fingerprint);
    return Promise.resolve();
  }
}

/** How {@link pinKeyBundle} accepted a bundle. */
export type PinStatus =
  /** First sight, no code given: trusted on first use. */
  | 'trusted-on-first-use'
  /** First sight, and the caller's verified code matched. */
  | 'verified'
  /** Same keys as the pinned ones. */
  | 'unchanged';

/** Options of {@link pinKeyBundle}. */
export interface PinOptions {
  /** A safety code the user compared out of band; a mismatch is `KEY_UNVERIFIED`. */
  expectedSafetyCode?: string;
}

/** Result of {@link pinKeyBundle}. */
export interface PinResult {
  status: PinStatus;
  /** The bundle's safety code, to show. */
  safetyCode: string;
  /** The bundle's full fingerprint in hex, as pinned. */
  fingerprint: string;
}

/** The pin value of a bundle: its full fingerprint in lower-case hex. */
export function pinValue(bundle: KeyBundle): string {
  return toHex(fingerprintBytes(bundle));
}

/**
 * Checks a verified bundle against the pin store and pins it on first sight.
 * Throws `KEY_UNVERIFIED` if `expectedSafetyCode` is given and differs, `KEY_CHANGED` if the
 * account is pinned to other keys (even if `expectedSafetyCode` matches the new ones: a change
 * is accepted only through {@link acceptChangedKey}), `INVALID_ARGUMENT` for a malformed code.
 */
export async function pinKeyBundle(
  store: PinStore,
  bundle: KeyBundle,
  options: PinOptions = {},
): Promise<PinResult> {
  const safetyCode = fingerprint(bundle);
  const pin = pinValue(bundle);
  const { expectedSafetyCode } = options;
  if (expectedSafetyCode !== undefined && !safetyCodesEqual(safetyCode, expectedSafetyCode)) {
    throw new CarnetError('KEY_UNVERIFIED');
  }
  const pinned = await store.get(bundle.accountId);
  if (pinned !== undefined) {
    // Anything but the exact pin (including a corrupted store entry) is a change.
    if (pinned !== pin) throw new CarnetError('KEY_CHANGED');
    return { status: 'unchanged', safetyCode, fingerprint: pin };
  }
  await store.set(bundle.accountId, pin);
  return {
    status: expectedSafetyCode === undefined ? 'trusted-on-first-use' : 'verified',
    safetyCode,
    fingerprint: pin,
  };
}

/**
 * Re-pins an account to new keys after the user verified the new safety code out of band.
 * Throws `KEY_UNVERIFIED` if `verifiedSafetyCode` does not match `bundle`. This is the only
 * way past a `KEY_CHANGED`; there is deliberately no "accept anyway".
 */
export async function acceptChangedKey(
  store: PinStore,
  bundle: KeyBundle,
  verifiedSafetyCode: string,
): Promise<PinResult> {
  const safetyCode = fingerprint(bundle);
  if (!safetyCodesEqual(safetyCode, verifiedSafetyCode)) throw new CarnetError('KEY_UNVERIFIED');
  const pin = pinValue(bundle);
  await store.set(bundle.accountId, pin);
  return { status: 'verified', safetyCode, fingerprint: pin };
}

/**
 * Other accounts' key bundles: fetched from the relay's directory, verified (self-signature,
 * account id), checked against the pin store (`KEY_CHANGED` on any change) and, where the
 * caller has one, against a safety code compared out of band or signed in a manifest.
 */
import { verifyKeyBundle, type KeyBundle } from '../account';
import { CarnetError } from '../errors';
import { isId, type AccountId } from '../ids';
import { acceptChangedKey, pinKeyBundle, type PinStatus } from '../pinning';
import { safetyCodesEqual } from '../safety-code';
import type { Core } from './core';
import type { Contact } from './types';
import type { DirectoryEntry } from './wire';

/** Is `who` an account id rather than a user name? (Not a type guard: both are strings.) */
function byId(who: string): boolean {
  return isId(who);
}

/** A verified, pinned bundle. */
export interface VerifiedContact {
  entry: DirectoryEntry;
  bundle: KeyBundle;
  safetyCode: string;
  pin: PinStatus;
}

/** Directory look-ups with verification and a per-session cache. */
export class Contacts {
  readonly #cache = new Map<AccountId, VerifiedContact>();

  constructor(private readonly core: Core) {}

  /** Forgets cached bundles (on logout). */
  clear(): void {
    this.#cache.clear();
  }

  /**
   * The verified bundle of `who` (user name or account id), pinned on first sight. With
   * `expectedSafetyCode`, a mismatch is `KEY_UNVERIFIED`; a pinned account whose keys changed
   * is `KEY_CHANGED`.
   */
  async get(who: string, expectedSafetyCode?: string): Promise<VerifiedContact> {
    const pins = this.core.pins;
    const cached = byId(who) ? this.#cache.get(who as AccountId) : undefined;
    if (cached !== undefined && expectedSafetyCode === undefined) return cached;
    const entry = await this.fetch(who);
    const bundle = await verifyKeyBundle(entry.keyBundle, entry.accountId);
    if (bundle.role !== entry.role) throw new CarnetError('KEY_UNVERIFIED');
    const { status, safetyCode } = await pinKeyBundle(pins, bundle, {
      ...(expectedSafetyCode === undefined ? {} : { expectedSafetyCode }),
    });
    const contact = { entry, bundle, safetyCode, pin: status };
    this.#cache.set(entry.accountId, contact);
    return contact;
  }

  /**
   * The bundle of a folder member, which must carry the safety code the owner signed into the
   * manifest for them (`KEY_UNVERIFIED` otherwise: the relay substituted a key).
   */
  async member(accountId: AccountId, signedSafetyCode: string): Promise<VerifiedContact> {
    const c = await this.get(accountId);
    if (!safetyCodesEqual(c.safetyCode, signedSafetyCode)) throw new CarnetError('KEY_UNVERIFIED');
    return c;
  }

  /**
   * User names are not in the signed key bundles, so the relay decides which account a name
   * means. The first account seen for a name is remembered on this device; a relay that later
   * maps the name to another account (or another name to that account's place) is refused with
   * `KEY_CHANGED`, as for a changed key.
   */
  async #checkNameBinding(entry: DirectoryEntry): Promise<void> {
    const key = `name-binding:${entry.userName}`;
    const seen = await this.core.store.get(key);
    if (seen === undefined) await this.core.store.set(key, entry.accountId);
    else if (seen !== entry.accountId) {
      throw new CarnetError(
        'KEY_CHANGED',
        `The relay now maps ${entry.userName} to another account.`,
      );
    }
  }

  /** The directory entry of `who`; the relay must answer for the account asked about. */
  private async fetch(who: string): Promise<DirectoryEntry> {
    if (!byId(who)) {
      const name = who.toLowerCase();
      const entry = await this.core.api.directoryByName(name);
      if (entry.userName !== name) throw new CarnetError('KEY_UNVERIFIED');
      await this.#checkNameBinding(entry);
      return entry;
    }
    const entry = await this.core.api.directoryById(who as AccountId);
    if (entry.accountId !== who) throw new CarnetError('KEY_UNVERIFIED');
    await this.#checkNameBinding(entry);
    return entry;
  }

  /** Re-pins `who` to the keys the relay now serves, after an out-of-band check of the code. */
  async acceptChange(who: string, verifiedSafetyCode: string): Promise<VerifiedContact> {
    const pins = this.core.pins;
    const entry = await this.fetch(who);
    const bundle = await verifyKeyBundle(entry.keyBundle, entry.accountId);
    const { status, safetyCode } = await acceptChangedKey(pins, bundle, verifiedSafetyCode);
    const contact = { entry, bundle, safetyCode, pin: status };
    this.#cache.set(entry.accountId, contact);
    return contact;
  }
}

/** The public view of a {@link VerifiedContact}. */
export function toContact(c: VerifiedContact): Contact {
  return {
    accountId: c.entry.accountId,
    userName: c.entry.userName,
    role: c.bundle.role,
    safetyCode: c.safetyCode,
    pin: c.pin,
  };
}

/**
 * The relay's own signing key (Ed25519), with which it signs deletion receipts. Clients pin it
 * on first use; people compare its fingerprint with the one the operator publishes, as they
 * compare safety codes.
 */
import { concatBytes, lp, utf8 } from './bytes';
import { invalidArgument } from './errors';
import type { IdentityPublicKey } from './keys';
import { sha256 } from './primitives/sha2';

/** Domain string of the relay key fingerprint hash. */
export const RELAY_KEY_FINGERPRINT_DOMAIN = 'carnet/v1/relay-key/fingerprint';

const DIGITS = 30;
const GROUP = 5;

/**
 * The fingerprint of a relay's public key, in the form of a safety code: 30 digits in 6 groups
 * of 5, each group a 40-bit big-endian slice of `SHA-256(lp(RELAY_KEY_FINGERPRINT_DOMAIN) ‖ key)`
 * reduced mod 100000 — the same construction as account safety codes (safety-code.ts), under
 * its own domain so that a relay key's code can never equal an account's.
 */
export function relayKeyFingerprint(relayPub: IdentityPublicKey): string {
  if (!(relayPub instanceof Uint8Array) || relayPub.length !== 32)
    throw invalidArgument('relayPub', '32 bytes');
  const fp = sha256(concatBytes(lp(utf8(RELAY_KEY_FINGERPRINT_DOMAIN)), relayPub));
  const groups: string[] = [];
  for (let g = 0; g < DIGITS / GROUP; g++) {
    let n = 0;
    // 5 bytes = 40 bits; fits a double exactly.
    for (let i = 0; i < 5; i++) n = n * 256 + (fp[g * 5 + i] as number);
    groups.push(String(n % 100000).padStart(GROUP, '0'));
  }
  return groups.join(' ');
}

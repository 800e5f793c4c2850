/**
 * Patient invites. The practitioner's client draws a 32-byte invite secret that lives only in a
 * URL fragment or QR code (never sent to the relay). From it, HKDF derives:
 *
 * - a lookup id, the only thing the relay indexes the invite by;
 * - a sealing key, under which the folder key is sealed (`INVITE_FOLDER_KEY`), so the patient
 *   has access as soon as they sign up;
 * - a MAC key, with which the patient's client authenticates the key bundle it sends back
 *   (`INVITE_RESPONSE`), so that the relay cannot substitute its own key for the patient's
 *   before the practitioner adds it to the signed manifest.
 *
 * Expiry and single use are enforced by the relay, which deletes the invite when used.
 */
import { concatBytes, equalBytes, fromBase64url, toBase64url, u32, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { FolderId } from './ids';
import { openEnvelope, sealEnvelope } from './envelope';
import { asKey } from './keys';
import type { FolderKey, InviteSecret } from './keys';
import { encodeObjectId, isU32, readerFor } from './object-codec';
import { hkdfSha256, hmacSha256 } from './primitives/sha2';
import { randomBytes } from './primitives/random';
import { FORMAT, KIND } from './registry';

/** Length of an invite secret. */
export const INVITE_SECRET_LEN = 32;
/** Length of the response MAC (HMAC-SHA256). */
export const INVITE_MAC_LEN = 32;
/** Largest key bundle an invite response may carry. */
export const MAX_INVITE_BUNDLE_LEN = 64 * 1024;

const INFO_LOOKUP = utf8('carnet/v1/invite/lookup');
const INFO_SEAL = utf8('carnet/v1/invite/folder-key');
const INFO_MAC = utf8('carnet/v1/invite/response-mac');

/** A fresh random invite secret. */
export function newInviteSecret(): InviteSecret {
  return asKey<InviteSecret>(randomBytes(INVITE_SECRET_LEN));
}

function derive(secret: InviteSecret, info: Uint8Array, length: number): Uint8Array {
  asKey<InviteSecret>(secret, INVITE_SECRET_LEN);
  return hkdfSha256(secret, undefined, info, length);
}

/**
 * The id the relay stores and looks the invite up by: HKDF(secret, "carnet/v1/invite/lookup")
 * truncated to 16 bytes, in base64url (22 characters). One-way: it reveals nothing of the secret.
 */
export function inviteLookupId(secret: InviteSecret): string {
  return toBase64url(derive(secret, INFO_LOOKUP, 16));
}

/** The secret as it appears in the URL fragment: 43 base64url characters. */
export function encodeInviteSecret(secret: InviteSecret): string {
  return toBase64url(asKey<InviteSecret>(secret, INVITE_SECRET_LEN));
}

/** Parses a URL fragment's secret; `INVALID_ARGUMENT` unless it is 32 bytes of canonical base64url. */
export function decodeInviteSecret(s: string): InviteSecret {
  if (typeof s !== 'string' || s.length !== 43)
    throw invalidArgument('invite', '43 base64url characters');
  return asKey<InviteSecret>(fromBase64url(s), INVITE_SECRET_LEN);
}

/** Where an invite's folder key belongs. */
export interface InviteContext {
  folderId: FolderId;
  epoch: number;
}

/** Seals the folder key of `ctx.epoch` under the invite secret (`INVITE_FOLDER_KEY`). */
export function sealFolderKeyToInvite(
  secret: InviteSecret,
  fk: FolderKey,
  ctx: InviteContext,
): Uint8Array {
  checkInviteContext(ctx);
  asKey<FolderKey>(fk);
  return sealEnvelope(KIND.INVITE_FOLDER_KEY, derive(secret, INFO_SEAL, 32), fk, {
    folderId: ctx.folderId,
    epoch: ctx.epoch,
  });
}

/** Opens the folder key of an invite; `INTEGRITY` with the wrong secret or for another folder or epoch. */
export function openFolderKeyFromInvite(
  secret: InviteSecret,
  sealed: Uint8Array,
  ctx: InviteContext,
): FolderKey {
  checkInviteContext(ctx);
  const fk = openEnvelope(KIND.INVITE_FOLDER_KEY, derive(secret, INFO_SEAL, 32), sealed, {
    folderId: ctx.folderId,
    epoch: ctx.epoch,
  });
  return asKey<FolderKey>(fk);
}

function checkInviteContext(ctx: InviteContext): void {
  encodeObjectId(ctx.folderId, 'folderId');
  if (!isU32(ctx.epoch) || ctx.epoch < 1) throw invalidArgument('epoch', 'a u32 ≥ 1');
}

/**
 * The patient's answer: `01 11 | folderId 16 | bundleLen u32 | bundle | HMAC-SHA256 32`, the
 * MAC, under a key derived from the secret, covering every byte before it.
 */
export function macInviteResponse(
  secret: InviteSecret,
  patientKeyBundleBytes: Uint8Array,
  ctx: { folderId: FolderId },
): Uint8Array {
  if (
    !(patientKeyBundleBytes instanceof Uint8Array) ||
    patientKeyBundleBytes.length > MAX_INVITE_BUNDLE_LEN
  ) {
    throw invalidArgument('patientKeyBundleBytes', 'at most 64 KiB of bytes');
  }
  const body = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.INVITE_RESPONSE]),
    encodeObjectId(ctx.folderId, 'folderId'),
    u32(patientKeyBundleBytes.length),
    patientKeyBundleBytes,
  );
  return concatBytes(body, hmacSha256(derive(secret, INFO_MAC, 32), body));
}

/**
 * Checks an invite response and returns the key bundle bytes it carries (still to be verified
 * as a key bundle by the caller). `TRUNCATED` / `FORMAT` for malformed bytes, `INTEGRITY` if the
 * MAC does not verify (compared in constant time), `CONTEXT_MISMATCH` if it answers an invite
 * to another folder.
 */
export function verifyInviteResponse(
  secret: InviteSecret,
  response: Uint8Array,
  ctx: { folderId: FolderId },
): Uint8Array {
  const macKey = derive(secret, INFO_MAC, 32);
  const r = readerFor(response, KIND.INVITE_RESPONSE);
  const folderId = r.id<FolderId>();
  const len = r.u32();
  if (len > MAX_INVITE_BUNDLE_LEN) throw new CarnetError('FORMAT', 'The key bundle is too large.');
  const bundle = r.take(len);
  const mac = r.take(INVITE_MAC_LEN);
  r.end();
  const body = response.subarray(0, response.length - INVITE_MAC_LEN);
  if (!equalBytes(hmacSha256(macKey, body), mac)) throw new CarnetError('INTEGRITY');
  if (folderId !== ctx.folderId) throw new CarnetError('CONTEXT_MISMATCH');
  return bundle;
}

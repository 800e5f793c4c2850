/**
 * Support grants: a practitioner's signed, scoped, at-most-24-hour permission for one support
 * agent, and the keys that travel with it.
 *
 * Each grant has a fresh X25519 key pair. The in-scope folder keys (or single data keys) are
 * HPKE-wrapped to the grant's public key (`GRANT_KEY_WRAP`), and the grant's private key is
 * HPKE-wrapped to the agent's verified encryption key (`GRANT_PRIVATE_WRAP`). The relay stops
 * serving those wraps at expiry; the practitioner's client rotates the folders in scope when
 * the grant ends, so nothing written later opens with anything the agent held.
 */
import { concatBytes, fromUtf8, u16, u64, utf8 } from './bytes';
import { CarnetError, invalidArgument } from './errors';
import type { AccountId, FolderId, GrantId, RecordId } from './ids';
import { newId } from './ids';
import { asKey } from './keys';
import type {
  DataKey,
  EncryptionPrivateKey,
  EncryptionPublicKey,
  FolderKey,
  GrantPrivateKey,
  GrantPublicKey,
  IdentityPrivateKey,
  IdentityPublicKey,
} from './keys';
import {
  ByteReader,
  compareBytes,
  encodeObjectId,
  isU32,
  readerFor,
  signatureMessage,
} from './object-codec';
import { ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { x25519Keygen } from './primitives/x25519';
import { FORMAT, KIND } from './registry';
import { unwrapWithPrivateKey, wrapToPublicKey } from './wrap';

/** Right bytes of grants. Numbers are never reused. */
export const GRANT_RIGHT = {
  /** See in-scope records, read-only. */
  read: 0x01,
  /** Write-only import into the practitioner's vault; reads nothing. */
  import: 0x02,
} as const;

/** What a grant allows. */
export type GrantRight = keyof typeof GRANT_RIGHT;

/** Whole folders, or single records. */
export type GrantScope =
  { folders: FolderId[] } | { records: { folderId: FolderId; recordId: RecordId }[] };

/** The signed content of a grant. */
export interface GrantFields {
  grantId: GrantId;
  practitionerId: AccountId;
  agentId: AccountId;
  /** Safety code of the agent's key bundle, as the practitioner verified it. */
  agentFingerprint: string;
  scope: GrantScope;
  rights: GrantRight;
  /** Milliseconds since the Unix epoch. */
  notBefore: number;
  /** Milliseconds since the Unix epoch; `0 < expiresAt − notBefore ≤ 24 h`. */
  expiresAt: number;
  /** Why (shown to the patient), at most 500 characters. */
  reason: string;
  grantPublicKey: GrantPublicKey;
}

/** Longest grant: 24 hours. */
export const MAX_GRANT_DURATION_MS = 24 * 60 * 60 * 1000;
/** Longest reason, in Unicode code points. */
export const MAX_REASON_CHARS = 500;
/** Domain string of grant signatures. */
export const GRANT_SIGNATURE_DOMAIN = 'carnet/v1/grant/signature';

const RIGHT_BY_BYTE = new Map<number, GrantRight>(
  (Object.entries(GRANT_RIGHT) as [GrantRight, number][]).map(([r, b]) => [b, r]),
);
const SCOPE_FOLDERS = 0x01;
const SCOPE_RECORDS = 0x02;
const MAX_SCOPE = 0xffff;

type Fail = (field: string, expected: string) => CarnetError;

/** A new grant's fields; the key pair is generated, the id too unless given. */
export type NewGrant = Omit<GrantFields, 'grantId' | 'grantPublicKey'> & { grantId?: GrantId };

/**
 * Creates and signs a grant with a fresh grant key pair. `INVALID_ARGUMENT` for a duration of
 * zero or more than 24 hours, a reason over 500 characters, an empty scope or a malformed field.
 * Layout: `01 0d | grantId 16 | practitionerId 16 | agentId 16 | fpLen u8 | agentFingerprint |
 * rights u8 | notBefore u64 | expiresAt u64 | scopeType u8 (1 folders, 2 records) | count u16 |
 * (folderId 16 [| recordId 16])* | reasonLen u16 | reason | grantPublicKey 32 | signature 64`,
 * scope entries sorted by bytes; the signature covers `lp(GRANT_SIGNATURE_DOMAIN) ‖ every byte
 * before it`.
 */
export async function createGrant(
  practitionerSeed: IdentityPrivateKey,
  fields: NewGrant,
): Promise<{ grant: Uint8Array; grantPrivateKey: GrantPrivateKey; fields: GrantFields }> {
  const pair = await x25519Keygen();
  const full: GrantFields = {
    ...fields,
    grantId: fields.grantId ?? newId<GrantId>(),
    grantPublicKey: asKey<GrantPublicKey>(pair.publicKey),
  };
  const fail: Fail = (f, e) => invalidArgument(f, e);
  checkGrant(full, fail);
  const fp = utf8(full.agentFingerprint);
  const tbs = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.GRANT]),
    encodeObjectId(full.grantId, 'grantId'),
    encodeObjectId(full.practitionerId, 'practitionerId'),
    encodeObjectId(full.agentId, 'agentId'),
    new Uint8Array([fp.length]),
    fp,
    new Uint8Array([GRANT_RIGHT[full.rights]]),
    u64(full.notBefore),
    u64(full.expiresAt),
    encodeScope(full.scope, fail),
    u16(utf8(full.reason).length),
    utf8(full.reason),
    full.grantPublicKey,
  );
  const signature = await ed25519Sign(
    practitionerSeed,
    signatureMessage(GRANT_SIGNATURE_DOMAIN, tbs),
  );
  return {
    grant: concatBytes(tbs, signature),
    grantPrivateKey: asKey<GrantPrivateKey>(pair.privateKey),
    fields: full,
  };
}

/** What the verifier knows and wants. */
export interface GrantCheck {
  /** The agent using the grant. */
  agentId: AccountId;
  /** The safety code of that agent's key bundle, as pinned by the verifier. */
  agentFingerprint: string;
  /** Current time, milliseconds since the Unix epoch. */
  now: number;
  /** The folder being accessed. */
  folderId?: FolderId;
  /** The record being accessed (with `folderId`). */
  recordId?: RecordId;
  /** The right being exercised. */
  right: GrantRight;
  /** The practitioner the verifier expects to have signed, if known. */
  practitionerId?: AccountId;
}

/**
 * Verifies a grant and checks that it allows `check`. Errors, in the order checked:
 * `TRUNCATED` / `DOWNGRADE` / `FORMAT` (malformed; includes a signed duration over 24 h);
 * `ACL_UNSIGNED` (signature absent or not valid under `practitionerPub`: tampered or forged);
 * `CONTEXT_MISMATCH` (a grant for another agent, or from another practitioner);
 * `KEY_UNVERIFIED` (the grant names another key fingerprint for the agent);
 * `GRANT_NOT_YET_VALID` (`now < notBefore`); `GRANT_EXPIRED` (`now ≥ expiresAt`);
 * `GRANT_RIGHTS` (another right); `GRANT_SCOPE` (the folder or record is outside the scope; with
 * a record scope, a folder alone is outside it). With neither `folderId` nor `recordId` the scope
 * is not checked (listing a grant, not using it).
 */
export async function verifyGrant(
  practitionerPub: IdentityPublicKey,
  bytes: Uint8Array,
  check: GrantCheck,
): Promise<GrantFields> {
  if (!Number.isSafeInteger(check.now) || check.now < 0)
    throw invalidArgument('now', 'a safe non-negative integer');
  const { fields, tbs, signature } = parseGrant(bytes);
  if (
    !(await ed25519Verify(
      practitionerPub,
      signatureMessage(GRANT_SIGNATURE_DOMAIN, tbs),
      signature,
    ))
  ) {
    throw new CarnetError('ACL_UNSIGNED', 'The support grant is not signed by the practitioner.');
  }
  if (fields.agentId !== check.agentId) throw new CarnetError('CONTEXT_MISMATCH');
  if (check.practitionerId !== undefined && fields.practitionerId !== check.practitionerId) {
    throw new CarnetError('CONTEXT_MISMATCH');
  }
  if (fields.agentFingerprint !== check.agentFingerprint) throw new CarnetError('KEY_UNVERIFIED');
  if (check.now < fields.notBefore) throw new CarnetError('GRANT_NOT_YET_VALID');
  if (check.now >= fields.expiresAt) throw new CarnetError('GRANT_EXPIRED');
  if (fields.rights !== check.right) throw new CarnetError('GRANT_RIGHTS');
  if (check.folderId !== undefined || check.recordId !== undefined) {
    if (!inScope(fields.scope, check.folderId, check.recordId))
      throw new CarnetError('GRANT_SCOPE');
  }
  return fields;
}

/**
 * Parses a grant's structure without checking its signature, for the relay, which then checks
 * the signature under the practitioner's key bundle itself ({@link verifyGrantSignature}).
 * `TRUNCATED` / `DOWNGRADE` / `FORMAT` as in {@link verifyGrant}; `ACL_UNSIGNED` if the
 * signature is absent. The fields are NOT authenticated: never act on them before verifying.
 */
export function inspectGrant(bytes: Uint8Array): GrantFields {
  return parseGrant(bytes).fields;
}

/**
 * Checks only the structure and the practitioner's signature of a grant — not the agent, time,
 * rights or scope (that is {@link verifyGrant}'s job on the agent's side). For the relay, which
 * accepts a grant from the practitioner who signed it, and for listing grants.
 * `ACL_UNSIGNED` if the signature is absent or not valid under `practitionerPub`.
 */
export async function verifyGrantSignature(
  practitionerPub: IdentityPublicKey,
  bytes: Uint8Array,
): Promise<GrantFields> {
  const { fields, tbs, signature } = parseGrant(bytes);
  if (
    !(await ed25519Verify(
      practitionerPub,
      signatureMessage(GRANT_SIGNATURE_DOMAIN, tbs),
      signature,
    ))
  ) {
    throw new CarnetError('ACL_UNSIGNED', 'The support grant is not signed by the practitioner.');
  }
  return fields;
}

function inScope(
  scope: GrantScope,
  folderId: FolderId | undefined,
  recordId: RecordId | undefined,
): boolean {
  if (folderId === undefined) return false;
  if ('folders' in scope) return scope.folders.includes(folderId);
  if (recordId === undefined) return false;
  return scope.records.some((r) => r.folderId === folderId && r.recordId === recordId);
}

// ---------------------------------------------------------------------------------------------
// Key wraps

/** A folder key wrapped to a grant: bound to the grant, folder and epoch. */
export interface GrantFolderKeyContext {
  grantId: GrantId;
  folderId: FolderId;
  epoch: number;
  recordId?: undefined;
  version?: undefined;
}

/** A data key wrapped to a grant: bound to the grant, folder, record and version. */
export interface GrantDataKeyContext {
  grantId: GrantId;
  folderId: FolderId;
  recordId: RecordId;
  version: number;
  epoch?: number;
}

/** Context of a key wrapped to a grant. */
export type GrantKeyContext = GrantFolderKeyContext | GrantDataKeyContext;

/**
 * HPKE-wraps a folder key (folder scope) or a data key (record scope) to the grant's public key
 * (`GRANT_KEY_WRAP`). Only for `read` grants: an `import` grant must receive no key at all.
 */
export function wrapKeyToGrant(
  grantPub: GrantPublicKey,
  key: FolderKey | DataKey,
  ctx: GrantKeyContext,
): Promise<Uint8Array> {
  asKey<FolderKey | DataKey>(key);
  return wrapToPublicKey(KIND.GRANT_KEY_WRAP, grantPub, key, grantKeyAd(ctx));
}

/**
 * Opens a key wrapped to a grant; `INTEGRITY` if it was wrapped for another grant, folder,
 * epoch, record or version. The caller must also check the context against the verified grant
 * ({@link verifyGrant} with the same folder and record).
 */
export function unwrapKeyAsGrant(
  grantPriv: GrantPrivateKey,
  wrapped: Uint8Array,
  ctx: GrantFolderKeyContext,
): Promise<FolderKey>;
export function unwrapKeyAsGrant(
  grantPriv: GrantPrivateKey,
  wrapped: Uint8Array,
  ctx: GrantDataKeyContext,
): Promise<DataKey>;
export function unwrapKeyAsGrant(
  grantPriv: GrantPrivateKey,
  wrapped: Uint8Array,
  ctx: GrantKeyContext,
): Promise<FolderKey | DataKey>;
export async function unwrapKeyAsGrant(
  grantPriv: GrantPrivateKey,
  wrapped: Uint8Array,
  ctx: GrantKeyContext,
): Promise<FolderKey | DataKey> {
  const key = await unwrapWithPrivateKey(KIND.GRANT_KEY_WRAP, grantPriv, wrapped, grantKeyAd(ctx));
  return asKey<FolderKey | DataKey>(key);
}

function grantKeyAd(ctx: GrantKeyContext): GrantKeyContext {
  encodeObjectId(ctx.grantId, 'grantId');
  encodeObjectId(ctx.folderId, 'folderId');
  const epochOk = (e: unknown): boolean => isU32(e) && e >= 1;
  if (ctx.recordId === undefined) {
    if (ctx.version !== undefined) throw invalidArgument('version', 'absent for a folder key');
    if (!epochOk(ctx.epoch)) throw invalidArgument('epoch', 'a u32 ≥ 1');
    return { grantId: ctx.grantId, folderId: ctx.folderId, epoch: ctx.epoch };
  }
  encodeObjectId(ctx.recordId, 'recordId');
  if (!isU32(ctx.version) || ctx.version < 1) throw invalidArgument('version', 'a u32 ≥ 1');
  if (ctx.epoch !== undefined && !epochOk(ctx.epoch)) throw invalidArgument('epoch', 'a u32 ≥ 1');
  const out: GrantDataKeyContext = {
    grantId: ctx.grantId,
    folderId: ctx.folderId,
    recordId: ctx.recordId,
    version: ctx.version,
  };
  if (ctx.epoch !== undefined) out.epoch = ctx.epoch;
  return out;
}

/** Where a grant's private key wrap belongs. */
export interface GrantAgentContext {
  grantId: GrantId;
  agentId: AccountId;
}

/** HPKE-wraps the grant's private key to the agent's verified X25519 key (`GRANT_PRIVATE_WRAP`). */
export function wrapGrantPrivateKeyToAgent(
  agentEncPub: EncryptionPublicKey,
  grantPriv: GrantPrivateKey,
  ctx: GrantAgentContext,
): Promise<Uint8Array> {
  asKey<GrantPrivateKey>(grantPriv);
  return wrapToPublicKey(KIND.GRANT_PRIVATE_WRAP, agentEncPub, grantPriv, agentAd(ctx));
}

/** Opens the grant's private key as the agent; `INTEGRITY` if it was for another grant or agent. */
export async function unwrapGrantPrivateKeyAsAgent(
  agentEncPriv: EncryptionPrivateKey,
  wrapped: Uint8Array,
  ctx: GrantAgentContext,
): Promise<GrantPrivateKey> {
  return asKey<GrantPrivateKey>(
    await unwrapWithPrivateKey(KIND.GRANT_PRIVATE_WRAP, agentEncPriv, wrapped, agentAd(ctx)),
  );
}

function agentAd(ctx: GrantAgentContext): { grantId: GrantId; accountId: AccountId } {
  encodeObjectId(ctx.grantId, 'grantId');
  encodeObjectId(ctx.agentId, 'agentId');
  return { grantId: ctx.grantId, accountId: ctx.agentId };
}

// ---------------------------------------------------------------------------------------------
// Encoding

function encodeScope(scope: GrantScope, fail: Fail): Uint8Array {
  const folders = 'folders' in scope;
  const rows = folders
    ? scope.folders.map((f) => encodeObjectId(f, 'scope.folders'))
    : scope.records.map((r) =>
        concatBytes(
          encodeObjectId(r.folderId, 'scope.folderId'),
          encodeObjectId(r.recordId, 'scope.recordId'),
        ),
      );
  rows.sort(compareBytes);
  for (let i = 1; i < rows.length; i++) {
    if (compareBytes(rows[i - 1]!, rows[i]!) === 0) throw fail('scope', 'free of duplicates');
  }
  return concatBytes(
    new Uint8Array([folders ? SCOPE_FOLDERS : SCOPE_RECORDS]),
    u16(rows.length),
    ...rows,
  );
}

/** Parses a grant's structure (signature not checked). */
function parseGrant(bytes: Uint8Array): {
  fields: GrantFields;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const r = readerFor(bytes, KIND.GRANT);
  const fail: Fail = (f, e) => new CarnetError('FORMAT', `The grant's "${f}" must be ${e}.`);
  const text = (b: Uint8Array, field: string): string => {
    try {
      return fromUtf8(b);
    } catch {
      throw fail(field, 'UTF-8');
    }
  };
  const grantId = r.id<GrantId>();
  const practitionerId = r.id<AccountId>();
  const agentId = r.id<AccountId>();
  const agentFingerprint = text(r.take(r.u8()), 'agentFingerprint');
  const rights = RIGHT_BY_BYTE.get(r.u8());
  if (rights === undefined) throw fail('rights', 'read or import');
  const notBefore = r.u64();
  const expiresAt = r.u64();
  const scopeType = r.u8();
  if (scopeType !== SCOPE_FOLDERS && scopeType !== SCOPE_RECORDS)
    throw fail('scope', 'folders or records');
  const count = r.u16();
  const rows: Uint8Array[] = [];
  for (let i = 0; i < count; i++) rows.push(r.take(scopeType === SCOPE_FOLDERS ? 16 : 32));
  for (let i = 1; i < rows.length; i++) {
    if (compareBytes(rows[i - 1]!, rows[i]!) >= 0)
      throw fail('scope', 'sorted, without duplicates');
  }
  const ids = rows.map((row) => new ByteReader(row, 0));
  const scope: GrantScope =
    scopeType === SCOPE_FOLDERS
      ? { folders: ids.map((x) => x.id<FolderId>()) }
      : { records: ids.map((x) => ({ folderId: x.id<FolderId>(), recordId: x.id<RecordId>() })) };
  const reason = text(r.take(r.u16()), 'reason');
  const grantPublicKey = asKey<GrantPublicKey>(r.take(32));
  const { tbs, signature } = r.signatureTail('ACL_UNSIGNED');
  const fields: GrantFields = {
    grantId,
    practitionerId,
    agentId,
    agentFingerprint,
    scope,
    rights,
    notBefore,
    expiresAt,
    reason,
    grantPublicKey,
  };
  checkGrant(fields, fail);
  return { fields, tbs, signature };
}

function checkGrant(g: GrantFields, fail: Fail): void {
  if (!RIGHT_BY_BYTE.has(GRANT_RIGHT[g.rights])) throw fail('rights', 'read or import');
  if (!Number.isSafeInteger(g.notBefore) || g.notBefore < 0)
    throw fail('notBefore', 'a safe non-negative integer (ms)');
  if (!Number.isSafeInteger(g.expiresAt) || g.expiresAt < 0)
    throw fail('expiresAt', 'a safe non-negative integer (ms)');
  const duration = g.expiresAt - g.notBefore;
  if (duration <= 0 || duration > MAX_GRANT_DURATION_MS)
    throw fail('expiresAt', 'after notBefore by at most 24 hours');
  if (
    typeof g.reason !== 'string' ||
    [...g.reason].length > MAX_REASON_CHARS ||
    fromUtf8(utf8(g.reason)) !== g.reason
  ) {
    throw fail('reason', `well-formed text of at most ${MAX_REASON_CHARS} characters`);
  }
  const fp = g.agentFingerprint;
  if (typeof fp !== 'string' || fp === '' || utf8(fp).length > 0xff || fromUtf8(utf8(fp)) !== fp) {
    throw fail('agentFingerprint', 'well-formed text of 1 to 255 UTF-8 bytes');
  }
  const scope: unknown = g.scope;
  const entries =
    typeof scope === 'object' && scope !== null
      ? 'folders' in scope && Array.isArray(scope.folders) && !('records' in scope)
        ? scope.folders
        : 'records' in scope && Array.isArray(scope.records) && !('folders' in scope)
          ? scope.records
          : undefined
      : undefined;
  if (entries === undefined) throw fail('scope', '{ folders } or { records }');
  if (entries.length === 0 || entries.length > MAX_SCOPE)
    throw fail('scope', `1 to ${MAX_SCOPE} entries`);
}

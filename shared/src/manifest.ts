/**
 * Folder manifests: the owner-signed statement of who is in a folder (with the key fingerprint
 * each member was verified under and their role), the current epoch, and a digest of the
 * record list. Manifests form a hash chain (`seq`, `prevManifestHash`), so a relay can neither
 * add a member, nor replay an old membership, nor fork the history without the client seeing it.
 */
import {
  concatBytes,
  equalBytes,
  fromUtf8,
  toBase64url,
  toHex,
  u16,
  u32,
  u64,
  utf8,
} from './bytes';
import { CarnetError, invalidArgument } from './errors';
import { checkAndAdvance, manifestMarkKey, type HighWaterStore } from './high-water';
import type { AccountId, FolderId, RecordId } from './ids';
import type { IdentityPrivateKey, IdentityPublicKey } from './keys';
import {
  compareBytes,
  encodeObjectId,
  isU32,
  readerFor,
  signatureMessage,
  type ByteReader,
} from './object-codec';
import { ed25519Sign, ed25519Verify } from './primitives/ed25519';
import { sha256 } from './primitives/sha2';
import { FORMAT, KIND } from './registry';

/** Role bytes of folder members. Numbers are never reused. */
export const MEMBER_ROLE = {
  owner: 0x01,
  practitioner: 0x02,
  patient: 0x03,
} as const;

/** Role of a member in a folder. */
export type MemberRole = keyof typeof MEMBER_ROLE;

const ROLE_BY_BYTE = new Map<number, MemberRole>(
  (Object.entries(MEMBER_ROLE) as [MemberRole, number][]).map(([r, b]) => [b, r]),
);

/** A folder member: who, under which verified key fingerprint (safety code), in which role. */
export interface ManifestMember {
  accountId: AccountId;
  fingerprint: string;
  role: MemberRole;
}

/** The signed content of a manifest. */
export interface ManifestBody {
  folderId: FolderId;
  ownerId: AccountId;
  /** Monotonic sequence number, from 1. */
  seq: number;
  /** Current folder key epoch. */
  epoch: number;
  /** {@link manifestHash} of manifest `seq − 1`; 32 zero bytes for seq 1. */
  prevManifestHash: Uint8Array;
  /** {@link recordListDigest} of the folder's records. */
  recordListDigest: Uint8Array;
  /**
   * `folderKeyCommitment` (folder.ts) of the folder key of `epoch`. HPKE wraps do not
   * authenticate their sender, so a member checks the key a wrap yields against this value
   * before using it: the relay cannot slip a key of its own to a member.
   */
  folderKeyCommitment: Uint8Array;
  /** Members, the owner among them. Signed in canonical order (by account id bytes). */
  members: ManifestMember[];
}

/** One record in the record list digest. */
export interface RecordListEntry {
  recordId: RecordId;
  /** Latest version number. */
  version: number;
  /** `recordVersionHash` of that version. */
  versionHash: Uint8Array;
}

/** Domain string of manifest signatures. */
export const MANIFEST_SIGNATURE_DOMAIN = 'carnet/v1/manifest/signature';
const RECORD_LIST_DOMAIN = utf8('carnet/v1/record-list');
const ZERO32 = new Uint8Array(32);
const MAX_MEMBERS = 0xffff;

/**
 * SHA-256 over `"carnet/v1/record-list" ‖ count u32 ‖ (recordId 16 ‖ version u32 ‖ versionHash 32)*`
 * with entries sorted by record id bytes. Order of `entries` does not matter; a duplicate record
 * id is `INVALID_ARGUMENT`.
 */
export function recordListDigest(entries: readonly RecordListEntry[]): Uint8Array {
  const rows = entries.map((e) => {
    if (!isU32(e.version) || e.version < 1) throw invalidArgument('version', 'a u32 ≥ 1');
    if (!(e.versionHash instanceof Uint8Array) || e.versionHash.length !== 32) {
      throw invalidArgument('versionHash', '32 bytes');
    }
    return { id: encodeObjectId(e.recordId, 'recordId'), e };
  });
  rows.sort((a, b) => compareBytes(a.id, b.id));
  for (let i = 1; i < rows.length; i++) {
    if (compareBytes(rows[i - 1]!.id, rows[i]!.id) === 0)
      throw invalidArgument('entries', 'free of duplicate record ids');
  }
  return sha256(
    concatBytes(
      RECORD_LIST_DOMAIN,
      u32(rows.length),
      ...rows.flatMap((r) => [r.id, u32(r.e.version), r.e.versionHash]),
    ),
  );
}

/**
 * Signs a manifest with the owner's identity key. Layout:
 * `01 0c | folderId 16 | ownerId 16 | seq u64 | epoch u32 | prevManifestHash 32 |
 * recordListDigest 32 | folderKeyCommitment 32 | memberCount u16 | (accountId 16 | role u8 | fpLen u8 | fingerprint)* |
 * signature 64`, members sorted by account id; the signature covers
 * `lp(MANIFEST_SIGNATURE_DOMAIN) ‖ every byte before it`.
 */
export async function signManifest(
  ownerSeed: IdentityPrivateKey,
  body: ManifestBody,
): Promise<Uint8Array> {
  const members = [...body.members]
    .map((m) => ({ m, id: encodeObjectId(m.accountId, 'member.accountId') }))
    .sort((a, b) => compareBytes(a.id, b.id));
  checkBody({ ...body, members: members.map((x) => x.m) }, (f, e) => invalidArgument(f, e));
  const tbs = concatBytes(
    new Uint8Array([FORMAT.V1, KIND.MANIFEST]),
    encodeObjectId(body.folderId, 'folderId'),
    encodeObjectId(body.ownerId, 'ownerId'),
    u64(body.seq),
    u32(body.epoch),
    body.prevManifestHash,
    body.recordListDigest,
    body.folderKeyCommitment,
    u16(members.length),
    ...members.flatMap(({ m, id }) => {
      const fp = utf8(m.fingerprint);
      return [id, new Uint8Array([MEMBER_ROLE[m.role], fp.length]), fp];
    }),
  );
  return concatBytes(
    tbs,
    await ed25519Sign(ownerSeed, signatureMessage(MANIFEST_SIGNATURE_DOMAIN, tbs)),
  );
}

/** What the caller expects of a manifest. */
export interface ManifestExpectation {
  folderId: FolderId;
  /** The owner the caller knows for this folder, if any. */
  ownerId?: AccountId;
}

/**
 * Verifies a manifest under the owner's public key and returns its body.
 *
 * Errors: `TRUNCATED` / `DOWNGRADE` / `FORMAT` / `CONTEXT_MISMATCH` (wrong kind) for malformed
 * bytes; `ACL_UNSIGNED` if the signature is absent or does not verify under `ownerPub` (any
 * altered byte, a forged member list); `CONTEXT_MISMATCH` if it is validly signed but for
 * another folder or owner than expected.
 */
export async function verifyManifest(
  ownerPub: IdentityPublicKey,
  bytes: Uint8Array,
  expected: ManifestExpectation,
): Promise<ManifestBody> {
  const { body, tbs, signature } = parseManifest(bytes);
  if (
    !(await ed25519Verify(ownerPub, signatureMessage(MANIFEST_SIGNATURE_DOMAIN, tbs), signature))
  ) {
    throw new CarnetError('ACL_UNSIGNED');
  }
  checkExpected(body, expected);
  return body;
}

function checkExpected(body: ManifestBody, expected: ManifestExpectation): void {
  if (body.folderId !== expected.folderId) throw new CarnetError('CONTEXT_MISMATCH');
  if (expected.ownerId !== undefined && body.ownerId !== expected.ownerId) {
    throw new CarnetError('CONTEXT_MISMATCH');
  }
}

/**
 * Accepts the manifest the relay serves for a folder: verifies it and moves the folder's
 * high-water mark (`manifest:<folderId>`) to it. `ROLLBACK` if it is older than the mark, or a
 * different manifest under the same `seq` (a fork); otherwise the errors of {@link verifyManifest}.
 *
 * A manifest identical to the one the mark records (same `seq`, same hash of the signed part) was
 * verified before the mark was set, so its signature is not checked again: reopening a practice
 * costs one hash per unchanged folder instead of one Ed25519 verification.
 */
export async function acceptManifest(
  store: HighWaterStore,
  ownerPub: IdentityPublicKey,
  bytes: Uint8Array,
  expected: ManifestExpectation,
): Promise<ManifestBody> {
  const { body, tbs } = parseManifest(bytes);
  const key = manifestMarkKey(expected.folderId);
  const mark = await store.get(key);
  if (mark !== undefined && mark.seq === body.seq && mark.hash === toHex(sha256(tbs))) {
    checkExpected(body, expected);
    return body;
  }
  const verified = await verifyManifest(ownerPub, bytes, expected);
  await checkAndAdvance(store, key, verified.seq, sha256(tbs));
  return verified;
}

/** The trusted state a chain continues from: the last manifest already verified. */
export interface ManifestAnchor {
  seq: number;
  hash: Uint8Array;
}

/**
 * Verifies a run of consecutive manifests `[m_k, m_k+1, …]`: every one signed by the owner
 * (`ACL_UNSIGNED` otherwise, so no member is ever added without the owner's signature), all of
 * the same folder and owner (`CONTEXT_MISMATCH`), each `seq` one more than the previous and its
 * `prevManifestHash` the previous one's hash. A sequence number that does not increase, a
 * decreasing epoch, or a link to a different predecessor (a fork) is `ROLLBACK`; a gap in the
 * sequence numbers is `RECORD_MISSING`. With an `anchor`, the first manifest must follow it.
 * Returns the bodies in order.
 */
export async function verifyManifestChain(
  ownerPub: IdentityPublicKey,
  manifests: readonly Uint8Array[],
  expected: ManifestExpectation & { anchor?: ManifestAnchor },
): Promise<ManifestBody[]> {
  if (manifests.length === 0) throw invalidArgument('manifests', 'a non-empty list');
  // Signatures are independent: verifying them together lets WebCrypto overlap the work.
  const bodies = await Promise.all(manifests.map((m) => verifyManifest(ownerPub, m, expected)));
  let prev: { seq: number; hash: Uint8Array; epoch: number; ownerId: AccountId } | undefined =
    expected.anchor === undefined
      ? undefined
      : { ...expected.anchor, epoch: 0, ownerId: bodies[0]!.ownerId };
  for (let i = 0; i < bodies.length; i++) {
    const b = bodies[i]!;
    if (prev !== undefined) {
      if (b.ownerId !== prev.ownerId) throw new CarnetError('CONTEXT_MISMATCH');
      if (b.seq <= prev.seq) throw new CarnetError('ROLLBACK');
      if (b.seq !== prev.seq + 1) {
        throw new CarnetError('RECORD_MISSING', 'A manifest is missing from the folder history.');
      }
      if (!equalBytes(b.prevManifestHash, prev.hash)) {
        throw new CarnetError('ROLLBACK', 'The relay served a forked folder history.');
      }
      if (b.epoch < prev.epoch) throw new CarnetError('ROLLBACK');
    }
    prev = { seq: b.seq, hash: manifestHash(manifests[i]!), epoch: b.epoch, ownerId: b.ownerId };
  }
  return bodies;
}

/**
 * The hash the next manifest puts in `prevManifestHash`, and the high-water mark's hash:
 * SHA-256 of the signed part (everything but the signature).
 */
export function manifestHash(bytes: Uint8Array): Uint8Array {
  return sha256(parseManifest(bytes).tbs);
}

/** Parses the structure of a manifest (signature not checked). */
function parseManifest(bytes: Uint8Array): {
  body: ManifestBody;
  tbs: Uint8Array;
  signature: Uint8Array;
} {
  const r = readerFor(bytes, KIND.MANIFEST);
  const head = {
    folderId: r.id<FolderId>(),
    ownerId: r.id<AccountId>(),
    seq: r.u64(),
    epoch: r.u32(),
    prevManifestHash: r.take(32),
    recordListDigest: r.take(32),
    folderKeyCommitment: r.take(32),
  };
  const count = r.u16();
  const members: ManifestMember[] = [];
  let lastId: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const { member, id } = readMember(r);
    if (lastId !== undefined && compareBytes(lastId, id) >= 0) {
      throw new CarnetError('FORMAT', 'Manifest members are not in canonical order.');
    }
    lastId = id;
    members.push(member);
  }
  const { tbs, signature } = r.signatureTail('ACL_UNSIGNED');
  const body: ManifestBody = { ...head, members };
  checkBody(body, (f, e) => new CarnetError('FORMAT', `The manifest's "${f}" must be ${e}.`));
  return { body, tbs, signature };
}

function readMember(r: ByteReader): { member: ManifestMember; id: Uint8Array } {
  const idBytes = r.take(16);
  const role = ROLE_BY_BYTE.get(r.u8());
  if (role === undefined) throw new CarnetError('FORMAT', 'Unknown member role.');
  const fpLen = r.u8();
  let fingerprint: string;
  try {
    fingerprint = fromUtf8(r.take(fpLen));
  } catch (e) {
    if (e instanceof CarnetError) throw e;
    throw new CarnetError('FORMAT', 'A member fingerprint is not UTF-8.');
  }
  return {
    member: { accountId: toBase64url(idBytes) as AccountId, fingerprint, role },
    id: idBytes,
  };
}

function checkBody(b: ManifestBody, fail: (field: string, expected: string) => CarnetError): void {
  if (!Number.isSafeInteger(b.seq) || b.seq < 1) throw fail('seq', 'a safe integer ≥ 1');
  if (!isU32(b.epoch) || b.epoch < 1) throw fail('epoch', 'a u32 ≥ 1');
  for (const k of ['prevManifestHash', 'recordListDigest', 'folderKeyCommitment'] as const) {
    if (!(b[k] instanceof Uint8Array) || b[k].length !== 32) throw fail(k, '32 bytes');
  }
  if ((b.seq === 1) !== equalBytes(b.prevManifestHash, ZERO32)) {
    throw fail('prevManifestHash', 'zero for seq 1 and only for seq 1');
  }
  if (!Array.isArray(b.members) || b.members.length === 0 || b.members.length > MAX_MEMBERS) {
    throw fail('members', `1 to ${MAX_MEMBERS} members`);
  }
  const seen = new Set<string>();
  let owners = 0;
  for (const m of b.members) {
    if (seen.has(m.accountId)) throw fail('members', 'free of duplicates');
    seen.add(m.accountId);
    if (MEMBER_ROLE[m.role] === undefined)
      throw fail('member.role', Object.keys(MEMBER_ROLE).join(', '));
    if (typeof m.fingerprint !== 'string' || m.fingerprint === '')
      throw fail('member.fingerprint', 'a non-empty string');
    const fpLen = utf8(m.fingerprint).length;
    if (fpLen > 0xff || fromUtf8(utf8(m.fingerprint)) !== m.fingerprint) {
      throw fail('member.fingerprint', 'well-formed text of at most 255 UTF-8 bytes');
    }
    if (m.role === 'owner') {
      owners++;
      if (m.accountId !== b.ownerId) throw fail('members', 'with the owner role only for ownerId');
    }
  }
  if (owners !== 1) throw fail('members', 'listing ownerId, once, with the owner role');
}

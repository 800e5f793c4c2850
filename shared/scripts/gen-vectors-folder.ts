/**
 * Writes the vector files of folders, records, manifests, grants and invites:
 * vectors/{folder-keys,record-version,manifest,grant,invite}.v1.json — objects that must open or
 * verify (with their result) and objects that must be refused (with the error code).
 *
 * Keys and ids come from fixed labels so the files are reviewable; envelope nonces, HPKE
 * ephemeral keys and grant key pairs are random, so each run gives different objects (the files
 * are committed once, then only checked). Signatures are deterministic. Every entry goes through
 * the same interpreter as the tests (test/folder-vectors.ts) before anything is written.
 *
 * Run from shared/: npx tsx scripts/gen-vectors-folder.ts
 */
import { writeFileSync } from 'node:fs';
import { concatBytes, toHex, u64, utf8 } from '../src/bytes';
import {
  folderKeyCommitment,
  sealFolderKeyForAccount,
  sealLineage,
  sealProfile,
  wrapFolderKeyToMember,
  type PatientProfile,
} from '../src/folder';
import {
  createGrant,
  wrapGrantPrivateKeyToAgent,
  wrapKeyToGrant,
  type GrantCheck,
} from '../src/grant';
import type { AccountId, FolderId, GrantId, RecordId } from '../src/ids';
import { encodeInviteSecret, macInviteResponse, sealFolderKeyToInvite } from '../src/invite';
import { asKey } from '../src/keys';
import type { AccountKey, DataKey, FolderKey, InviteSecret } from '../src/keys';
import { manifestHash, recordListDigest, signManifest, type ManifestBody } from '../src/manifest';
import {
  headerHash,
  recordVersionHash,
  sealDataKey,
  sealRecordHeader,
  signRecordVersion,
  type RecordHeader,
  type RecordVersionFields,
} from '../src/record';
import { KIND } from '../src/registry';
import { flip, testEncryption, testId, testIdentity, testKey } from '../test/folder-helpers';
import {
  checkEntry,
  execute,
  toJson,
  type Json,
  type VectorEntry,
  type VectorFile,
} from '../test/folder-vectors';

const F = testId<FolderId>('folder');
const F2 = testId<FolderId>('other folder');
const R = testId<RecordId>('record');
const R2 = testId<RecordId>('other record');
const ALICE = testId<AccountId>('alice');
const BOB = testId<AccountId>('bob');
const OWNER = testId<AccountId>('owner');
const PATIENT = testId<AccountId>('patient');
const AGENT = testId<AccountId>('agent');
const G = testId<GrantId>('grant');
const ZERO = new Uint8Array(32);

const h = toHex;
const withByte = (b: Uint8Array, i: number, v: number): Uint8Array =>
  b.map((x, j) => (j === i ? v : x));

/** Builds entries: `ok` runs the op to fill `expected`; `bad` records an expected error. */
class Builder {
  readonly valid: VectorEntry[] = [];
  readonly invalid: VectorEntry[] = [];

  async ok(
    description: string,
    op: string,
    input: { [k: string]: Json },
    object?: Uint8Array,
  ): Promise<void> {
    const e: VectorEntry = { description, op, input, ...(object ? { object: h(object) } : {}) };
    e.expected = await execute(e);
    this.valid.push(e);
  }

  bad(
    description: string,
    op: string,
    input: { [k: string]: Json },
    object: Uint8Array | undefined,
    expected_error: VectorEntry['expected_error'],
  ): void {
    this.invalid.push({
      description,
      op,
      input,
      ...(object ? { object: h(object) } : {}),
      expected_error,
    });
  }

  /** The usual damage to one object: flipped bytes, truncation, extension, prefix changes. */
  damage(op: string, input: { [k: string]: Json }, o: Uint8Array, codes: Damage): void {
    const c = (x: string): VectorEntry['expected_error'] => x as VectorEntry['expected_error'];
    this.bad(`${op}: last byte flipped`, op, input, flip(o, o.length - 1), c(codes.flip));
    this.bad(`${op}: a middle byte flipped`, op, input, flip(o, o.length >> 1), c(codes.flip));
    this.bad(
      `${op}: truncated by one byte`,
      op,
      input,
      o.subarray(0, o.length - 1),
      c(codes.truncate),
    );
    this.bad(
      `${op}: one byte appended`,
      op,
      input,
      concatBytes(o, new Uint8Array([0])),
      c(codes.extend),
    );
    this.bad(`${op}: prefix only`, op, input, o.subarray(0, 2), 'TRUNCATED');
    this.bad(`${op}: format byte 0x00`, op, input, withByte(o, 0, 0x00), 'DOWNGRADE');
    this.bad(`${op}: unknown format byte 0x02`, op, input, withByte(o, 0, 0x02), 'FORMAT');
    this.bad(`${op}: unknown kind byte 0xee`, op, input, withByte(o, 1, 0xee), 'FORMAT');
  }

  async write(name: string, format: string, description: string): Promise<void> {
    const problems = (await Promise.all([...this.valid, ...this.invalid].map(checkEntry))).filter(
      Boolean,
    );
    if (problems.length > 0) throw new Error(`self-check failed:\n${problems.join('\n')}`);
    const doc: VectorFile = {
      format,
      version: 1,
      description,
      valid: this.valid,
      invalid: this.invalid,
    };
    const url = new URL(`../vectors/${name}`, import.meta.url);
    writeFileSync(url, `${JSON.stringify(doc, null, 1)}\n`);
    process.stdout.write(
      `wrote ${url.pathname} (${this.valid.length} valid, ${this.invalid.length} invalid)\n`,
    );
  }
}

type Damage = { flip: string; truncate: string; extend: string };
const AEAD = { flip: 'INTEGRITY', truncate: 'INTEGRITY', extend: 'INTEGRITY' };
const SIGNED = { flip: 'INTEGRITY', truncate: 'TRUNCATED', extend: 'FORMAT' };
const ACL = { flip: 'ACL_UNSIGNED', truncate: 'ACL_UNSIGNED', extend: 'FORMAT' };
const MAC = { flip: 'INTEGRITY', truncate: 'TRUNCATED', extend: 'FORMAT' };

async function folderKeys(): Promise<void> {
  const b = new Builder();
  const accountKey = asKey<AccountKey>(testKey('account key'));
  const fk = [1, 2, 3].map((e) => asKey<FolderKey>(testKey(`folder key epoch ${e}`)));
  const [fk1, fk2, fk3] = fk as [FolderKey, FolderKey, FolderKey];
  const acc = { accountKey: h(accountKey), folderId: F, epoch: 2 };
  const sealed = sealFolderKeyForAccount(accountKey, fk2, F, 2);
  await b.ok('folder key of epoch 2 under the account key', 'open-account-folder-key', acc, sealed);
  b.bad(
    'opened for another folder',
    'open-account-folder-key',
    { ...acc, folderId: F2 },
    sealed,
    'INTEGRITY',
  );
  b.bad('opened as epoch 3', 'open-account-folder-key', { ...acc, epoch: 3 }, sealed, 'INTEGRITY');
  b.bad(
    'another account key',
    'open-account-folder-key',
    { ...acc, accountKey: h(testKey('x')) },
    sealed,
    'INTEGRITY',
  );
  b.bad(
    'a lineage link presented as an account folder key',
    'open-account-folder-key',
    acc,
    withByte(sealed, 1, KIND.LINEAGE),
    'CONTEXT_MISMATCH',
  );
  b.damage('open-account-folder-key', acc, sealed, AEAD);

  await b.ok('commitment to the folder key of epoch 2 (manifest field)', 'folder-key-commitment', {
    folderKey: h(fk2),
    folderId: F,
    epoch: 2,
  });
  await b.ok('commitment to the same key claimed for epoch 3', 'folder-key-commitment', {
    folderKey: h(fk2),
    folderId: F,
    epoch: 3,
  });
  b.bad(
    'commitment for epoch 0',
    'folder-key-commitment',
    { folderKey: h(fk2), folderId: F, epoch: 0 },
    undefined,
    'INVALID_ARGUMENT',
  );

  const alice = await testEncryption('alice');
  const bob = await testEncryption('bob');
  const wrap = await wrapFolderKeyToMember(alice.pub, fk2, {
    folderId: F,
    epoch: 2,
    accountId: ALICE,
  });
  const mem = { recipientPrivateKey: h(alice.priv), folderId: F, epoch: 2, accountId: ALICE };
  await b.ok('member wrap of epoch 2 for Alice', 'unwrap-member', mem, wrap);
  b.bad(
    "Alice's wrap given to Bob",
    'unwrap-member',
    { ...mem, recipientPrivateKey: h(bob.priv), accountId: BOB },
    wrap,
    'INTEGRITY',
  );
  b.bad("Alice's wrap, Bob's id", 'unwrap-member', { ...mem, accountId: BOB }, wrap, 'INTEGRITY');
  b.bad(
    'epoch 2 wrap presented as epoch 3',
    'unwrap-member',
    { ...mem, epoch: 3 },
    wrap,
    'INTEGRITY',
  );
  b.bad('wrap for another folder', 'unwrap-member', { ...mem, folderId: F2 }, wrap, 'INTEGRITY');
  b.damage('unwrap-member', mem, wrap, AEAD);

  const l2 = sealLineage(fk2, fk1, F, 2);
  const l3 = sealLineage(fk3, fk2, F, 3);
  const lin = { newerFolderKey: h(fk3), folderId: F, newerEpoch: 3 };
  await b.ok('lineage link 3 → 2', 'open-lineage', lin, l3);
  b.bad(
    'link 3 → 2 presented as link 2 → 1',
    'open-lineage',
    { ...lin, newerEpoch: 2 },
    l3,
    'INTEGRITY',
  );
  b.bad(
    'link reused for another folder',
    'open-lineage',
    { ...lin, folderId: F2 },
    l3,
    'INTEGRITY',
  );
  b.bad(
    'the older key cannot open a newer link',
    'open-lineage',
    { ...lin, newerFolderKey: h(fk1) },
    l3,
    'INTEGRITY',
  );
  b.damage('open-lineage', lin, l3, AEAD);
  const walk = {
    folderKey: h(fk3),
    fromEpoch: 3,
    toEpoch: 1,
    folderId: F,
    links: { '2': h(l2), '3': h(l3) },
  };
  await b.ok('a member of epoch 3 walks to the key of epoch 1', 'walk-lineage', walk);
  b.bad(
    'link of epoch 2 missing',
    'walk-lineage',
    { ...walk, links: { '3': h(l3) } },
    undefined,
    'RECORD_MISSING',
  );
  b.bad(
    'links swapped',
    'walk-lineage',
    { ...walk, links: { '2': h(l3), '3': h(l2) } },
    undefined,
    'INTEGRITY',
  );
  b.bad(
    'walking upwards',
    'walk-lineage',
    { ...walk, folderKey: h(fk1), fromEpoch: 1, toEpoch: 2 },
    undefined,
    'INVALID_ARGUMENT',
  );

  const profile: PatientProfile = {
    name: 'Élodie Martin',
    birthDate: '1984-03-09',
    sex: 'female',
    phone: '+33 6 12 34 56 78',
  };
  const sp = sealProfile(fk2, profile, F, 2);
  const pr = { folderKey: h(fk2), folderId: F, epoch: 2 };
  await b.ok('patient profile (256-byte padded plaintext)', 'open-profile', pr, sp);
  await b.ok('profile with only a name', 'open-profile', pr, sealProfile(fk2, { name: 'A' }, F, 2));
  b.bad('profile of another folder', 'open-profile', { ...pr, folderId: F2 }, sp, 'INTEGRITY');
  b.bad(
    'profile under the key of another epoch',
    'open-profile',
    { ...pr, folderKey: h(fk3), epoch: 3 },
    sp,
    'INTEGRITY',
  );
  b.damage('open-profile', pr, sp, AEAD);
  await b.write(
    'folder-keys.v1.json',
    'carnet-folder-keys',
    'Folder keys: under the account key (ACCOUNT_FOLDER_KEY), to a member (MEMBER_WRAP, HPKE), lineage (LINEAGE) and the patient profile (FOLDER_PROFILE). See docs/protocol-parts/40-folders-records-manifests.md and shared/test/folder-vectors.ts for the meaning of op/input.',
  );
}

async function records(): Promise<void> {
  const b = new Builder();
  const fk = asKey<FolderKey>(testKey('folder key epoch 2'));
  const dek = asKey<DataKey>(testKey('data key'));
  const dctx = { folderId: F, recordId: R, version: 2, epoch: 2 };
  const sd = sealDataKey(fk, dek, dctx);
  const dk = { folderKey: h(fk), ...dctx };
  await b.ok('data key of version 2 under the folder key of epoch 2', 'open-data-key', dk, sd);
  b.bad(
    'data key of record A presented for record B',
    'open-data-key',
    { ...dk, recordId: R2 },
    sd,
    'INTEGRITY',
  );
  b.bad(
    'data key presented for version 3',
    'open-data-key',
    { ...dk, version: 3 },
    sd,
    'INTEGRITY',
  );
  b.bad('data key presented under epoch 1', 'open-data-key', { ...dk, epoch: 1 }, sd, 'INTEGRITY');
  b.damage('open-data-key', dk, sd, AEAD);

  const header: RecordHeader = {
    kind: 'document',
    title: 'Compte rendu IRM',
    fileName: 'irm-genou.pdf',
    mimeType: 'application/pdf',
    size: 48213,
    structured: { site: 'genou gauche', urgent: false },
    createdAt: 1_750_000_000_000,
  };
  const hctx = { folderId: F, recordId: R, version: 2 };
  const sh = sealRecordHeader(dek, header, hctx);
  const hd = { dataKey: h(dek), ...hctx };
  await b.ok('document header', 'open-record-header', hd, sh);
  b.bad('header of another record', 'open-record-header', { ...hd, recordId: R2 }, sh, 'INTEGRITY');
  b.damage('open-record-header', hd, sh, AEAD);

  const author = await testIdentity('author');
  const mallory = await testIdentity('mallory');
  const AUTHOR = testId<AccountId>('author');
  const f1: RecordVersionFields = {
    folderId: F,
    recordId: R,
    version: 1,
    prevVersionHash: ZERO,
    headerHash: testKey('header v1'),
    bodyDigest: ZERO,
    epoch: 1,
    authorId: AUTHOR,
  };
  const v1 = await signRecordVersion(author.seed, f1);
  const f2: RecordVersionFields = {
    ...f1,
    version: 2,
    prevVersionHash: recordVersionHash(v1),
    headerHash: headerHash(sh),
    bodyDigest: testKey('file body'),
    epoch: 2,
  };
  const v2 = await signRecordVersion(author.seed, f2);
  const rv = { authorPublicKey: h(author.pub), expected: toJson({ folderId: F, recordId: R }) };
  await b.ok('version 1, no body', 'verify-record-version', rv, v1);
  await b.ok(
    'version 2 chained to version 1',
    'verify-record-version',
    { ...rv, expected: toJson({ version: 2, prevVersionHash: recordVersionHash(v1) }) },
    v2,
  );
  b.bad(
    'signed by another key',
    'verify-record-version',
    { ...rv, authorPublicKey: h(mallory.pub) },
    v1,
    'INTEGRITY',
  );
  b.bad(
    'another author expected',
    'verify-record-version',
    { ...rv, expected: { authorId: testId('someone') } },
    v1,
    'UNAUTHORIZED_AUTHOR',
  );
  b.bad(
    'version of record A presented as record B',
    'verify-record-version',
    { ...rv, expected: { recordId: R2 } },
    v1,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'version 1 replayed as version 2',
    'verify-record-version',
    { ...rv, expected: { version: 2 } },
    v1,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'another previous version expected (fork)',
    'verify-record-version',
    { ...rv, expected: { prevVersionHash: h(testKey('x')) } },
    v2,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'a manifest presented as a record version',
    'verify-record-version',
    rv,
    withByte(v1, 1, KIND.MANIFEST),
    'CONTEXT_MISMATCH',
  );
  b.damage('verify-record-version', rv, v1, SIGNED);
  await b.write(
    'record-version.v1.json',
    'carnet-record-version',
    'Records: data keys (DATA_KEY), headers (RECORD_HEADER, padded canonical JSON) and signed versions (RECORD_VERSION, Ed25519). See docs/protocol-parts/40-folders-records-manifests.md and shared/test/folder-vectors.ts.',
  );
}

async function manifests(): Promise<void> {
  const b = new Builder();
  const entries = [
    { recordId: R, version: 3, versionHash: h(testKey('r1 v3')) },
    { recordId: R2, version: 1, versionHash: h(testKey('r2 v1')) },
  ];
  await b.ok('record list digest of two records', 'record-list-digest', { entries });
  await b.ok('record list digest of no record', 'record-list-digest', { entries: [] });
  b.bad(
    'duplicate record',
    'record-list-digest',
    { entries: [...entries, entries[0]!] },
    undefined,
    'INVALID_ARGUMENT',
  );

  const owner = await testIdentity('owner');
  const relay = await testIdentity('relay');
  const body = (
    seq: number,
    prev: Uint8Array,
    extra: ManifestBody['members'] = [],
  ): ManifestBody => ({
    folderId: F,
    ownerId: OWNER,
    seq,
    epoch: seq >= 3 ? 2 : 1,
    prevManifestHash: prev,
    recordListDigest: recordListDigest([]),
    folderKeyCommitment: folderKeyCommitment(
      asKey<FolderKey>(testKey(`folder key epoch ${seq >= 3 ? 2 : 1}`)),
      F,
      seq >= 3 ? 2 : 1,
    ),
    members: [
      { accountId: OWNER, fingerprint: '11111 22222 33333 44444 55555 66666', role: 'owner' },
      { accountId: PATIENT, fingerprint: '01234 56789 01234 56789 01234 56789', role: 'patient' },
      ...extra,
    ],
  });
  const m1 = await signManifest(owner.seed, body(1, ZERO));
  const m2 = await signManifest(
    owner.seed,
    body(2, manifestHash(m1), [
      {
        accountId: ALICE,
        fingerprint: '99999 88888 77777 66666 55555 44444',
        role: 'practitioner',
      },
    ]),
  );
  const m3 = await signManifest(owner.seed, body(3, manifestHash(m2)));
  const mv = { ownerPublicKey: h(owner.pub), folderId: F };
  await b.ok('manifest seq 1', 'verify-manifest', mv, m1);
  await b.ok(
    'manifest seq 2 adds a practitioner',
    'verify-manifest',
    { ...mv, ownerId: OWNER },
    m2,
  );
  b.bad(
    'signed by the relay',
    'verify-manifest',
    { ...mv, ownerPublicKey: h(relay.pub) },
    m1,
    'ACL_UNSIGNED',
  );
  b.bad(
    'signature stripped',
    'verify-manifest',
    mv,
    m1.subarray(0, m1.length - 64),
    'ACL_UNSIGNED',
  );
  b.bad(
    'manifest of another folder',
    'verify-manifest',
    { ...mv, folderId: F2 },
    m1,
    'CONTEXT_MISMATCH',
  );
  b.damage('verify-manifest', mv, m2, ACL);
  const chain = (objects: Uint8Array[]): { [k: string]: Json } => ({
    ...mv,
    objects: objects.map(h),
  });
  await b.ok('chain 1, 2, 3', 'verify-manifest-chain', chain([m1, m2, m3]));
  b.bad('chain reordered', 'verify-manifest-chain', chain([m2, m1, m3]), undefined, 'ROLLBACK');
  b.bad(
    'chain with seq 2 skipped',
    'verify-manifest-chain',
    chain([m1, m3]),
    undefined,
    'RECORD_MISSING',
  );
  const fork = await signManifest(owner.seed, body(2, manifestHash(m1)));
  b.bad(
    'chain forked at seq 2',
    'verify-manifest-chain',
    chain([m1, fork, m3]),
    undefined,
    'ROLLBACK',
  );
  const added = await signManifest(
    relay.seed,
    body(4, manifestHash(m3), [{ accountId: BOB, fingerprint: 'x', role: 'practitioner' }]),
  );
  b.bad(
    'member added by the relay',
    'verify-manifest-chain',
    chain([m1, m2, m3, added]),
    undefined,
    'ACL_UNSIGNED',
  );
  await b.write(
    'manifest.v1.json',
    'carnet-manifest',
    'Owner-signed folder manifests (MANIFEST) and record list digests. See docs/protocol-parts/40-folders-records-manifests.md and shared/test/folder-vectors.ts.',
  );
}

async function grants(): Promise<void> {
  const b = new Builder();
  const p = await testIdentity('practitioner');
  const other = await testIdentity('other practitioner');
  const agent = await testEncryption('agent');
  const T0 = 1_750_000_000_000;
  const fp = '13579 24680 13579 24680 13579 24680';
  const { grant, grantPrivateKey, fields } = await createGrant(p.seed, {
    grantId: G,
    practitionerId: testId<AccountId>('practitioner'),
    agentId: AGENT,
    agentFingerprint: fp,
    scope: { folders: [F] },
    rights: 'read',
    notBefore: T0,
    expiresAt: T0 + 4 * 3_600_000,
    reason: 'Reprise des données de l’ancien logiciel',
  });
  const check: GrantCheck = {
    agentId: AGENT,
    agentFingerprint: fp,
    now: T0 + 1000,
    folderId: F,
    right: 'read',
  };
  const gv = { practitionerPublicKey: h(p.pub), check: toJson(check) };
  const withCheck = (c: Partial<GrantCheck>): { [k: string]: Json } => ({
    ...gv,
    check: toJson({ ...check, ...c }),
  });
  await b.ok('read grant on one folder, 4 hours', 'verify-grant', gv, grant);
  b.bad('expired', 'verify-grant', withCheck({ now: T0 + 4 * 3_600_000 }), grant, 'GRANT_EXPIRED');
  b.bad('not yet valid', 'verify-grant', withCheck({ now: T0 - 1 }), grant, 'GRANT_NOT_YET_VALID');
  b.bad('folder out of scope', 'verify-grant', withCheck({ folderId: F2 }), grant, 'GRANT_SCOPE');
  b.bad(
    'import right asked of a read grant',
    'verify-grant',
    withCheck({ right: 'import' }),
    grant,
    'GRANT_RIGHTS',
  );
  b.bad('another agent', 'verify-grant', withCheck({ agentId: ALICE }), grant, 'CONTEXT_MISMATCH');
  b.bad(
    'another agent key fingerprint',
    'verify-grant',
    withCheck({ agentFingerprint: '00000 00000 00000 00000 00000 00000' }),
    grant,
    'KEY_UNVERIFIED',
  );
  b.bad(
    'signed by another practitioner key',
    'verify-grant',
    { ...gv, practitionerPublicKey: h(other.pub) },
    grant,
    'ACL_UNSIGNED',
  );
  const expiresAt = 2 + 48 + 1 + utf8(fp).length + 1 + 8;
  const widened = grant.slice();
  widened.set(u64(T0 + 20 * 3_600_000), expiresAt);
  b.bad(
    'expiry extended by the relay',
    'verify-grant',
    withCheck({ now: T0 + 10 * 3_600_000 }),
    widened,
    'ACL_UNSIGNED',
  );
  b.damage('verify-grant', gv, grant, ACL);

  const fk = asKey<FolderKey>(testKey('folder key epoch 2'));
  const kctx = { grantId: G, folderId: F, epoch: 2 };
  const kw = await wrapKeyToGrant(fields.grantPublicKey, fk, kctx);
  const kin = { grantPrivateKey: h(grantPrivateKey), context: kctx };
  await b.ok('folder key wrapped to the grant', 'unwrap-grant-key', kin, kw);
  b.bad(
    'wrap for epoch 2 opened as epoch 3',
    'unwrap-grant-key',
    { ...kin, context: { ...kctx, epoch: 3 } },
    kw,
    'INTEGRITY',
  );
  b.bad(
    'wrap for another grant',
    'unwrap-grant-key',
    { ...kin, context: { ...kctx, grantId: testId('grant 2') } },
    kw,
    'INTEGRITY',
  );
  b.damage('unwrap-grant-key', kin, kw, AEAD);
  const dctx = { grantId: G, folderId: F, recordId: R, version: 2 };
  const dw = await wrapKeyToGrant(fields.grantPublicKey, asKey<DataKey>(testKey('data key')), dctx);
  await b.ok(
    'single data key wrapped to the grant',
    'unwrap-grant-key',
    { ...kin, context: dctx },
    dw,
  );
  b.bad(
    'data key of record A presented for record B',
    'unwrap-grant-key',
    { ...kin, context: { ...dctx, recordId: R2 } },
    dw,
    'INTEGRITY',
  );

  const pw = await wrapGrantPrivateKeyToAgent(agent.pub, grantPrivateKey, {
    grantId: G,
    agentId: AGENT,
  });
  const pin = { agentPrivateKey: h(agent.priv), grantId: G, agentId: AGENT };
  await b.ok('grant private key wrapped to the agent', 'unwrap-grant-private-key', pin, pw);
  b.bad(
    'wrap presented to another agent id',
    'unwrap-grant-private-key',
    { ...pin, agentId: ALICE },
    pw,
    'INTEGRITY',
  );
  b.damage('unwrap-grant-private-key', pin, pw, AEAD);
  await b.write(
    'grant.v1.json',
    'carnet-grant',
    'Support grants (GRANT, Ed25519 by the practitioner), keys wrapped to a grant (GRANT_KEY_WRAP) and the grant private key wrapped to the agent (GRANT_PRIVATE_WRAP). See docs/protocol-parts/50-grants-invites.md and shared/test/folder-vectors.ts.',
  );
}

async function invites(): Promise<void> {
  const b = new Builder();
  const secret = asKey<InviteSecret>(testKey('invite secret'));
  const other = asKey<InviteSecret>(testKey('other invite secret'));
  await b.ok('encoding and lookup id of a secret', 'invite-secret', { secret: h(secret) });
  const enc = encodeInviteSecret(secret);
  await b.ok('decoding a URL fragment', 'decode-invite-secret', { encoded: enc });
  b.bad(
    'fragment one character short',
    'decode-invite-secret',
    { encoded: enc.slice(1) },
    undefined,
    'INVALID_ARGUMENT',
  );
  b.bad(
    'fragment with a non-base64url character',
    'decode-invite-secret',
    { encoded: `${enc.slice(0, 42)}+` },
    undefined,
    'INVALID_ARGUMENT',
  );
  b.bad(
    'fragment with non-zero padding bits',
    'decode-invite-secret',
    { encoded: `${enc.slice(0, 42)}B` },
    undefined,
    'INVALID_ARGUMENT',
  );

  const fk = asKey<FolderKey>(testKey('folder key epoch 1'));
  const sealed = sealFolderKeyToInvite(secret, fk, { folderId: F, epoch: 1 });
  const si = { secret: h(secret), folderId: F, epoch: 1 };
  await b.ok('folder key sealed to an invite', 'open-invite-folder-key', si, sealed);
  b.bad(
    'another secret',
    'open-invite-folder-key',
    { ...si, secret: h(other) },
    sealed,
    'INTEGRITY',
  );
  b.bad('another folder', 'open-invite-folder-key', { ...si, folderId: F2 }, sealed, 'INTEGRITY');
  b.damage('open-invite-folder-key', si, sealed, AEAD);

  const bundle = new Uint8Array(155).map((_, i) => (i * 37 + 11) & 0xff);
  const resp = macInviteResponse(secret, bundle, { folderId: F });
  const ri = { secret: h(secret), folderId: F };
  await b.ok('invite response carrying a 155-byte bundle', 'verify-invite-response', ri, resp);
  b.bad(
    'MAC under another secret',
    'verify-invite-response',
    { ...ri, secret: h(other) },
    resp,
    'INTEGRITY',
  );
  const swapped = resp.slice();
  swapped.set(new Uint8Array(155).fill(0xaa), 22);
  b.bad('bundle substituted by the relay', 'verify-invite-response', ri, swapped, 'INTEGRITY');
  b.bad(
    'answer about another folder',
    'verify-invite-response',
    { ...ri, folderId: F2 },
    resp,
    'CONTEXT_MISMATCH',
  );
  b.damage('verify-invite-response', ri, resp, MAC);
  await b.write(
    'invite.v1.json',
    'carnet-invite',
    'Patient invites: secret encoding and lookup id, folder key sealed to the secret (INVITE_FOLDER_KEY), MACed response (INVITE_RESPONSE). See docs/protocol-parts/50-grants-invites.md and shared/test/folder-vectors.ts.',
  );
}

await folderKeys();
await records();
await manifests();
await grants();
await invites();

/**
 * Writes vectors/envelope.v1.json and vectors/hpke-wrap.v1.json: objects that must open (with
 * their plaintext) and objects that must be refused (with the error code). Keys are derived
 * from fixed labels so the file is reviewable; nonces and HPKE ephemeral keys are random, so
 * each run gives different objects (the files are committed once, then only checked).
 * Every entry is checked against the implementation before anything is written.
 *
 * Run from shared/: npx tsx scripts/gen-vectors-envelope.ts
 */
import { writeFileSync } from 'node:fs';
import { fromHex, toHex, utf8 } from '../src/bytes';
import type { ObjectContext } from '../src/context';
import { openEnvelope, sealEnvelope } from '../src/envelope';
import { isCarnetError } from '../src/errors';
import type { CarnetErrorCode } from '../src/errors';
import type { AccountId, FolderId, GrantId, RecordId } from '../src/ids';
import { hpkeDeriveKeyPair } from '../src/hpke';
import { sha256 } from '../src/primitives/sha2';
import { KIND } from '../src/registry';
import { unwrapWithPrivateKey, wrapToPublicKey } from '../src/wrap';

type KindName = keyof typeof KIND;

interface Entry {
  description: string;
  kind: KindName;
  context: ObjectContext;
  object: string;
  plaintext?: string;
  expected_error?: CarnetErrorCode;
  [keyField: string]: unknown;
}

const FOLDER = 'Zm9sZGVyLWlkLWV4YW1wbA' as FolderId;
const FOLDER_2 = 'b3RoZXItZm9sZGVyLWlkLQ' as FolderId;
const RECORD = 'cmVjb3JkLWlkLWV4YW1wbA' as RecordId;
const ACCOUNT = 'YWNjb3VudC1pZC1leGFtcA' as AccountId;
const GRANT = 'Z3JhbnQtaWQtZXhhbXBsZQ' as GrantId;

/** A reviewable test key: SHA-256 of a label. */
function testKey(label: string): Uint8Array {
  return sha256(utf8(`carnet test key: ${label}`));
}

const flip = (b: Uint8Array, i: number): Uint8Array => b.map((x, j) => (j === i ? x ^ 0x01 : x));
const withByte = (b: Uint8Array, i: number, v: number): Uint8Array =>
  b.map((x, j) => (j === i ? v : x));

async function codeOf(fn: () => Promise<unknown> | unknown): Promise<CarnetErrorCode | 'none'> {
  try {
    await fn();
    return 'none';
  } catch (e) {
    if (isCarnetError(e)) return e.code;
    throw e;
  }
}

function write(name: string, doc: object): void {
  const url = new URL(`../vectors/${name}`, import.meta.url);
  writeFileSync(url, `${JSON.stringify(doc, null, 1)}\n`);
  process.stdout.write(`wrote ${url.pathname}\n`);
}

async function envelopes(): Promise<void> {
  const key = testKey('folder key');
  const ctx: ObjectContext = { folderId: FOLDER, recordId: RECORD, version: 3, epoch: 2 };
  const valid: Entry[] = [];
  const add = (
    description: string,
    kind: KindName,
    k: Uint8Array,
    c: ObjectContext,
    pt: Uint8Array,
  ): Uint8Array => {
    const object = sealEnvelope(KIND[kind], k, pt, c);
    valid.push({
      description,
      kind,
      key: toHex(k),
      context: c,
      object: toHex(object),
      plaintext: toHex(pt),
    });
    return object;
  };
  const dek = testKey('data key');
  const base = add('data key under a folder key, full record context', 'DATA_KEY', key, ctx, dek);
  add('empty plaintext, empty context', 'RECORD_HEADER', testKey('empty'), {}, new Uint8Array(0));
  add(
    'folder key lineage',
    'LINEAGE',
    key,
    { folderId: FOLDER, epoch: 1 },
    testKey('older folder key'),
  );
  add(
    'present-but-empty label',
    'FOLDER_PROFILE',
    key,
    { folderId: FOLDER, label: '' },
    utf8('{"name":"A"}'),
  );
  add(
    'every context field, non-ASCII label',
    'ACCOUNT_FOLDER_KEY',
    testKey('account key'),
    {
      folderId: FOLDER,
      recordId: RECORD,
      version: 0,
      epoch: 9007199254740991,
      accountId: ACCOUNT,
      grantId: GRANT,
      label: 'dossier · é 🩺',
    },
    key,
  );
  add(
    '300-byte plaintext',
    'RECORD_HEADER',
    key,
    ctx,
    new Uint8Array(300).map((_, i) => i & 0xff),
  );

  const bad = (
    description: string,
    object: Uint8Array,
    err: CarnetErrorCode,
    over: Partial<Entry> = {},
  ): Entry => ({
    description,
    kind: 'DATA_KEY',
    key: toHex(key),
    context: ctx,
    object: toHex(object),
    expected_error: err,
    ...over,
  });
  const labelled = sealEnvelope(KIND.FOLDER_PROFILE, key, new Uint8Array([1]), {
    folderId: FOLDER,
    label: '',
  });
  const invalid: Entry[] = [
    bad('flipped last tag byte', flip(base, base.length - 1), 'INTEGRITY'),
    bad('flipped first ciphertext byte', flip(base, 58), 'INTEGRITY'),
    bad('flipped commitment byte', flip(base, 26), 'INTEGRITY'),
    bad('flipped nonce byte', flip(base, 2), 'INTEGRITY'),
    bad('wrong context: other folder', base, 'INTEGRITY', {
      context: { ...ctx, folderId: FOLDER_2 },
    }),
    bad('wrong context: other version', base, 'INTEGRITY', { context: { ...ctx, version: 4 } }),
    bad('wrong context: epoch absent', base, 'INTEGRITY', {
      context: { folderId: FOLDER, recordId: RECORD, version: 3 },
    }),
    bad('wrong context: extra label', base, 'INTEGRITY', { context: { ...ctx, label: '' } }),
    bad('empty label opened as absent label', labelled, 'INTEGRITY', {
      kind: 'FOLDER_PROFILE',
      context: { folderId: FOLDER },
    }),
    bad('wrong key', base, 'INTEGRITY', { key: toHex(testKey('another key')) }),
    bad('opened as another kind', base, 'CONTEXT_MISMATCH', { kind: 'LINEAGE' }),
    bad(
      'kind byte rewritten, opened as the new kind',
      withByte(base, 1, KIND.LINEAGE),
      'INTEGRITY',
      { kind: 'LINEAGE' },
    ),
    bad('unknown kind byte 0xee', withByte(base, 1, 0xee), 'FORMAT'),
    bad('unknown format byte 0x02', withByte(base, 0, 0x02), 'FORMAT'),
    bad('format byte 0x00 (older than the minimum)', withByte(base, 0, 0x00), 'DOWNGRADE'),
    bad('truncated by one byte', base.subarray(0, base.length - 1), 'INTEGRITY'),
    bad('truncated below the minimum length (73 bytes)', base.subarray(0, 73), 'TRUNCATED'),
    bad('prefix only', base.subarray(0, 2), 'TRUNCATED'),
    bad('one byte', base.subarray(0, 1), 'TRUNCATED'),
    bad('empty', new Uint8Array(0), 'TRUNCATED'),
    bad('one byte appended', new Uint8Array([...base, 0]), 'INTEGRITY'),
  ];

  for (const v of valid) {
    const got = openEnvelope(KIND[v.kind], hexKey(v.key), fromHex(v.object), v.context);
    if (toHex(got) !== v.plaintext) throw new Error(`self-check failed: ${v.description}`);
  }
  for (const v of invalid) {
    const got = await codeOf(() =>
      openEnvelope(KIND[v.kind], hexKey(v.key), fromHex(v.object), v.context),
    );
    if (got !== v.expected_error)
      throw new Error(`self-check failed: ${v.description} gave ${got}`);
  }
  write('envelope.v1.json', {
    format: 'carnet-envelope',
    version: 1,
    description:
      'Symmetric envelopes [format][kind][nonce 24][commitment 32][ciphertext||tag 16]; see docs/protocol-parts/10-primitives-envelope-hpke.md. ' +
      '"kind" names the kind the opener expects (shared/src/registry.ts KIND); "context" is the ObjectContext.',
    valid,
    invalid,
  });
}

async function wraps(): Promise<void> {
  const r = await hpkeDeriveKeyPair(utf8('carnet test recipient'));
  const other = await hpkeDeriveKeyPair(utf8('carnet test other recipient'));
  const sk = toHex(r.privateKey);
  const ctx: ObjectContext = { folderId: FOLDER, epoch: 4, accountId: ACCOUNT };
  const valid: Entry[] = [];
  const add = async (
    description: string,
    kind: KindName,
    c: ObjectContext,
    pt: Uint8Array,
  ): Promise<Uint8Array> => {
    const object = await wrapToPublicKey(KIND[kind], r.publicKey, pt, c);
    valid.push({
      description,
      kind,
      recipient_private_key: sk,
      recipient_public_key: toHex(r.publicKey),
      context: c,
      object: toHex(object),
      plaintext: toHex(pt),
    });
    return object;
  };
  const base = await add(
    'folder key wrapped to a member',
    'MEMBER_WRAP',
    ctx,
    testKey('folder key'),
  );
  await add(
    'data key wrapped to a grant key',
    'GRANT_KEY_WRAP',
    { folderId: FOLDER, recordId: RECORD, version: 1, grantId: GRANT },
    testKey('data key'),
  );
  await add(
    'grant private key wrapped to an agent',
    'GRANT_PRIVATE_WRAP',
    { grantId: GRANT, accountId: ACCOUNT },
    testKey('grant private'),
  );
  await add('empty secret, empty context', 'MEMBER_WRAP', {}, new Uint8Array(0));

  const bad = (
    description: string,
    object: Uint8Array,
    err: CarnetErrorCode,
    over: Partial<Entry> = {},
  ): Entry => ({
    description,
    kind: 'MEMBER_WRAP',
    recipient_private_key: sk,
    context: ctx,
    object: toHex(object),
    expected_error: err,
    ...over,
  });
  const invalid: Entry[] = [
    bad('flipped last tag byte', flip(base, base.length - 1), 'INTEGRITY'),
    bad('flipped first ciphertext byte', flip(base, 34), 'INTEGRITY'),
    bad('flipped enc byte', flip(base, 2), 'INTEGRITY'),
    bad(
      'enc replaced by a low-order point (all zero)',
      base.map((x, i) => (i >= 2 && i < 34 ? 0 : x)),
      'INTEGRITY',
    ),
    bad('wrong context: other epoch', base, 'INTEGRITY', { context: { ...ctx, epoch: 5 } }),
    bad('wrong context: account absent', base, 'INTEGRITY', {
      context: { folderId: FOLDER, epoch: 4 },
    }),
    bad('wrong recipient', base, 'INTEGRITY', { recipient_private_key: toHex(other.privateKey) }),
    bad('opened as another kind', base, 'CONTEXT_MISMATCH', { kind: 'GRANT_KEY_WRAP' }),
    bad(
      'kind byte rewritten, opened as the new kind',
      withByte(base, 1, KIND.GRANT_KEY_WRAP),
      'INTEGRITY',
      { kind: 'GRANT_KEY_WRAP' },
    ),
    bad('unknown kind byte 0xee', withByte(base, 1, 0xee), 'FORMAT'),
    bad('unknown format byte 0x02', withByte(base, 0, 0x02), 'FORMAT'),
    bad('format byte 0x00 (older than the minimum)', withByte(base, 0, 0x00), 'DOWNGRADE'),
    bad('truncated by one byte', base.subarray(0, base.length - 1), 'INTEGRITY'),
    bad('truncated below the minimum length (49 bytes)', base.subarray(0, 49), 'TRUNCATED'),
    bad('one byte', base.subarray(0, 1), 'TRUNCATED'),
    bad('empty', new Uint8Array(0), 'TRUNCATED'),
    bad('one byte appended', new Uint8Array([...base, 0]), 'INTEGRITY'),
  ];

  for (const v of valid) {
    const got = await unwrapWithPrivateKey(
      KIND[v.kind],
      hexKey(v.recipient_private_key),
      fromHex(v.object),
      v.context,
    );
    if (toHex(got) !== v.plaintext) throw new Error(`self-check failed: ${v.description}`);
  }
  for (const v of invalid) {
    const got = await codeOf(() =>
      unwrapWithPrivateKey(
        KIND[v.kind],
        hexKey(v.recipient_private_key),
        fromHex(v.object),
        v.context,
      ),
    );
    if (got !== v.expected_error)
      throw new Error(`self-check failed: ${v.description} gave ${got}`);
  }
  write('hpke-wrap.v1.json', {
    format: 'carnet-hpke-wrap',
    version: 1,
    description:
      'HPKE wraps [format][kind][enc 32][ciphertext||tag 16], RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256)/HKDF-SHA256/ChaCha20-Poly1305; ' +
      'info = "carnet/v1/wrap" || AD(format, kind, context) || recipient public key; aad = the 2-byte prefix. ' +
      'The recipient key pair is DeriveKeyPair("carnet test recipient").',
    valid,
    invalid,
  });
}

function hexKey(v: unknown): Uint8Array {
  if (typeof v !== 'string') throw new Error('missing key');
  return fromHex(v);
}

await envelopes();
await wraps();

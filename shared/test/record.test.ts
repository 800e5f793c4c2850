import { vectorFile } from './vector-files';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes';
import { sealEnvelope } from '../src/envelope';
import type { AccountId, FolderId, RecordId } from '../src/ids';
import { asKey, type DataKey, type FolderKey } from '../src/keys';
import {
  canonicalJson,
  decodePaddedJson,
  encodePaddedJson,
  paddedLength,
} from '../src/padded-json';
import {
  headerHash,
  newDataKey,
  openDataKey,
  openRecordHeader,
  RECORD_VERSION_LEN,
  recordVersionHash,
  sealDataKey,
  sealRecordHeader,
  signRecordVersion,
  verifyRecordVersion,
  type RecordHeader,
  type RecordVersionFields,
} from '../src/record';
import { KIND } from '../src/registry';
import {
  assertEveryMutationRefused,
  expectCode,
  flip,
  testId,
  testIdentity,
  testKey,
} from './folder-helpers';
import { describeVectorFile } from './vector-suite';

const F = testId<FolderId>('folder');
const F2 = testId<FolderId>('other folder');
const A = testId<RecordId>('record A');
const B = testId<RecordId>('record B');
const AUTHOR = testId<AccountId>('author');
const fk = asKey<FolderKey>(testKey('folder key'));

describe('data keys', () => {
  const ctx = { folderId: F, recordId: A, version: 2, epoch: 1 };

  it('round-trip under the folder key', () => {
    const dek = newDataKey();
    expect(dek.length).toBe(32);
    const sealed = sealDataKey(fk, dek, ctx);
    expect(sealed[1]).toBe(KIND.DATA_KEY);
    expect(openDataKey(fk, sealed, ctx)).toEqual(dek);
  });

  it('refuse a data key of record A presented for record B, another version, epoch or folder', async () => {
    const sealed = sealDataKey(fk, newDataKey(), ctx);
    for (const other of [
      { ...ctx, recordId: B },
      { ...ctx, version: 3 },
      { ...ctx, epoch: 2 },
      { ...ctx, folderId: F2 },
    ]) {
      await expectCode(() => openDataKey(fk, sealed, other), 'INTEGRITY');
    }
    await expectCode(
      () => openDataKey(asKey<FolderKey>(testKey('other')), sealed, ctx),
      'INTEGRITY',
    );
  });

  it('refuse every damaged object with a typed error', async () => {
    const sealed = sealDataKey(fk, newDataKey(), ctx);
    await assertEveryMutationRefused(sealed, (d) => openDataKey(fk, d, ctx));
  });
});

describe('record headers', () => {
  const dek = asKey<DataKey>(testKey('data key'));
  const ctx = { folderId: F, recordId: A, version: 1 };
  const header: RecordHeader = {
    kind: 'observation',
    title: 'Tension artérielle',
    structured: { code: '85354-9', value: [128, 82], unit: 'mm[Hg]', ok: true, note: null },
    createdAt: 1_700_000_000_000,
  };

  it('round-trip, documents included', () => {
    expect(openRecordHeader(dek, sealRecordHeader(dek, header, ctx), ctx)).toEqual(header);
    const doc: RecordHeader = {
      kind: 'document',
      title: 'Compte rendu',
      text: 'IRM du genou',
      fileName: 'irm-genou.pdf',
      mimeType: 'application/pdf',
      size: 1_234_567,
      createdAt: 1,
    };
    expect(openRecordHeader(dek, sealRecordHeader(dek, doc, ctx), ctx)).toEqual(doc);
  });

  it('are bound to their record and version', async () => {
    const sealed = sealRecordHeader(dek, header, ctx);
    await expectCode(() => openRecordHeader(dek, sealed, { ...ctx, recordId: B }), 'INTEGRITY');
    await expectCode(() => openRecordHeader(dek, sealed, { ...ctx, version: 2 }), 'INTEGRITY');
  });

  it('pad titles and file names to a bucket', () => {
    const a = sealRecordHeader(dek, { kind: 'note', title: 'x', createdAt: 0 }, ctx);
    const b = sealRecordHeader(dek, { kind: 'note', title: 'x'.repeat(150), createdAt: 0 }, ctx);
    expect(a.length).toBe(b.length);
  });

  it('refuse invalid headers on sealing', async () => {
    const bad: unknown[] = [
      { ...header, kind: 'gossip' },
      { ...header, title: 3 },
      { ...header, createdAt: -1 },
      { ...header, createdAt: 1.5 },
      { ...header, size: -2 },
      { ...header, structured: { x: undefined } },
      { ...header, structured: { x: Number.NaN } },
      { ...header, colour: 'red' },
    ];
    for (const h of bad) {
      await expectCode(() => sealRecordHeader(dek, h as RecordHeader, ctx), 'INVALID_ARGUMENT');
    }
  });

  it('report a well-sealed malformed header as FORMAT', async () => {
    const plain = encodePaddedJson({ kind: 'note', title: 'x' });
    const sealed = sealEnvelope(KIND.RECORD_HEADER, dek, plain, ctx);
    await expectCode(() => openRecordHeader(dek, sealed, ctx), 'FORMAT');
  });

  it('refuse every damaged header with a typed error', async () => {
    const sealed = sealRecordHeader(dek, header, ctx);
    await assertEveryMutationRefused(sealed, (d) => openRecordHeader(dek, d, ctx));
  });
});

describe('padded canonical JSON', () => {
  it('sorts keys and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'é'], c: { z: 0, y: -0 } })).toBe(
      '{"a":[true,null,"é"],"b":1,"c":{"y":0,"z":0}}',
    );
  });

  it('pads to 256-byte buckets up to 4 KiB, then follows Padmé', () => {
    expect(paddedLength(0)).toBe(256);
    expect(paddedLength(256)).toBe(256);
    expect(paddedLength(257)).toBe(512);
    expect(paddedLength(4096)).toBe(4096);
    const doc = vectorFile<{ examples: { L: number; padded: number }[] }>('padme-examples.json');
    const large = doc.examples.filter((e) => e.L > 4096);
    expect(large.length).toBeGreaterThan(10);
    for (const e of large) expect(paddedLength(e.L)).toBe(e.padded);
  });

  it('round-trips any JSON value, and refuses damaged padding', async () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const enc = encodePaddedJson(v as never);
        expect(enc.length).toBe(paddedLength(enc.length));
        expect(canonicalJson(decodePaddedJson(enc))).toBe(canonicalJson(v as never));
      }),
      { numRuns: 200 },
    );
    const enc = encodePaddedJson({ a: 1 });
    await expectCode(() => decodePaddedJson(flip(enc, enc.length - 1)), 'FORMAT');
    await expectCode(() => decodePaddedJson(enc.subarray(0, 255)), 'FORMAT');
    await expectCode(() => decodePaddedJson(new Uint8Array([0, 0, 1, 0])), 'FORMAT');
    const invalidUtf8 = new Uint8Array(256);
    invalidUtf8.set([0, 0, 0, 1, 0xff]);
    await expectCode(() => decodePaddedJson(invalidUtf8), 'FORMAT');
    await expectCode(() => decodePaddedJson(utf8('{}')), 'FORMAT');
  });
});

describe('signed record versions', () => {
  const zero = new Uint8Array(32);
  const fields = (over: Partial<RecordVersionFields> = {}): RecordVersionFields => ({
    folderId: F,
    recordId: A,
    version: 1,
    prevVersionHash: zero,
    headerHash: testKey('header'),
    bodyDigest: testKey('body'),
    epoch: 1,
    authorId: AUTHOR,
    ...over,
  });

  it('round-trip and chain by hash', async () => {
    const author = await testIdentity('author');
    const v1 = await signRecordVersion(author.seed, fields());
    expect(v1.length).toBe(RECORD_VERSION_LEN);
    expect([v1[0], v1[1]]).toEqual([1, KIND.RECORD_VERSION]);
    expect(
      await verifyRecordVersion(author.pub, v1, { folderId: F, recordId: A, version: 1 }),
    ).toEqual(fields());
    const v2 = await signRecordVersion(
      author.seed,
      fields({ version: 2, prevVersionHash: recordVersionHash(v1), bodyDigest: zero }),
    );
    const parsed = await verifyRecordVersion(author.pub, v2, {
      prevVersionHash: recordVersionHash(v1),
    });
    expect(parsed.version).toBe(2);
    expect(recordVersionHash(v2)).not.toEqual(recordVersionHash(v1));
  });

  it('commits to the sealed header through headerHash', async () => {
    const author = await testIdentity('author');
    const dek = newDataKey();
    const sealed = sealRecordHeader(
      dek,
      { kind: 'note', title: 't', createdAt: 5 },
      { folderId: F, recordId: A, version: 1 },
    );
    const v = await signRecordVersion(author.seed, fields({ headerHash: headerHash(sealed) }));
    const other = sealRecordHeader(
      dek,
      { kind: 'note', title: 't', createdAt: 5 },
      { folderId: F, recordId: A, version: 1 },
    );
    await verifyRecordVersion(author.pub, v, { headerHash: headerHash(sealed) });
    // Same plaintext, re-sealed by the relay's choice of an older copy: the hash differs.
    await expectCode(
      () => verifyRecordVersion(author.pub, v, { headerHash: headerHash(other) }),
      'CONTEXT_MISMATCH',
    );
  });

  it('report a validly signed version of another place as CONTEXT_MISMATCH', async () => {
    const author = await testIdentity('author');
    const v = await signRecordVersion(author.seed, fields());
    const expectations: Partial<RecordVersionFields>[] = [
      { recordId: B },
      { folderId: F2 },
      { version: 2 },
      { epoch: 2 },
      { prevVersionHash: testKey('x') },
      { headerHash: testKey('x') },
      { bodyDigest: zero },
    ];
    for (const e of expectations)
      await expectCode(() => verifyRecordVersion(author.pub, v, e), 'CONTEXT_MISMATCH');
  });

  it('refuse another author: UNAUTHORIZED_AUTHOR, and a bad signature: INTEGRITY', async () => {
    const author = await testIdentity('author');
    const mallory = await testIdentity('mallory');
    const v = await signRecordVersion(author.seed, fields());
    await expectCode(
      () => verifyRecordVersion(author.pub, v, { authorId: testId<AccountId>('someone') }),
      'UNAUTHORIZED_AUTHOR',
    );
    await expectCode(() => verifyRecordVersion(() => undefined, v), 'UNAUTHORIZED_AUTHOR');
    await expectCode(() => verifyRecordVersion(mallory.pub, v), 'INTEGRITY');
    // Mallory signs a version claiming to be the author: the resolver gives the author's key.
    const forged = await signRecordVersion(mallory.seed, fields());
    const resolver = (id: AccountId) => (id === AUTHOR ? author.pub : undefined);
    await expectCode(() => verifyRecordVersion(resolver, forged), 'INTEGRITY');
    expect((await verifyRecordVersion(resolver, v)).authorId).toBe(AUTHOR);
  });

  it('refuse inconsistent fields when signing', async () => {
    const author = await testIdentity('author');
    const bad: Partial<RecordVersionFields>[] = [
      { version: 0 },
      { version: 2 ** 32 },
      { epoch: 0 },
      { prevVersionHash: testKey('p') },
      { version: 2, prevVersionHash: zero },
      { headerHash: new Uint8Array(31) },
      { bodyDigest: new Uint8Array(33) },
      { authorId: 'short' as AccountId },
    ];
    for (const b of bad)
      await expectCode(() => signRecordVersion(author.seed, fields(b)), 'INVALID_ARGUMENT');
  });

  it('refuse every damaged version with a typed error', async () => {
    const author = await testIdentity('author');
    const v = await signRecordVersion(author.seed, fields());
    await assertEveryMutationRefused(v, (d) => verifyRecordVersion(author.pub, d), 150);
  });

  it('refuse old, unknown and other kinds of objects', async () => {
    const author = await testIdentity('author');
    const v = await signRecordVersion(author.seed, fields());
    await expectCode(
      () => verifyRecordVersion(author.pub, new Uint8Array([0, ...v.subarray(1)])),
      'DOWNGRADE',
    );
    await expectCode(
      () => verifyRecordVersion(author.pub, new Uint8Array([2, ...v.subarray(1)])),
      'FORMAT',
    );
    await expectCode(
      () => verifyRecordVersion(author.pub, new Uint8Array([1, KIND.MANIFEST, ...v.subarray(2)])),
      'CONTEXT_MISMATCH',
    );
    await expectCode(() => verifyRecordVersion(author.pub, v.subarray(0, 100)), 'TRUNCATED');
    await expectCode(() => recordVersionHash(v.subarray(0, 100)), 'TRUNCATED');
  });
});

describeVectorFile('record-version.v1.json');

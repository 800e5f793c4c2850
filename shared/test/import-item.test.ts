import { describe, expect, it } from 'vitest';
import { equalBytes, toHex } from '../src/bytes';
import { sealEnvelope } from '../src/envelope';
import type { AccountId, FolderId, GrantId } from '../src/ids';
import { isId } from '../src/ids';
import {
  IMPORT_ITEM_LEN,
  importStreamContext,
  inspectImportItem,
  openImportHeader,
  sealImportHeader,
  signImportItem,
  unwrapImportKey,
  verifyImportItem,
  wrapImportKey,
  type ImportHeader,
  type ImportItemContext,
  type ImportItemFields,
} from '../src/import-item';
import { encodePaddedJson } from '../src/padded-json';
import { sha256 } from '../src/primitives/sha2';
import { newDataKey } from '../src/record';
import { KIND } from '../src/registry';
import { decryptFileBytes, encryptFileBytes } from '../src/stream/index';
import {
  assertEveryMutationRefused,
  expectCode,
  testEncryption,
  testId,
  testIdentity,
} from './folder-helpers';
import { describeTrailVectorFile } from './trail-vectors';

const G = testId<GrantId>('grant');
const IMPORT = testId<FolderId>('import batch');
const AGENT = testId<AccountId>('agent');
const PRACTITIONER = testId<AccountId>('practitioner');
const T0 = 1_750_000_000_000;
const CTX: ImportItemContext = {
  grantId: G,
  importId: IMPORT,
  item: 1,
  practitionerId: PRACTITIONER,
};
const HEADER: ImportHeader = {
  type: 'file',
  fileName: 'compte-rendu.pdf',
  mimeType: 'application/pdf',
  size: 3000,
  patientName: 'Jean Martin',
  createdAt: T0,
};

/** What an agent uploads for one item, and what the practitioner needs to open it. */
async function stage(content: Uint8Array, ctx: ImportItemContext = CTX) {
  const agent = await testIdentity('agent');
  const pract = await testEncryption('practitioner');
  const dek = newDataKey();
  const header = sealImportHeader(dek, { ...HEADER, size: content.length }, ctx);
  const keyWrap = await wrapImportKey(pract.pub, dek, ctx);
  const body = await encryptFileBytes(dek, importStreamContext(ctx.importId, ctx.item), content, {
    chunkSize: 1024,
  });
  const fields: ImportItemFields = {
    ...ctx,
    agentId: AGENT,
    headerHash: sha256(header),
    contentDigest: body.digest,
    keyWrapHash: sha256(keyWrap),
    at: T0,
  };
  const signed = await signImportItem(agent.seed, fields);
  return { agent, pract, dek, header, keyWrap, body: body.ciphertext, fields, signed };
}

describeTrailVectorFile('import.v1.json');

describe('staged import items', () => {
  it('round-trips: the practitioner verifies, unwraps, opens and decrypts', async () => {
    const content = new Uint8Array(3000).map((_, i) => i & 0xff);
    const s = await stage(content);
    expect(s.signed.length).toBe(IMPORT_ITEM_LEN);
    expect(IMPORT_ITEM_LEN).toBe(238);
    expect([s.signed[0], s.signed[1]]).toEqual([1, KIND.IMPORT_ITEM]);
    expect([s.keyWrap[0], s.keyWrap[1]]).toEqual([1, KIND.IMPORT_KEY_WRAP]);
    expect([s.header[0], s.header[1]]).toEqual([1, KIND.IMPORT_HEADER]);
    const fields = await verifyImportItem(s.agent.pub, s.signed, {
      ...CTX,
      agentId: AGENT,
      header: s.header,
      keyWrap: s.keyWrap,
    });
    expect(fields).toEqual(s.fields);
    expect(inspectImportItem(s.signed)).toEqual(s.fields);
    const dek = await unwrapImportKey(s.pract.priv, s.keyWrap, CTX);
    expect(toHex(dek)).toBe(toHex(s.dek));
    expect(openImportHeader(dek, s.header, CTX)).toEqual({ ...HEADER, size: 3000 });
    const out = await decryptFileBytes(dek, importStreamContext(IMPORT, 1), s.body);
    expect(equalBytes(out.content, content)).toBe(true);
    expect(equalBytes(out.digest, fields.contentDigest)).toBe(true);
    expect(equalBytes(sha256(content), fields.contentDigest)).toBe(true);
  });

  it('gives each item its own stream context', () => {
    const a = importStreamContext(IMPORT, 1);
    expect(a).toEqual(importStreamContext(IMPORT, 1));
    expect(a.folderId).toBe(IMPORT);
    expect(a.version).toBe(1);
    expect(isId(a.recordId)).toBe(true);
    const others = [importStreamContext(IMPORT, 2), importStreamContext(testId('other'), 1)];
    for (const o of others) expect(o.recordId).not.toBe(a.recordId);
  });

  it('refuses the content of one item opened as another', async () => {
    const s = await stage(new Uint8Array(50).fill(7));
    await expectCode(
      () => decryptFileBytes(s.dek, importStreamContext(IMPORT, 2), s.body),
      'INTEGRITY',
    );
  });

  it('refuses malformed fields, contexts and headers with INVALID_ARGUMENT', async () => {
    const s = await stage(new Uint8Array(1));
    const bad: Partial<ImportItemFields>[] = [
      { item: 0 },
      { item: 2 ** 32 },
      { grantId: 'x' as GrantId },
      { headerHash: new Uint8Array(31) },
      { at: -1 },
    ];
    for (const b of bad)
      await expectCode(
        () => signImportItem(s.agent.seed, { ...s.fields, ...b }),
        'INVALID_ARGUMENT',
      );
    await expectCode(
      () => wrapImportKey(s.pract.pub, s.dek, { ...CTX, item: 0 }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      () => verifyImportItem(s.agent.pub, s.signed, { ...CTX, importId: 'no' as FolderId }),
      'INVALID_ARGUMENT',
    );
    const headers: unknown[] = [
      { ...HEADER, type: 'zip' },
      { ...HEADER, size: -1 },
      { ...HEADER, fileName: 3 },
      { ...HEADER, extra: 'x' },
      { ...HEADER, patientName: null },
    ];
    for (const h of headers)
      await expectCode(() => sealImportHeader(s.dek, h as ImportHeader, CTX), 'INVALID_ARGUMENT');
  });

  it('refuses a header that decrypts to something else than a header (FORMAT)', async () => {
    const dek = newDataKey();
    const sealed = sealEnvelope(
      KIND.IMPORT_HEADER,
      dek,
      encodePaddedJson({ type: 'fhir', fileName: 'x', size: 1, createdAt: T0, script: 'x' }),
      { folderId: IMPORT, version: 1 },
    );
    await expectCode(() => openImportHeader(dek, sealed, CTX), 'FORMAT');
  });

  it('refuses every mutation of an item and of a key wrap', async () => {
    const s = await stage(new Uint8Array(10));
    await assertEveryMutationRefused(
      s.signed,
      (d) => verifyImportItem(s.agent.pub, d, { ...CTX, keyWrap: s.keyWrap }),
      150,
    );
    await assertEveryMutationRefused(s.keyWrap, (d) => unwrapImportKey(s.pract.priv, d, CTX), 60);
    await assertEveryMutationRefused(s.header, (d) => openImportHeader(s.dek, d, CTX), 100);
  });
});

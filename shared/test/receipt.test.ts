import { describe, expect, it } from 'vitest';
import { concatBytes, lp, utf8 } from '../src/bytes';
import type { AccountId, FolderId } from '../src/ids';
import { asKey, type IdentityPublicKey } from '../src/keys';
import { sha256 } from '../src/primitives/sha2';
import {
  DELETION_RECEIPT_LEN,
  inspectDeletionReceipt,
  signDeletionReceipt,
  verifyDeletionReceipt,
  type DeletionCounts,
  type DeletionReceiptFields,
} from '../src/receipt';
import { KIND } from '../src/registry';
import { RELAY_KEY_FINGERPRINT_DOMAIN, relayKeyFingerprint } from '../src/relay-key';
import { parseSafetyCode } from '../src/safety-code';
import { assertEveryMutationRefused, expectCode, testId, testIdentity } from './folder-helpers';
import { describeTrailVectorFile } from './trail-vectors';

const F = testId<FolderId>('folder');
const OWNER = testId<AccountId>('owner');
const T0 = 1_750_000_000_000;
const COUNTS: DeletionCounts = {
  folders: 1,
  records: 4,
  versions: 6,
  blobs: 2,
  bytes: 123_456,
  members: 2,
  grants: 0,
  auditEvents: 19,
};
const FIELDS: DeletionReceiptFields = {
  subject: 'folder',
  subjectId: F,
  requestedBy: OWNER,
  at: T0,
  counts: COUNTS,
};

describeTrailVectorFile('receipt.v1.json');

describe('deletion receipts', () => {
  it('sign and verify under the relay key, with a fixed length', async () => {
    const relay = await testIdentity('relay');
    const r = await signDeletionReceipt(relay.seed, FIELDS);
    expect(r.length).toBe(DELETION_RECEIPT_LEN);
    expect(DELETION_RECEIPT_LEN).toBe(171);
    expect([r[0], r[1], r[2]]).toEqual([1, KIND.DELETION_RECEIPT, 1]);
    expect(await verifyDeletionReceipt(relay.pub, r, { subjectId: F })).toEqual(FIELDS);
    expect(inspectDeletionReceipt(r)).toEqual(FIELDS);
    const acct = { ...FIELDS, subject: 'account' as const, subjectId: OWNER };
    const r2 = await signDeletionReceipt(relay.seed, acct);
    expect(await verifyDeletionReceipt(relay.pub, r2, { subject: 'account' })).toEqual(acct);
    await expectCode(
      () => verifyDeletionReceipt(relay.pub, r2, { subject: 'folder' }),
      'CONTEXT_MISMATCH',
    );
  });

  it('refuses malformed fields with INVALID_ARGUMENT', async () => {
    const relay = await testIdentity('relay');
    const bad: Partial<DeletionReceiptFields>[] = [
      { subject: 'record' as 'folder' },
      { subjectId: 'short' },
      { requestedBy: 'x' as AccountId },
      { at: -1 },
      { counts: { ...COUNTS, records: -1 } },
      { counts: { ...COUNTS, bytes: 2 ** 53 } },
      { counts: { ...COUNTS, extra: 1 } as DeletionCounts },
      { counts: { folders: 1 } as DeletionCounts },
    ];
    for (const b of bad)
      await expectCode(
        () => signDeletionReceipt(relay.seed, { ...FIELDS, ...b }),
        'INVALID_ARGUMENT',
      );
  });

  it('refuses every mutation, and a receipt signed by another key', async () => {
    const relay = await testIdentity('relay');
    const other = await testIdentity('other relay');
    const r = await signDeletionReceipt(relay.seed, FIELDS);
    await expectCode(() => verifyDeletionReceipt(other.pub, r), 'INTEGRITY');
    await assertEveryMutationRefused(r, (d) => verifyDeletionReceipt(relay.pub, d), 150);
  });
});

describe('relay key fingerprint', () => {
  it('is a 30-digit safety-code-style string over a domain-separated hash', async () => {
    const relay = await testIdentity('relay');
    const fp = relayKeyFingerprint(relay.pub);
    expect(fp).toMatch(/^(\d{5} ){5}\d{5}$/);
    expect(parseSafetyCode(fp)).toBe(fp);
    expect(relayKeyFingerprint(relay.pub)).toBe(fp);
    const other = await testIdentity('other relay');
    expect(relayKeyFingerprint(other.pub)).not.toBe(fp);
    // First group: the first 5 bytes of the hash, mod 100000.
    const d = sha256(concatBytes(lp(utf8(RELAY_KEY_FINGERPRINT_DOMAIN)), relay.pub));
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + d[i]!;
    expect(fp.slice(0, 5)).toBe(String(n % 100000).padStart(5, '0'));
  });

  it('refuses a key that is not 32 bytes', async () => {
    await expectCode(
      () => relayKeyFingerprint(new Uint8Array(31) as IdentityPublicKey),
      'INVALID_ARGUMENT',
    );
    expect(relayKeyFingerprint(asKey<IdentityPublicKey>(new Uint8Array(32)))).toMatch(/^\d{5} /);
  });
});

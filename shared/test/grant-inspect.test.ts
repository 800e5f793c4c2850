import { describe, expect, it } from 'vitest';
import { concatBytes } from '../src/bytes';
import { createGrant, inspectGrant, verifyGrantSignature } from '../src/grant';
import type { AccountId, FolderId } from '../src/ids';
import { KIND } from '../src/registry';
import { expectCode, testId, testIdentity } from './folder-helpers';

const T0 = 1_750_000_000_000;

async function grant() {
  const p = await testIdentity('practitioner');
  const g = await createGrant(p.seed, {
    practitionerId: testId<AccountId>('practitioner'),
    agentId: testId<AccountId>('agent'),
    agentFingerprint: '13579 24680 13579 24680 13579 24680',
    scope: { folders: [testId<FolderId>('folder')] },
    rights: 'import',
    notBefore: T0,
    expiresAt: T0 + 3_600_000,
    reason: 'Import',
  });
  return { p, ...g };
}

describe('grant inspection (relay side)', () => {
  it('reads the structure of a grant without a key, and checks only the signature', async () => {
    const { p, grant: bytes, fields } = await grant();
    expect(inspectGrant(bytes)).toEqual(fields);
    // No time, agent or scope check: an expired grant still has a valid signature.
    expect(await verifyGrantSignature(p.pub, bytes)).toEqual(fields);
  });

  it('refuses damage with the same codes as verifyGrant', async () => {
    const { p, grant: bytes } = await grant();
    const other = await testIdentity('other practitioner');
    await expectCode(() => verifyGrantSignature(other.pub, bytes), 'ACL_UNSIGNED');
    await expectCode(() => inspectGrant(bytes.subarray(0, -64)), 'ACL_UNSIGNED');
    await expectCode(() => inspectGrant(concatBytes(bytes, new Uint8Array(1))), 'FORMAT');
    await expectCode(() => inspectGrant(bytes.map((x, i) => (i === 0 ? 0 : x))), 'DOWNGRADE');
    await expectCode(() => inspectGrant(bytes.map((x, i) => (i === 0 ? 2 : x))), 'FORMAT');
    await expectCode(
      () => inspectGrant(bytes.map((x, i) => (i === 1 ? KIND.IMPORT_ITEM : x))),
      'CONTEXT_MISMATCH',
    );
    await expectCode(() => inspectGrant(bytes.subarray(0, 40)), 'TRUNCATED');
    const flipped = bytes.map((x, i) => (i === bytes.length - 1 ? x ^ 1 : x));
    expect(inspectGrant(flipped)).toEqual(inspectGrant(bytes));
    await expectCode(() => verifyGrantSignature(p.pub, flipped), 'ACL_UNSIGNED');
  });
});

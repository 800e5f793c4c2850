import { describe, expect, it } from 'vitest';
import { concatBytes, lp, u64, utf8 } from '../src/bytes';
import {
  createGrant,
  GRANT_SIGNATURE_DOMAIN,
  MAX_GRANT_DURATION_MS,
  unwrapGrantPrivateKeyAsAgent,
  unwrapKeyAsGrant,
  verifyGrant,
  wrapGrantPrivateKeyToAgent,
  wrapKeyToGrant,
  type GrantCheck,
  type GrantScope,
  type NewGrant,
} from '../src/grant';
import type { AccountId, FolderId, GrantId, RecordId } from '../src/ids';
import { newFolderKey } from '../src/folder';
import type { GrantPublicKey } from '../src/keys';
import { ed25519Sign } from '../src/primitives/ed25519';
import { newDataKey, openDataKey, sealDataKey } from '../src/record';
import { KIND } from '../src/registry';
import {
  assertEveryMutationRefused,
  expectCode,
  testEncryption,
  testId,
  testIdentity,
} from './folder-helpers';
import { describeVectorFile } from './vector-suite';

const F1 = testId<FolderId>('folder 1');
const F2 = testId<FolderId>('folder 2');
const F3 = testId<FolderId>('folder 3');
const R1 = testId<RecordId>('record 1');
const R2 = testId<RecordId>('record 2');
const PRACTITIONER = testId<AccountId>('practitioner');
const AGENT = testId<AccountId>('agent');
const OTHER_AGENT = testId<AccountId>('other agent');
const AGENT_FP = '13579 24680 13579 24680 13579 24680';
const T0 = 1_750_000_000_000;
const HOUR = 3_600_000;

function newGrant(over: Partial<NewGrant> = {}): NewGrant {
  return {
    practitionerId: PRACTITIONER,
    agentId: AGENT,
    agentFingerprint: AGENT_FP,
    scope: { folders: [F1, F2] },
    rights: 'read',
    notBefore: T0,
    expiresAt: T0 + 2 * HOUR,
    reason: 'Reprise des dossiers de l’ancien logiciel',
    ...over,
  };
}

function check(over: Partial<GrantCheck> = {}): GrantCheck {
  return {
    agentId: AGENT,
    agentFingerprint: AGENT_FP,
    now: T0 + HOUR,
    folderId: F1,
    right: 'read',
    ...over,
  };
}

describe('grant creation', () => {
  it('signs a grant with a fresh key pair, and it verifies', async () => {
    const p = await testIdentity('practitioner');
    const a = await createGrant(p.seed, newGrant());
    const b = await createGrant(p.seed, newGrant());
    expect([a.grant[0], a.grant[1]]).toEqual([1, KIND.GRANT]);
    expect(a.grantPrivateKey.length).toBe(32);
    expect(a.fields.grantPublicKey).not.toEqual(b.fields.grantPublicKey);
    expect(a.fields.grantId).not.toBe(b.fields.grantId);
    const got = await verifyGrant(p.pub, a.grant, check({ practitionerId: PRACTITIONER }));
    expect(got).toEqual(a.fields);
  });

  it('refuses more than 24 hours, no time at all, long reasons and empty scopes', async () => {
    const p = await testIdentity('practitioner');
    const bad: Partial<NewGrant>[] = [
      { expiresAt: T0 + MAX_GRANT_DURATION_MS + 1 },
      { expiresAt: T0 },
      { expiresAt: T0 - 1 },
      { notBefore: -5 },
      { notBefore: 1.5 },
      { reason: 'x'.repeat(501) },
      { reason: '\ud800' },
      { scope: { folders: [] } },
      { scope: { folders: [F1, F1] } },
      { scope: { records: [] } },
      { scope: { folders: [F1], records: [] } as unknown as GrantScope },
      { scope: { folders: ['bad' as FolderId] } },
      { agentFingerprint: '' },
      { rights: 'write' as 'read' },
      { agentId: 'x' as AccountId },
    ];
    for (const b of bad)
      await expectCode(() => createGrant(p.seed, newGrant(b)), 'INVALID_ARGUMENT');
    // Limits are inclusive: exactly 24 hours and 500 characters (code points, not UTF-16 units).
    await createGrant(
      p.seed,
      newGrant({ expiresAt: T0 + MAX_GRANT_DURATION_MS, reason: '🩺'.repeat(500) }),
    );
  });

  it('refuses a signed grant longer than 24 hours on verification (FORMAT)', async () => {
    const p = await testIdentity('practitioner');
    const { grant } = await createGrant(p.seed, newGrant());
    // Re-encode expiresAt as 48 h and re-sign, as a buggy or malicious client might.
    const expiresAt = 2 + 16 * 3 + 1 + utf8(AGENT_FP).length + 1 + 8;
    const tbs = grant.slice(0, grant.length - 64);
    tbs.set(u64(T0 + 48 * HOUR), expiresAt);
    const sig = await ed25519Sign(p.seed, concatBytes(lp(utf8(GRANT_SIGNATURE_DOMAIN)), tbs));
    await expectCode(() => verifyGrant(p.pub, concatBytes(tbs, sig), check()), 'FORMAT');
  });
});

describe('grant verification', () => {
  it('enforces the validity window', async () => {
    const p = await testIdentity('practitioner');
    const { grant } = await createGrant(p.seed, newGrant());
    await verifyGrant(p.pub, grant, check({ now: T0 }));
    await verifyGrant(p.pub, grant, check({ now: T0 + 2 * HOUR - 1 }));
    await expectCode(
      () => verifyGrant(p.pub, grant, check({ now: T0 - 1 })),
      'GRANT_NOT_YET_VALID',
    );
    await expectCode(
      () => verifyGrant(p.pub, grant, check({ now: T0 + 2 * HOUR })),
      'GRANT_EXPIRED',
    );
    await expectCode(
      () => verifyGrant(p.pub, grant, check({ now: T0 + 30 * HOUR })),
      'GRANT_EXPIRED',
    );
  });

  it('enforces folder and record scopes', async () => {
    const p = await testIdentity('practitioner');
    const folders = (await createGrant(p.seed, newGrant())).grant;
    await verifyGrant(p.pub, folders, check({ folderId: F2, recordId: R1 }));
    await expectCode(() => verifyGrant(p.pub, folders, check({ folderId: F3 })), 'GRANT_SCOPE');
    await expectCode(
      () => verifyGrant(p.pub, folders, check({ folderId: undefined, recordId: R1 })),
      'GRANT_SCOPE',
    );
    const records = (
      await createGrant(p.seed, newGrant({ scope: { records: [{ folderId: F1, recordId: R1 }] } }))
    ).grant;
    await verifyGrant(p.pub, records, check({ folderId: F1, recordId: R1 }));
    await expectCode(
      () => verifyGrant(p.pub, records, check({ folderId: F1, recordId: R2 })),
      'GRANT_SCOPE',
    );
    await expectCode(
      () => verifyGrant(p.pub, records, check({ folderId: F2, recordId: R1 })),
      'GRANT_SCOPE',
    );
    // A record scope does not open the folder as a whole.
    await expectCode(() => verifyGrant(p.pub, records, check({ folderId: F1 })), 'GRANT_SCOPE');
  });

  it('enforces the right', async () => {
    const p = await testIdentity('practitioner');
    const read = (await createGrant(p.seed, newGrant())).grant;
    const imp = (await createGrant(p.seed, newGrant({ rights: 'import' }))).grant;
    await expectCode(() => verifyGrant(p.pub, read, check({ right: 'import' })), 'GRANT_RIGHTS');
    await expectCode(() => verifyGrant(p.pub, imp, check({ right: 'read' })), 'GRANT_RIGHTS');
    await verifyGrant(p.pub, imp, check({ right: 'import' }));
  });

  it('refuses another agent, another agent key, another practitioner', async () => {
    const p = await testIdentity('practitioner');
    const other = await testIdentity('other practitioner');
    const { grant } = await createGrant(p.seed, newGrant());
    await expectCode(
      () => verifyGrant(p.pub, grant, check({ agentId: OTHER_AGENT })),
      'CONTEXT_MISMATCH',
    );
    await expectCode(
      () =>
        verifyGrant(
          p.pub,
          grant,
          check({ agentFingerprint: '00000 00000 00000 00000 00000 00000' }),
        ),
      'KEY_UNVERIFIED',
    );
    await expectCode(() => verifyGrant(other.pub, grant, check()), 'ACL_UNSIGNED');
    await expectCode(
      () => verifyGrant(p.pub, grant, check({ practitionerId: OTHER_AGENT })),
      'CONTEXT_MISMATCH',
    );
  });

  it('refuses a widened grant (tampered expiry, scope or right) as ACL_UNSIGNED', async () => {
    const p = await testIdentity('practitioner');
    const { grant } = await createGrant(p.seed, newGrant());
    const fpEnd = 2 + 16 * 3 + 1 + utf8(AGENT_FP).length;
    const rights = grant.slice();
    rights[fpEnd] = 0x02;
    await expectCode(() => verifyGrant(p.pub, rights, check({ right: 'import' })), 'ACL_UNSIGNED');
    const later = grant.slice();
    later.set(u64(T0 + 20 * HOUR), fpEnd + 1 + 8);
    await expectCode(() => verifyGrant(p.pub, later, check()), 'ACL_UNSIGNED');
    const scope = grant.slice();
    // Last byte of the first folder id (after rights, two u64, scope type and count).
    const at = fpEnd + 1 + 16 + 1 + 2 + 15;
    scope[at] = (scope[at] as number) ^ 0x01;
    await expectCode(() => verifyGrant(p.pub, scope, check()), 'ACL_UNSIGNED');
  });

  it('refuses every damaged grant with a typed error', async () => {
    const p = await testIdentity('practitioner');
    const { grant } = await createGrant(p.seed, newGrant());
    await assertEveryMutationRefused(grant, (d) => verifyGrant(p.pub, d, check()), 150);
  });
});

describe('grant key wraps', () => {
  const G = testId<GrantId>('grant');
  const G2 = testId<GrantId>('grant 2');

  it('carry a folder key to the agent and nowhere else', async () => {
    const p = await testIdentity('practitioner');
    const agent = await testEncryption('agent');
    const other = await testEncryption('other agent');
    const { grant, grantPrivateKey, fields } = await createGrant(p.seed, newGrant({ grantId: G }));
    const fk = newFolderKey();
    const fkWrap = await wrapKeyToGrant(fields.grantPublicKey, fk, {
      grantId: G,
      folderId: F1,
      epoch: 2,
    });
    expect(fkWrap[1]).toBe(KIND.GRANT_KEY_WRAP);
    const privWrap = await wrapGrantPrivateKeyToAgent(agent.pub, grantPrivateKey, {
      grantId: G,
      agentId: AGENT,
    });
    expect(privWrap[1]).toBe(KIND.GRANT_PRIVATE_WRAP);

    // The agent's side: verify the grant, open the private key, then the folder key.
    await verifyGrant(p.pub, grant, check({ folderId: F1 }));
    const priv = await unwrapGrantPrivateKeyAsAgent(agent.priv, privWrap, {
      grantId: G,
      agentId: AGENT,
    });
    expect(priv).toEqual(grantPrivateKey);
    const got = await unwrapKeyAsGrant(priv, fkWrap, { grantId: G, folderId: F1, epoch: 2 });
    expect(got).toEqual(fk);
    const dek = newDataKey();
    const ctx = { folderId: F1, recordId: R1, version: 1, epoch: 2 };
    expect(openDataKey(got, sealDataKey(fk, dek, ctx), ctx)).toEqual(dek);

    // Another agent, another agent id, another grant, epoch or folder: nothing opens.
    await expectCode(
      () =>
        unwrapGrantPrivateKeyAsAgent(other.priv, privWrap, { grantId: G, agentId: OTHER_AGENT }),
      'INTEGRITY',
    );
    await expectCode(
      () =>
        unwrapGrantPrivateKeyAsAgent(agent.priv, privWrap, { grantId: G, agentId: OTHER_AGENT }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapGrantPrivateKeyAsAgent(agent.priv, privWrap, { grantId: G2, agentId: AGENT }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapKeyAsGrant(priv, fkWrap, { grantId: G2, folderId: F1, epoch: 2 }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapKeyAsGrant(priv, fkWrap, { grantId: G, folderId: F1, epoch: 3 }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapKeyAsGrant(priv, fkWrap, { grantId: G, folderId: F2, epoch: 2 }),
      'INTEGRITY',
    );
    await expectCode(
      () =>
        unwrapKeyAsGrant(priv, fkWrap, {
          grantId: G,
          folderId: F1,
          recordId: R1,
          version: 1,
          epoch: 2,
        }),
      'INTEGRITY',
    );
  });

  it('carry a single data key, bound to its record and version', async () => {
    const p = await testIdentity('practitioner');
    const { grantPrivateKey, fields } = await createGrant(p.seed, newGrant({ grantId: G }));
    const dek = newDataKey();
    const ctx = { grantId: G, folderId: F1, recordId: R1, version: 3 };
    const wrap = await wrapKeyToGrant(fields.grantPublicKey, dek, ctx);
    expect(await unwrapKeyAsGrant(grantPrivateKey, wrap, ctx)).toEqual(dek);
    await expectCode(
      () => unwrapKeyAsGrant(grantPrivateKey, wrap, { ...ctx, recordId: R2 }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapKeyAsGrant(grantPrivateKey, wrap, { ...ctx, version: 4 }),
      'INTEGRITY',
    );
    await assertEveryMutationRefused(wrap, (d) => unwrapKeyAsGrant(grantPrivateKey, d, ctx), 60);
  });

  it('refuse ambiguous contexts', async () => {
    const pub = new Uint8Array(32).fill(9) as GrantPublicKey;
    const fk = newFolderKey();
    await expectCode(
      () => wrapKeyToGrant(pub, fk, { grantId: G, folderId: F1, epoch: 0 }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      () => wrapKeyToGrant(pub, fk, { grantId: G, folderId: F1, epoch: 1, version: 2 } as never),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      () => wrapKeyToGrant(pub, fk, { grantId: G, folderId: F1, recordId: R1, version: 0 }),
      'INVALID_ARGUMENT',
    );
  });
});

describeVectorFile('grant.v1.json');

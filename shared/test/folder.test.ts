import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes';
import { sealEnvelope } from '../src/envelope';
import {
  checkFolderKey,
  folderKeyCommitment,
  folderKeyForEpoch,
  newFolderKey,
  openFolderKeyForAccount,
  openLineage,
  openProfile,
  sealFolderKeyForAccount,
  sealLineage,
  sealProfile,
  SEXES,
  unwrapFolderKeyAsMember,
  walkLineage,
  wrapFolderKeyToMember,
  type PatientProfile,
} from '../src/folder';
import type { AccountId, FolderId, RecordId } from '../src/ids';
import { asKey, type AccountKey, type FolderKey } from '../src/keys';
import { newDataKey, openDataKey, sealDataKey } from '../src/record';
import { KIND } from '../src/registry';
import {
  assertEveryMutationRefused,
  codeOf,
  expectCode,
  testEncryption,
  testId,
  testKey,
} from './folder-helpers';
import { describeVectorFile } from './vector-suite';

const F = testId<FolderId>('folder');
const F2 = testId<FolderId>('other folder');
const R = testId<RecordId>('record');
const ALICE = testId<AccountId>('alice');
const BOB = testId<AccountId>('bob');
const accountKey = asKey<AccountKey>(testKey('account key'));
const otherAccountKey = asKey<AccountKey>(testKey('other account key'));

describe('folder keys under the account key', () => {
  it('are fresh 32-byte keys', () => {
    const a = newFolderKey();
    expect(a.length).toBe(32);
    expect(a).not.toEqual(newFolderKey());
  });

  it('round-trip and stay bound to the folder, epoch and account key', async () => {
    const fk = newFolderKey();
    const sealed = sealFolderKeyForAccount(accountKey, fk, F, 2);
    expect(sealed[0]).toBe(1);
    expect(sealed[1]).toBe(KIND.ACCOUNT_FOLDER_KEY);
    expect(openFolderKeyForAccount(accountKey, sealed, F, 2)).toEqual(fk);
    await expectCode(() => openFolderKeyForAccount(accountKey, sealed, F2, 2), 'INTEGRITY');
    await expectCode(() => openFolderKeyForAccount(accountKey, sealed, F, 3), 'INTEGRITY');
    await expectCode(() => openFolderKeyForAccount(otherAccountKey, sealed, F, 2), 'INTEGRITY');
  });

  it('refuse every damaged object with a typed error', async () => {
    const sealed = sealFolderKeyForAccount(accountKey, newFolderKey(), F, 1);
    await assertEveryMutationRefused(sealed, (d) => openFolderKeyForAccount(accountKey, d, F, 1));
  });

  it('refuse epoch 0 and malformed ids', async () => {
    await expectCode(
      () => sealFolderKeyForAccount(accountKey, newFolderKey(), F, 0),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      () => sealFolderKeyForAccount(accountKey, newFolderKey(), 'nope' as FolderId, 1),
      'INVALID_ARGUMENT',
    );
  });
});

describe('member wraps', () => {
  it('open only for the member, folder and epoch they were made for', async () => {
    const alice = await testEncryption('alice');
    const bob = await testEncryption('bob');
    const fk = newFolderKey();
    const wrap = await wrapFolderKeyToMember(alice.pub, fk, {
      folderId: F,
      epoch: 2,
      accountId: ALICE,
    });
    expect(wrap[1]).toBe(KIND.MEMBER_WRAP);
    expect(
      await unwrapFolderKeyAsMember(alice.priv, wrap, { folderId: F, epoch: 2, accountId: ALICE }),
    ).toEqual(fk);
    // Alice's wrap given to Bob: neither his key nor his id opens it.
    await expectCode(
      () => unwrapFolderKeyAsMember(bob.priv, wrap, { folderId: F, epoch: 2, accountId: BOB }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapFolderKeyAsMember(bob.priv, wrap, { folderId: F, epoch: 2, accountId: ALICE }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapFolderKeyAsMember(alice.priv, wrap, { folderId: F, epoch: 2, accountId: BOB }),
      'INTEGRITY',
    );
    // Epoch 2's wrap presented as epoch 3, or for another folder.
    await expectCode(
      () => unwrapFolderKeyAsMember(alice.priv, wrap, { folderId: F, epoch: 3, accountId: ALICE }),
      'INTEGRITY',
    );
    await expectCode(
      () => unwrapFolderKeyAsMember(alice.priv, wrap, { folderId: F2, epoch: 2, accountId: ALICE }),
      'INTEGRITY',
    );
  });

  it('yield a key the member checks against the manifest commitment', async () => {
    const alice = await testEncryption('alice');
    const fk = newFolderKey();
    const commitment = folderKeyCommitment(fk, F, 2);
    expect(commitment.length).toBe(32);
    const ctx = { folderId: F, epoch: 2, accountId: ALICE };
    const genuine = await unwrapFolderKeyAsMember(
      alice.priv,
      await wrapFolderKeyToMember(alice.pub, fk, ctx),
      ctx,
    );
    checkFolderKey(genuine, F, 2, commitment);
    // The relay knows Alice's public key and wraps a key of its own: the wrap opens, the check fails.
    const planted = await unwrapFolderKeyAsMember(
      alice.priv,
      await wrapFolderKeyToMember(alice.pub, newFolderKey(), ctx),
      ctx,
    );
    await expectCode(() => checkFolderKey(planted, F, 2, commitment), 'INTEGRITY');
    // The genuine key, claimed for another epoch or folder.
    await expectCode(() => checkFolderKey(genuine, F, 3, commitment), 'INTEGRITY');
    await expectCode(() => checkFolderKey(genuine, F2, 2, commitment), 'INTEGRITY');
    expect(folderKeyCommitment(fk, F, 3)).not.toEqual(commitment);
  });

  it('refuse every damaged wrap with a typed error', async () => {
    const alice = await testEncryption('alice');
    const ctx = { folderId: F, epoch: 1, accountId: ALICE };
    const wrap = await wrapFolderKeyToMember(alice.pub, newFolderKey(), ctx);
    await assertEveryMutationRefused(wrap, (d) => unwrapFolderKeyAsMember(alice.priv, d, ctx), 80);
  });
});

describe('key lineage', () => {
  async function threeEpochs(): Promise<{
    keys: FolderKey[];
    links: Map<number, Uint8Array>;
  }> {
    const keys = [newFolderKey(), newFolderKey(), newFolderKey()];
    const links = new Map<number, Uint8Array>([
      [2, sealLineage(keys[1]!, keys[0]!, F, 2)],
      [3, sealLineage(keys[2]!, keys[1]!, F, 3)],
    ]);
    return { keys, links };
  }

  it('lets a member of epoch 3 open what was written in epoch 1', async () => {
    const { keys, links } = await threeEpochs();
    const dek = newDataKey();
    const ctx = { folderId: F, recordId: R, version: 1, epoch: 1 };
    const sealedDek = sealDataKey(keys[0]!, dek, ctx);
    const walked = await walkLineage(keys[2]!, 3, 1, F, (e) => links.get(e));
    expect([...walked.keys()].sort()).toEqual([1, 2, 3]);
    expect(walked.get(2)).toEqual(keys[1]);
    const fk1 = await folderKeyForEpoch(keys[2]!, 3, 1, F, (e) => Promise.resolve(links.get(e)));
    expect(openDataKey(fk1, sealedDek, ctx)).toEqual(dek);
    expect(await folderKeyForEpoch(keys[2]!, 3, 3, F, () => undefined)).toEqual(keys[2]);
  });

  it('gives a holder of epoch 1 nothing of epoch 2', async () => {
    const { keys, links } = await threeEpochs();
    const ctx2 = { folderId: F, recordId: R, version: 1, epoch: 2 };
    const sealedDek2 = sealDataKey(keys[1]!, newDataKey(), ctx2);
    await expectCode(() => openDataKey(keys[0]!, sealedDek2, ctx2), 'INTEGRITY');
    // Lineage only runs downwards: the old key opens no link.
    await expectCode(() => openLineage(keys[0]!, links.get(2)!, F, 2), 'INTEGRITY');
    await expectCode(() => openLineage(keys[0]!, links.get(3)!, F, 3), 'INTEGRITY');
    await expectCode(() => walkLineage(keys[0]!, 1, 2, F, (e) => links.get(e)), 'INVALID_ARGUMENT');
  });

  it('refuses a link reused for another epoch or folder, and a missing link', async () => {
    const { keys, links } = await threeEpochs();
    await expectCode(() => openLineage(keys[2]!, links.get(3)!, F, 2), 'INTEGRITY');
    await expectCode(() => openLineage(keys[2]!, links.get(3)!, F2, 3), 'INTEGRITY');
    // The relay serves epoch 3's link where epoch 2's belongs.
    await expectCode(() => walkLineage(keys[2]!, 3, 1, F, () => links.get(3)), 'INTEGRITY');
    await expectCode(
      () => walkLineage(keys[2]!, 3, 1, F, (e) => (e === 2 ? undefined : links.get(e))),
      'RECORD_MISSING',
    );
    await expectCode(() => sealLineage(keys[1]!, keys[0]!, F, 1), 'INVALID_ARGUMENT');
  });

  it('refuses every damaged link with a typed error', async () => {
    const { keys, links } = await threeEpochs();
    await assertEveryMutationRefused(links.get(3)!, (d) => openLineage(keys[2]!, d, F, 3));
  });
});

describe('patient profile', () => {
  const fk = asKey<FolderKey>(testKey('profile folder key'));
  const profile: PatientProfile = {
    name: 'Élodie Martin-Dupont',
    birthDate: '1984-03-09',
    sex: 'female',
    identifier: '2 84 03 75 123 456 78',
    note: 'Allergie à la pénicilline 🐝',
  };

  it('round-trips and is bound to its folder and epoch', async () => {
    const sealed = sealProfile(fk, profile, F, 1);
    expect(sealed[1]).toBe(KIND.FOLDER_PROFILE);
    expect(openProfile(fk, sealed, F, 1)).toEqual(profile);
    await expectCode(() => openProfile(fk, sealed, F2, 1), 'INTEGRITY');
    await expectCode(() => openProfile(fk, sealed, F, 2), 'INTEGRITY');
  });

  it('hides the name length inside its padding bucket', () => {
    const short = sealProfile(fk, { name: 'Li' }, F, 1);
    const long = sealProfile(fk, { name: 'X'.repeat(200) }, F, 1);
    expect(short.length).toBe(long.length);
    expect(short.length).toBe(74 + 256);
    expect(sealProfile(fk, profile, F, 1).length).toBe(74 + 256);
  });

  it('refuses invalid profiles on sealing', async () => {
    const bad: unknown[] = [
      { name: '' },
      { name: '  ' },
      { name: 'A', birthDate: '09/03/1984' },
      { name: 'A', birthDate: '1984-13-01' },
      { name: 'A', sex: 'f' },
      { name: 'A', nickname: 'B' },
      { name: 'A', phone: 33 },
    ];
    for (const p of bad) {
      await expectCode(() => sealProfile(fk, p as PatientProfile, F, 1), 'INVALID_ARGUMENT');
    }
  });

  it('reports a well-sealed but malformed profile as FORMAT', async () => {
    const notJson = sealEnvelope(KIND.FOLDER_PROFILE, fk, utf8('{"name":'), {
      folderId: F,
      epoch: 1,
    });
    await expectCode(() => openProfile(fk, notJson, F, 1), 'FORMAT');
    const unpadded = new Uint8Array([0, 0, 0, 12, ...utf8('{"name":"A"}')]);
    const sealed = sealEnvelope(KIND.FOLDER_PROFILE, fk, unpadded, { folderId: F, epoch: 1 });
    await expectCode(() => openProfile(fk, sealed, F, 1), 'FORMAT');
  });

  it('round-trips any valid profile (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    fc.assert(
      fc.property(
        fc.record(
          {
            name: text.filter((s) => s.trim() !== ''),
            birthDate: fc.constantFrom('1900', '2001-12', '1984-03-09'),
            sex: fc.constantFrom(...SEXES),
            phone: text,
            email: text,
            address: text,
          },
          { requiredKeys: ['name'] },
        ),
        (p) => {
          expect(openProfile(fk, sealProfile(fk, p, F, 4), F, 4)).toEqual(p);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses every damaged profile with a typed error', async () => {
    const sealed = sealProfile(fk, profile, F, 1);
    await assertEveryMutationRefused(sealed, (d) => openProfile(fk, d, F, 1));
  });

  it('never opens a profile as another kind of object', async () => {
    const sealed = sealProfile(fk, profile, F, 1);
    expect(await codeOf(() => openFolderKeyForAccount(asKey<AccountKey>(fk), sealed, F, 1))).toBe(
      'CONTEXT_MISMATCH',
    );
  });
});

describeVectorFile('folder-keys.v1.json');

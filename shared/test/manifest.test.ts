import { describe, expect, it } from 'vitest';
import { concatBytes, lp, toHex, utf8 } from '../src/bytes';
import {
  checkAndAdvance,
  manifestMarkKey,
  MemoryHighWaterStore,
  recordMarkKey,
} from '../src/high-water';
import { folderKeyCommitment } from '../src/folder';
import type { AccountId, FolderId, RecordId } from '../src/ids';
import { asKey, type FolderKey } from '../src/keys';
import {
  acceptManifest,
  MANIFEST_SIGNATURE_DOMAIN,
  manifestHash,
  recordListDigest,
  signManifest,
  verifyManifest,
  verifyManifestChain,
  type ManifestBody,
  type RecordListEntry,
} from '../src/manifest';
import { ed25519Sign } from '../src/primitives/ed25519';
import { KIND } from '../src/registry';
import {
  assertEveryMutationRefused,
  codeOf,
  expectCode,
  testId,
  testIdentity,
  testKey,
} from './folder-helpers';
import { describeVectorFile } from './vector-suite';

const F = testId<FolderId>('folder');
const F2 = testId<FolderId>('other folder');
const OWNER = testId<AccountId>('owner');
const PATIENT = testId<AccountId>('patient');
const COLLEAGUE = testId<AccountId>('colleague');
const zero = new Uint8Array(32);
const FK = [1, 2].map((e) => asKey<FolderKey>(testKey(`folder key epoch ${e}`)));
const FP_OWNER = '11111 22222 33333 44444 55555 66666';
const FP_PATIENT = '01234 56789 01234 56789 01234 56789';

function body(over: Partial<ManifestBody> = {}): ManifestBody {
  return {
    folderId: F,
    ownerId: OWNER,
    seq: 1,
    epoch: 1,
    prevManifestHash: zero,
    recordListDigest: recordListDigest([]),
    folderKeyCommitment: folderKeyCommitment(FK[0]!, F, over.epoch ?? 1),
    members: [
      { accountId: PATIENT, fingerprint: FP_PATIENT, role: 'patient' },
      { accountId: OWNER, fingerprint: FP_OWNER, role: 'owner' },
    ],
    ...over,
  };
}

/** A valid chain of `n` manifests, adding a colleague at seq 2 and rotating at seq 3. */
async function chain(n: number): Promise<Uint8Array[]> {
  const owner = await testIdentity('owner');
  const out: Uint8Array[] = [];
  for (let seq = 1; seq <= n; seq++) {
    const prev = out[out.length - 1];
    const members = body().members.concat(
      seq === 2 ? [{ accountId: COLLEAGUE, fingerprint: 'c', role: 'practitioner' as const }] : [],
    );
    out.push(
      await signManifest(
        owner.seed,
        body({
          seq,
          epoch: seq >= 3 ? 2 : 1,
          folderKeyCommitment: folderKeyCommitment(FK[seq >= 3 ? 1 : 0]!, F, seq >= 3 ? 2 : 1),
          prevManifestHash: prev === undefined ? zero : manifestHash(prev),
          members,
        }),
      ),
    );
  }
  return out;
}

describe('record list digest', () => {
  const entries: RecordListEntry[] = [
    { recordId: testId<RecordId>('r1'), version: 3, versionHash: testKey('h1') },
    { recordId: testId<RecordId>('r2'), version: 1, versionHash: testKey('h2') },
    { recordId: testId<RecordId>('r3'), version: 7, versionHash: testKey('h3') },
  ];

  it('ignores the order of entries but not their content', async () => {
    const d = recordListDigest(entries);
    expect(recordListDigest([...entries].reverse())).toEqual(d);
    expect(recordListDigest(entries.slice(1))).not.toEqual(d);
    expect(recordListDigest([{ ...entries[0]!, version: 4 }, ...entries.slice(1)])).not.toEqual(d);
    expect(
      recordListDigest([{ ...entries[0]!, versionHash: testKey('x') }, ...entries.slice(1)]),
    ).not.toEqual(d);
    expect(recordListDigest([])).not.toEqual(d);
    await expectCode(() => recordListDigest([...entries, entries[0]!]), 'INVALID_ARGUMENT');
    await expectCode(() => recordListDigest([{ ...entries[0]!, version: 0 }]), 'INVALID_ARGUMENT');
  });
});

describe('manifests', () => {
  it('round-trip with members in canonical order', async () => {
    const owner = await testIdentity('owner');
    const m = await signManifest(owner.seed, body());
    expect([m[0], m[1]]).toEqual([1, KIND.MANIFEST]);
    const got = await verifyManifest(owner.pub, m, { folderId: F, ownerId: OWNER });
    expect(got.seq).toBe(1);
    expect(new Set(got.members.map((x) => x.accountId))).toEqual(new Set([OWNER, PATIENT]));
    // The member order given does not change the bytes (Ed25519 is deterministic).
    const reversed = await signManifest(
      owner.seed,
      body({ members: [...body().members].reverse() }),
    );
    expect(reversed).toEqual(m);
  });

  it('refuse a bad, absent or foreign signature as ACL_UNSIGNED', async () => {
    const owner = await testIdentity('owner');
    const relay = await testIdentity('relay');
    const m = await signManifest(owner.seed, body());
    await expectCode(() => verifyManifest(relay.pub, m, { folderId: F }), 'ACL_UNSIGNED');
    await expectCode(
      () => verifyManifest(owner.pub, m.subarray(0, m.length - 64), { folderId: F }),
      'ACL_UNSIGNED',
    );
    await expectCode(
      () => verifyManifest(owner.pub, m.subarray(0, m.length - 1), { folderId: F }),
      'ACL_UNSIGNED',
    );
    // The relay adds itself as a member and signs with its own key.
    const added = await signManifest(
      relay.seed,
      body({
        members: [
          ...body().members,
          { accountId: testId('relay'), fingerprint: 'r', role: 'practitioner' },
        ],
      }),
    );
    await expectCode(() => verifyManifest(owner.pub, added, { folderId: F }), 'ACL_UNSIGNED');
  });

  it('refuse a changed member (role, fingerprint) as ACL_UNSIGNED', async () => {
    const owner = await testIdentity('owner');
    const m = await signManifest(owner.seed, body());
    const fp = utf8(FP_PATIENT);
    const at = indexOf(m, fp);
    expect(at).toBeGreaterThan(0);
    const changedFp = m.slice();
    changedFp[at] = '9'.charCodeAt(0);
    await expectCode(() => verifyManifest(owner.pub, changedFp, { folderId: F }), 'ACL_UNSIGNED');
    const changedRole = m.slice();
    changedRole[at - 2] = 0x02; // patient → practitioner
    await expectCode(() => verifyManifest(owner.pub, changedRole, { folderId: F }), 'ACL_UNSIGNED');
  });

  it('report a validly signed manifest of another folder or owner as CONTEXT_MISMATCH', async () => {
    const owner = await testIdentity('owner');
    const m = await signManifest(owner.seed, body());
    await expectCode(() => verifyManifest(owner.pub, m, { folderId: F2 }), 'CONTEXT_MISMATCH');
    await expectCode(
      () => verifyManifest(owner.pub, m, { folderId: F, ownerId: PATIENT }),
      'CONTEXT_MISMATCH',
    );
  });

  it('refuse inconsistent bodies when signing', async () => {
    const owner = await testIdentity('owner');
    const bad: Partial<ManifestBody>[] = [
      { seq: 0 },
      { epoch: 0 },
      { prevManifestHash: testKey('p') },
      { seq: 2, prevManifestHash: zero },
      { recordListDigest: new Uint8Array(3) },
      { folderKeyCommitment: new Uint8Array(0) },
      { members: [] },
      { members: [{ accountId: PATIENT, fingerprint: FP_PATIENT, role: 'patient' }] },
      { ownerId: PATIENT },
      {
        members: [
          ...body().members,
          { accountId: PATIENT, fingerprint: 'x', role: 'practitioner' },
        ],
      },
      { members: [...body().members, { accountId: COLLEAGUE, fingerprint: 'x', role: 'owner' }] },
      {
        members: [
          ...body().members,
          { accountId: COLLEAGUE, fingerprint: '', role: 'practitioner' },
        ],
      },
      {
        members: [
          ...body().members,
          { accountId: COLLEAGUE, fingerprint: 'x'.repeat(256), role: 'practitioner' },
        ],
      },
    ];
    for (const b of bad)
      await expectCode(() => signManifest(owner.seed, body(b)), 'INVALID_ARGUMENT');
  });

  it('refuse a signed manifest whose members are out of canonical order as FORMAT', async () => {
    const owner = await testIdentity('owner');
    const m = await signManifest(owner.seed, body());
    // Swap the two member entries and re-sign: valid signature, non-canonical encoding.
    const start = 2 + 16 + 16 + 8 + 4 + 32 + 32 + 32 + 2;
    const tbs = m.subarray(0, m.length - 64);
    const first = tbs.subarray(start, start + 18 + (tbs[start + 17] as number));
    const second = tbs.subarray(start + first.length);
    const swapped = concatBytes(tbs.subarray(0, start), second, first);
    const sig = await ed25519Sign(
      owner.seed,
      concatBytes(lp(utf8(MANIFEST_SIGNATURE_DOMAIN)), swapped),
    );
    await expectCode(
      () => verifyManifest(owner.pub, concatBytes(swapped, sig), { folderId: F }),
      'FORMAT',
    );
  });

  it('refuse every damaged manifest with a typed error', async () => {
    const owner = await testIdentity('owner');
    const m = await signManifest(owner.seed, body());
    await assertEveryMutationRefused(m, (d) => verifyManifest(owner.pub, d, { folderId: F }), 150);
  });
});

describe('manifest chains', () => {
  it('verify a valid history, alone or continuing an anchor', async () => {
    const owner = await testIdentity('owner');
    const ms = await chain(4);
    const bodies = await verifyManifestChain(owner.pub, ms, { folderId: F });
    expect(bodies.map((b) => b.seq)).toEqual([1, 2, 3, 4]);
    const anchor = { seq: 2, hash: manifestHash(ms[1]!) };
    expect(
      (await verifyManifestChain(owner.pub, ms.slice(2), { folderId: F, anchor })).length,
    ).toBe(2);
  });

  it('refuse reordered, replayed, skipped and forked histories', async () => {
    const owner = await testIdentity('owner');
    const ms = await chain(4);
    const [m1, m2, m3, m4] = ms as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
    const check = (list: Uint8Array[], anchor?: { seq: number; hash: Uint8Array }) =>
      verifyManifestChain(
        owner.pub,
        list,
        anchor === undefined ? { folderId: F } : { folderId: F, anchor },
      );
    await expectCode(() => check([m2, m1, m3, m4]), 'ROLLBACK');
    // A swap inside the run shows first as a gap.
    await expectCode(() => check([m1, m3, m2, m4]), 'RECORD_MISSING');
    await expectCode(() => check([m1, m2, m2]), 'ROLLBACK');
    await expectCode(() => check([m1, m3, m4]), 'RECORD_MISSING');
    await expectCode(() => check([m2], { seq: 2, hash: manifestHash(m2) }), 'ROLLBACK');
    await expectCode(() => check([m4], { seq: 2, hash: manifestHash(m2) }), 'RECORD_MISSING');
    // A fork: another seq 2, validly signed, and m3 that links to the original seq 2.
    const fork2 = await signManifest(
      owner.seed,
      body({ seq: 2, prevManifestHash: manifestHash(m1), epoch: 1 }),
    );
    await expectCode(() => check([m1, fork2, m3]), 'ROLLBACK');
    await expectCode(() => check([m3], { seq: 2, hash: manifestHash(fork2) }), 'ROLLBACK');
    await expectCode(() => check([]), 'INVALID_ARGUMENT');
  });

  it('refuse an unsigned link, a member added without the owner, a decreasing epoch, another owner', async () => {
    const owner = await testIdentity('owner');
    const relay = await testIdentity('relay');
    const ms = await chain(3);
    const [m1, m2, m3] = ms as [Uint8Array, Uint8Array, Uint8Array];
    const relayAdds = await signManifest(
      relay.seed,
      body({
        seq: 4,
        epoch: 2,
        prevManifestHash: manifestHash(m3),
        members: [
          ...body().members,
          { accountId: testId('relay'), fingerprint: 'r', role: 'practitioner' },
        ],
      }),
    );
    await expectCode(
      () => verifyManifestChain(owner.pub, [m1, m2, m3, relayAdds], { folderId: F }),
      'ACL_UNSIGNED',
    );
    const unsigned = m2.subarray(0, m2.length - 64);
    await expectCode(
      () => verifyManifestChain(owner.pub, [m1, unsigned, m3], { folderId: F }),
      'ACL_UNSIGNED',
    );
    const epochDown = await signManifest(
      owner.seed,
      body({ seq: 4, epoch: 1, prevManifestHash: manifestHash(m3) }),
    );
    await expectCode(
      () => verifyManifestChain(owner.pub, [m3, epochDown], { folderId: F }),
      'ROLLBACK',
    );
    const newOwner = await signManifest(
      owner.seed,
      body({
        seq: 4,
        epoch: 2,
        ownerId: PATIENT,
        prevManifestHash: manifestHash(m3),
        members: [
          { accountId: PATIENT, fingerprint: FP_PATIENT, role: 'owner' },
          { accountId: OWNER, fingerprint: FP_OWNER, role: 'practitioner' },
        ],
      }),
    );
    await expectCode(
      () => verifyManifestChain(owner.pub, [m3, newOwner], { folderId: F }),
      'CONTEXT_MISMATCH',
    );
    const otherFolder = await signManifest(owner.seed, body({ folderId: F2 }));
    await expectCode(
      () => verifyManifestChain(owner.pub, [otherFolder], { folderId: F }),
      'CONTEXT_MISMATCH',
    );
  });
});

describe('accepting manifests against the high-water mark', () => {
  it('verifies new manifests, refuses old and forked ones, and skips re-verifying the known one', async () => {
    const owner = await testIdentity('owner');
    const relay = await testIdentity('relay');
    const store = new MemoryHighWaterStore();
    const [m1, m2] = (await chain(2)) as [Uint8Array, Uint8Array];
    const accept = (m: Uint8Array, pub = owner.pub, folderId = F) =>
      acceptManifest(store, pub, m, { folderId, ownerId: OWNER });
    await expectCode(() => accept(m1, relay.pub), 'ACL_UNSIGNED');
    expect(await store.get(manifestMarkKey(F))).toBeUndefined();
    expect((await accept(m1)).seq).toBe(1);
    expect((await accept(m2)).seq).toBe(2);
    expect(await store.get(manifestMarkKey(F))).toEqual({ seq: 2, hash: toHex(manifestHash(m2)) });
    await expectCode(() => accept(m1), 'ROLLBACK');
    const fork2 = await signManifest(
      owner.seed,
      body({ seq: 2, prevManifestHash: manifestHash(m1) }),
    );
    await expectCode(() => accept(fork2), 'ROLLBACK');
    // The known manifest again: its signature was verified when the mark was set.
    expect((await accept(m2)).seq).toBe(2);
    // A changed copy under the same seq is verified, and refused, before any fork check.
    const changed = m2.slice();
    const firstFingerprintByte = 2 + 16 + 16 + 8 + 4 + 32 + 32 + 32 + 2 + 18;
    changed[firstFingerprintByte] = (changed[firstFingerprintByte] as number) ^ 0x01;
    await expectCode(() => accept(changed), 'ACL_UNSIGNED');
    await expectCode(() => accept(m2, owner.pub, F2), 'CONTEXT_MISMATCH');
    expect(await store.get(manifestMarkKey(F))).toEqual({ seq: 2, hash: toHex(manifestHash(m2)) });
  });
});

describe('high-water marks', () => {
  it('advance, stay, and refuse rollbacks and forks', async () => {
    const store = new MemoryHighWaterStore();
    const key = manifestMarkKey(F);
    expect(key).toBe(`manifest:${F}`);
    expect(await checkAndAdvance(store, key, 1, testKey('m1'))).toBe('advanced');
    expect(await checkAndAdvance(store, key, 3, testKey('m3'))).toBe('advanced');
    expect(await checkAndAdvance(store, key, 3, toHex(testKey('m3')).toUpperCase())).toBe(
      'unchanged',
    );
    expect(await codeOf(() => checkAndAdvance(store, key, 2, testKey('m2')))).toBe('ROLLBACK');
    expect(await codeOf(() => checkAndAdvance(store, key, 3, testKey('other m3')))).toBe(
      'ROLLBACK',
    );
    expect(await store.get(key)).toEqual({ seq: 3, hash: toHex(testKey('m3')) });
    // Marks are per key.
    const rec = recordMarkKey(F, testId<RecordId>('r'));
    expect(rec).toBe(`record:${F}:${testId<RecordId>('r')}`);
    expect(await checkAndAdvance(store, rec, 1, testKey('v1'))).toBe('advanced');
    await expectCode(() => checkAndAdvance(store, key, -1, testKey('x')), 'INVALID_ARGUMENT');
    await expectCode(() => checkAndAdvance(store, key, 4, 'not hex'), 'INVALID_ARGUMENT');
  });

  it('serialise concurrent checks on one key', async () => {
    // A store whose reads resolve late: without serialisation both calls would read "no mark"
    // and the older write could land last.
    const inner = new MemoryHighWaterStore();
    const slow = {
      get: async (k: string) => {
        await new Promise((r) => setTimeout(r, 5));
        return inner.get(k);
      },
      set: (k: string, v: { seq: number; hash: string }) => inner.set(k, v),
    };
    const results = await Promise.allSettled([
      checkAndAdvance(slow, 'k', 5, testKey('5')),
      checkAndAdvance(slow, 'k', 3, testKey('3')),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'advanced' });
    expect(results[1]?.status).toBe('rejected');
    expect((await inner.get('k'))?.seq).toBe(5);
  });
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

describeVectorFile('manifest.v1.json');

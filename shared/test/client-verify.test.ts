/**
 * The SDK's record-list checks in isolation: matching the manifest's digest against the
 * relay's records (allowing for versions written after it), and the invite link parser.
 */
import { describe, expect, it } from 'vitest';
import { toBase64url } from '../src/bytes';
import { secretFromLink } from '../src/client/invites';
import { matchRecordDigest as matchWith, type VerifiedVersion } from '../src/client/record-verify';
import { newId, type AccountId, type FolderId, type RecordId } from '../src/ids';
import { recordListDigest, type RecordListEntry } from '../src/manifest';
import { randomBytes } from '../src/primitives/random';

const folderId = newId<FolderId>();
const authorId = newId<AccountId>();

/** A fake verified version written at `createdAt`. */
function version(recordId: RecordId, n: number, createdAt: number): VerifiedVersion {
  return {
    fields: {
      folderId,
      recordId,
      version: n,
      epoch: 1,
      authorId,
      prevVersionHash: new Uint8Array(32),
      headerHash: new Uint8Array(32),
      bodyDigest: new Uint8Array(32),
    },
    hash: randomBytes(32),
    createdAt,
  };
}

/** The current manifest for most cases: epoch 1, the fake author a member. */
const CURRENT = { epoch: 1, members: new Set([authorId]) };
const matchRecordDigest = (
  d: Uint8Array,
  r: ReadonlyMap<RecordId, readonly VerifiedVersion[]>,
): ReturnType<typeof matchWith> => matchWith(d, r, CURRENT);

function digestOf(entries: [RecordId, VerifiedVersion][]): Uint8Array {
  return recordListDigest(
    entries.map(([recordId, v]): RecordListEntry => ({
      recordId,
      version: v.fields.version,
      versionHash: v.hash,
    })),
  );
}

describe('matchRecordDigest', () => {
  const a = newId<RecordId>();
  const b = newId<RecordId>();
  const c = newId<RecordId>();
  const a1 = version(a, 1, 100);
  const a2 = version(a, 2, 400);
  const b1 = version(b, 1, 200);
  const c1 = version(c, 1, 500);
  const records = new Map<RecordId, VerifiedVersion[]>([
    [a, [a1, a2]],
    [b, [b1]],
    [c, [c1]],
  ]);

  it('current: the digest covers every latest version', () => {
    expect(
      matchRecordDigest(
        digestOf([
          [a, a2],
          [b, b1],
          [c, c1],
        ]),
        records,
      ),
    ).toBe('current');
  });

  it('older: the digest was signed before the newest versions were written', () => {
    expect(
      matchRecordDigest(
        digestOf([
          [a, a2],
          [b, b1],
        ]),
        records,
      ),
    ).toBe('older');
    expect(
      matchRecordDigest(
        digestOf([
          [a, a1],
          [b, b1],
        ]),
        records,
      ),
    ).toBe('older');
    expect(matchRecordDigest(recordListDigest([]), records)).toBe('older');
  });

  it('no match when a record the digest covers is absent (dropped by the relay)', () => {
    const withoutB = new Map(records);
    withoutB.delete(b);
    expect(
      matchRecordDigest(
        digestOf([
          [a, a2],
          [b, b1],
          [c, c1],
        ]),
        withoutB,
      ),
    ).toBeUndefined();
    expect(
      matchRecordDigest(
        digestOf([
          [a, a1],
          [b, b1],
        ]),
        withoutB,
      ),
    ).toBeUndefined();
  });

  it('no match for a version the relay invented or a state that never was', () => {
    expect(
      matchRecordDigest(
        digestOf([
          [a, version(a, 2, 400)],
          [b, b1],
        ]),
        records,
      ),
    ).toBeUndefined();
    expect(
      matchRecordDigest(
        digestOf([
          [a, a1],
          [c, c1],
        ]),
        records,
      ),
    ).toBeUndefined();
  });

  it('never peels a version written at an older epoch or by a non-member', () => {
    // The manifest covers a1 and b1; a2 and c1 came later. Written at the current epoch by a
    // current member they are explained; by a non-member or at an old epoch (a removed member
    // who kept the old folder key) they must not be.
    const covered = digestOf([
      [a, a1],
      [b, b1],
    ]);
    const twoVersions = new Map<RecordId, VerifiedVersion[]>([
      [a, [a1, a2]],
      [b, [b1]],
      [c, [c1]],
    ]);
    expect(matchWith(covered, twoVersions, CURRENT)).toBe('older');
    expect(matchWith(covered, twoVersions, { epoch: 2, members: new Set([authorId]) })).toBe(
      undefined,
    );
    expect(matchWith(covered, twoVersions, { epoch: 1, members: new Set() })).toBe(undefined);
  });
});

describe('invite links', () => {
  const secret = toBase64url(randomBytes(32));

  it('take the secret from the fragment, or a bare secret', () => {
    expect(toBase64url(secretFromLink(`https://carnet.example/invite#${secret}`))).toBe(secret);
    expect(toBase64url(secretFromLink(` ${secret}\n`))).toBe(secret);
  });

  it('refuse anything that is not a 32-byte secret', () => {
    for (const bad of [
      'https://carnet.example/invite',
      `https://x/invite#${secret}A`,
      '#',
      `#${secret.slice(1)}`,
    ]) {
      expect(() => secretFromLink(bad)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

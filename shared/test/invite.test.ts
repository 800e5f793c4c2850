import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url, toHex } from '../src/bytes';
import { newFolderKey } from '../src/folder';
import type { FolderId } from '../src/ids';
import {
  decodeInviteSecret,
  encodeInviteSecret,
  inviteLookupId,
  macInviteResponse,
  newInviteSecret,
  openFolderKeyFromInvite,
  sealFolderKeyToInvite,
  verifyInviteResponse,
} from '../src/invite';
import { asKey, type InviteSecret } from '../src/keys';
import { KIND } from '../src/registry';
import { assertEveryMutationRefused, expectCode, testId, testKey } from './folder-helpers';
import { describeVectorFile } from './vector-suite';

const F = testId<FolderId>('folder');
const F2 = testId<FolderId>('other folder');
const secret = asKey<InviteSecret>(testKey('invite secret'));
const otherSecret = asKey<InviteSecret>(testKey('other invite secret'));
const bundle = new Uint8Array(155).map((_, i) => (i * 7) & 0xff);

describe('invite secrets', () => {
  it('are fresh 32-byte secrets that survive a URL fragment', () => {
    const s = newInviteSecret();
    expect(s.length).toBe(32);
    expect(s).not.toEqual(newInviteSecret());
    const text = encodeInviteSecret(s);
    expect(text).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeInviteSecret(text)).toEqual(s);
  });

  it('refuse malformed fragments', async () => {
    const text = encodeInviteSecret(secret);
    for (const bad of [
      '',
      text.slice(1),
      `${text}A`,
      `${text.slice(0, 42)}+`,
      `${text.slice(0, 42)}B`,
    ]) {
      await expectCode(() => decodeInviteSecret(bad), 'INVALID_ARGUMENT');
    }
  });

  it('give the relay a lookup id that is derived, stable and reveals nothing of the secret', () => {
    const id = inviteLookupId(secret);
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(inviteLookupId(secret)).toBe(id);
    expect(inviteLookupId(otherSecret)).not.toBe(id);
    expect(encodeInviteSecret(secret).includes(id)).toBe(false);
    expect(toHex(secret).includes(toHex(fromBase64url(id)))).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        const s = asKey<InviteSecret>(b);
        expect(inviteLookupId(s)).not.toBe(toBase64url(b.subarray(0, 16)));
      }),
      { numRuns: 50 },
    );
  });
});

describe('folder key sealed to an invite', () => {
  it('opens only with the secret, for its folder and epoch', async () => {
    const fk = newFolderKey();
    const sealed = sealFolderKeyToInvite(secret, fk, { folderId: F, epoch: 2 });
    expect(sealed[1]).toBe(KIND.INVITE_FOLDER_KEY);
    expect(openFolderKeyFromInvite(secret, sealed, { folderId: F, epoch: 2 })).toEqual(fk);
    await expectCode(
      () => openFolderKeyFromInvite(otherSecret, sealed, { folderId: F, epoch: 2 }),
      'INTEGRITY',
    );
    await expectCode(
      () => openFolderKeyFromInvite(secret, sealed, { folderId: F2, epoch: 2 }),
      'INTEGRITY',
    );
    await expectCode(
      () => openFolderKeyFromInvite(secret, sealed, { folderId: F, epoch: 1 }),
      'INTEGRITY',
    );
    await expectCode(
      () => sealFolderKeyToInvite(secret, fk, { folderId: F, epoch: 0 }),
      'INVALID_ARGUMENT',
    );
  });

  it('refuses every damaged object with a typed error', async () => {
    const sealed = sealFolderKeyToInvite(secret, newFolderKey(), { folderId: F, epoch: 1 });
    await assertEveryMutationRefused(sealed, (d) =>
      openFolderKeyFromInvite(secret, d, { folderId: F, epoch: 1 }),
    );
  });
});

describe('invite responses', () => {
  it('return the key bundle when the MAC verifies', () => {
    const r = macInviteResponse(secret, bundle, { folderId: F });
    expect([r[0], r[1]]).toEqual([1, KIND.INVITE_RESPONSE]);
    expect(r.length).toBe(2 + 16 + 4 + bundle.length + 32);
    expect(verifyInviteResponse(secret, r, { folderId: F })).toEqual(bundle);
    expect(
      verifyInviteResponse(secret, macInviteResponse(secret, new Uint8Array(0), { folderId: F }), {
        folderId: F,
      }),
    ).toEqual(new Uint8Array(0));
  });

  it('refuse a substituted bundle, another secret, another folder', async () => {
    const r = macInviteResponse(secret, bundle, { folderId: F });
    // The relay swaps in its own key bundle but cannot compute the MAC.
    const swapped = r.slice();
    swapped.set(new Uint8Array(bundle.length).fill(0xaa), 2 + 16 + 4);
    await expectCode(() => verifyInviteResponse(secret, swapped, { folderId: F }), 'INTEGRITY');
    await expectCode(() => verifyInviteResponse(otherSecret, r, { folderId: F }), 'INTEGRITY');
    const relabelled = r.slice();
    relabelled.set(fromBase64url(F2), 2);
    await expectCode(() => verifyInviteResponse(secret, relabelled, { folderId: F2 }), 'INTEGRITY');
    // A genuine answer about folder F, checked as an answer about F2.
    await expectCode(() => verifyInviteResponse(secret, r, { folderId: F2 }), 'CONTEXT_MISMATCH');
    await expectCode(
      () => verifyInviteResponse(secret, r.subarray(0, 30), { folderId: F }),
      'TRUNCATED',
    );
  });

  it('refuse every damaged response with a typed error', async () => {
    const r = macInviteResponse(secret, bundle, { folderId: F });
    await assertEveryMutationRefused(r, (d) => verifyInviteResponse(secret, d, { folderId: F }));
  });
});

describeVectorFile('invite.v1.json');

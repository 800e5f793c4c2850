import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_EVENT_HASH_DOMAIN,
  AUDIT_EVENT_TYPES,
  AUDIT_GENESIS_HASH,
  auditEventHash,
  CLIENT_AUDIT_EVENT_LEN,
  inspectClientAuditEvent,
  parseAuditEventType,
  signClientAuditEvent,
  verifyAuditChain,
  verifyClientAuditEvent,
  type AuditEvent,
  type ClientAuditFields,
} from '../src/audit';
import { concatBytes, fromBase64url, lp, toHex, u32, u64, utf8 } from '../src/bytes';
import type { AccountId, BlobId, FolderId, GrantId, RecordId } from '../src/ids';
import { sha256 } from '../src/primitives/sha2';
import { KIND } from '../src/registry';
import {
  assertEveryMutationRefused,
  codeOf,
  expectCode,
  testId,
  testIdentity,
} from './folder-helpers';
import { describeTrailVectorFile } from './trail-vectors';

const F = testId<FolderId>('folder');
const R = testId<RecordId>('record');
const OWNER = testId<AccountId>('owner');
const PATIENT = testId<AccountId>('patient');
const G = testId<GrantId>('grant');
const BLOB = testId<RecordId>('blob') as string as BlobId;
const T0 = 1_750_000_000_000;

function event(over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    chainId: F,
    seq: 1,
    at: T0,
    type: 'record.written',
    actorId: OWNER,
    folderId: F,
    recordId: R,
    version: 3,
    grantId: null,
    blobId: null,
    subjectId: null,
    signed: null,
    prevHash: AUDIT_GENESIS_HASH,
    ...over,
  };
}

/** A linked chain of `n` relay events (types cycle through the unsigned ones). */
function chainOf(n: number, chainId: string = F): { events: AuditEvent[]; hashes: Uint8Array[] } {
  const unsigned = AUDIT_EVENT_TYPES.filter((t) => t !== 'viewed' && t !== 'exported');
  const events: AuditEvent[] = [];
  const hashes: Uint8Array[] = [];
  let prev = AUDIT_GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = event({
      chainId,
      seq,
      at: T0 + seq,
      type: unsigned[seq % unsigned.length]!,
      version: seq % 3 === 0 ? null : seq,
      prevHash: prev,
    });
    prev = auditEventHash(e);
    events.push(e);
    hashes.push(prev);
  }
  return { events, hashes };
}

const broken = (fn: () => unknown): Promise<void> => expectCode(fn, 'AUDIT_BROKEN');

describeTrailVectorFile('audit.v1.json');

describe('audit event hash', () => {
  it('is SHA-256 of the documented encoding', () => {
    const e = event({ blobId: BLOB, grantId: G, version: 7 });
    const id = (s: string): Uint8Array => fromBase64url(s);
    const expected = sha256(
      concatBytes(
        lp(utf8(AUDIT_EVENT_HASH_DOMAIN)),
        new Uint8Array([0x01, KIND.AUDIT_EVENT]),
        id(F),
        u64(1),
        u64(T0),
        lp(utf8('record.written')),
        new Uint8Array([1]),
        id(OWNER),
        new Uint8Array([1]),
        id(F),
        new Uint8Array([1]),
        id(R),
        new Uint8Array([1]),
        u32(7),
        new Uint8Array([1]),
        id(G),
        new Uint8Array([1]),
        id(BLOB),
        new Uint8Array([0]),
        new Uint8Array([0]),
        AUDIT_GENESIS_HASH,
      ),
    );
    expect(toHex(auditEventHash(e))).toBe(toHex(expected));
  });

  it('changes with every field, and tells an absent field from a zero one', () => {
    const base = toHex(auditEventHash(event()));
    const variants: Partial<AuditEvent>[] = [
      { chainId: OWNER },
      { seq: 2 },
      { at: T0 + 1 },
      { type: 'blob.read' },
      { actorId: null },
      { actorId: PATIENT },
      { folderId: null },
      { recordId: null },
      { version: null },
      { version: 0 },
      { grantId: G },
      { blobId: BLOB },
      { subjectId: PATIENT },
      { prevHash: new Uint8Array(32).fill(1) },
    ];
    const seen = new Set([base]);
    for (const v of variants) seen.add(toHex(auditEventHash(event(v))));
    expect(seen.size).toBe(variants.length + 1);
  });

  it('refuses malformed events with FORMAT', async () => {
    const bad: Partial<AuditEvent>[] = [
      { type: 'record.deleted' as 'viewed' },
      { seq: 0 },
      { seq: 1.5 },
      { at: -1 },
      { chainId: 'short' },
      { actorId: 'x' as AccountId },
      { version: 2 ** 32 },
      { prevHash: new Uint8Array(31) },
      { signed: new Uint8Array(CLIENT_AUDIT_EVENT_LEN) },
      { type: 'viewed' },
    ];
    for (const b of bad) await expectCode(() => auditEventHash(event(b)), 'FORMAT');
    expect(parseAuditEventType('grant.read')).toBe('grant.read');
    await expectCode(() => parseAuditEventType('nope'), 'FORMAT');
  });
});

describe('audit chain verification', () => {
  it('returns the head, and the genesis hash for an empty chain', () => {
    const { events, hashes } = chainOf(5);
    expect(verifyAuditChain(events, { chainId: F })).toEqual(hashes[4]);
    expect(verifyAuditChain(events, { chainId: F, hashes })).toEqual(hashes[4]);
    expect(verifyAuditChain([], { chainId: F })).toEqual(AUDIT_GENESIS_HASH);
  });

  it('property: any run fetched from an anchor verifies and gives the same head', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 12 })
          .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }), fc.boolean())),
        ([n, k, inclusive]) => {
          const { events, hashes } = chainOf(n);
          const run = events.slice(inclusive ? k - 1 : k);
          const anchor = { seq: k, hash: hashes[k - 1]! };
          if (run.length === 0) {
            // Fetching strictly after the head gives nothing: the caller must include the anchor.
            expect(() => verifyAuditChain(run, { chainId: F, anchor })).toThrow();
            return;
          }
          expect(verifyAuditChain(run, { chainId: F, anchor })).toEqual(hashes[n - 1]);
        },
      ),
    );
  });

  it('property: deleting, swapping or editing any event breaks the chain', async () => {
    const edits: ((e: AuditEvent) => AuditEvent)[] = [
      (e) => ({ ...e, at: e.at + 1 }),
      (e) => ({ ...e, type: e.type === 'blob.read' ? 'keys.folder' : 'blob.read' }),
      (e) => ({ ...e, actorId: PATIENT }),
      (e) => ({ ...e, version: e.version === null ? 1 : null }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 10 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 0, max: edits.length - 1 }),
            ),
          ),
        async ([n, i, j, edit]) => {
          const { events, hashes } = chainOf(n);
          // The device saw the whole chain: its anchor is the head.
          const check = { chainId: F, anchor: { seq: n, hash: hashes[n - 1]! } };
          // Fetched from seq 1: without the anchor, losing the last event would look like a
          // chain that is simply shorter, and with it, losing the first one would look like a
          // fetch from the anchor — so each case uses what the device would really have.
          const last = i === n - 1;
          const deleted = events.filter((_, x) => x !== i);
          await broken(() => verifyAuditChain(deleted, i === 0 ? { chainId: F } : check));
          const renumbered = deleted.map((e, x) => ({ ...e, seq: x + 1 }));
          await broken(() => verifyAuditChain(renumbered, last ? check : { chainId: F }));
          const edited = events.map((e, x) => (x === i ? edits[edit]!(e) : e));
          await broken(() => verifyAuditChain(edited, check));
          if (i !== j) {
            const swapped = events.slice();
            [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
            await broken(() => verifyAuditChain(swapped, { chainId: F }));
            const reseq = swapped.map((e, x) => ({ ...e, seq: x + 1 }));
            await broken(() => verifyAuditChain(reseq, { chainId: F }));
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('detects truncation below the anchor and a served run that does not reach it', async () => {
    const { events, hashes } = chainOf(6);
    const anchor = { seq: 5, hash: hashes[4]! };
    await broken(() => verifyAuditChain(events.slice(0, 4), { chainId: F, anchor }));
    await broken(() => verifyAuditChain([], { chainId: F, anchor }));
    await broken(() => verifyAuditChain(events.slice(5 + 1), { chainId: F, anchor }));
    // A whole new history from seq 1 whose head is past the anchor but differs at the anchor.
    const fork = chainOf(8, F).events.map((e) => ({ ...e }));
    const reforged: AuditEvent[] = [];
    let prev = AUDIT_GENESIS_HASH;
    for (const e of fork) {
      const x = { ...e, at: e.at + 1000, prevHash: prev };
      prev = auditEventHash(x);
      reforged.push(x);
    }
    await broken(() => verifyAuditChain(reforged, { chainId: F, anchor }));
    expect(verifyAuditChain(reforged, { chainId: F })).toEqual(prev);
  });

  it('refuses a wrong stated hash and events of another chain', async () => {
    const { events, hashes } = chainOf(3);
    const wrong = hashes.map((x, i) => (i === 1 ? new Uint8Array(32) : x));
    await broken(() => verifyAuditChain(events, { chainId: F, hashes: wrong }));
    const other = chainOf(3, OWNER);
    await broken(() => verifyAuditChain(other.events, { chainId: F }));
    await expectCode(
      () => verifyAuditChain(events, { chainId: F, hashes: hashes.slice(1) }),
      'INVALID_ARGUMENT',
    );
    await expectCode(
      () => verifyAuditChain(events, { chainId: F, anchor: { seq: 0, hash: hashes[0]! } }),
      'INVALID_ARGUMENT',
    );
  });

  it('checks that a carried client-signed event matches the event it is in', async () => {
    const p = await testIdentity('patient');
    const fields: ClientAuditFields = {
      action: 'viewed',
      actorId: PATIENT,
      folderId: F,
      recordId: R,
      version: 2,
      grantId: null,
      at: T0,
    };
    const signed = await signClientAuditEvent(p.seed, fields);
    const ok = event({ type: 'viewed', actorId: PATIENT, version: 2, signed });
    expect(verifyAuditChain([ok], { chainId: F })).toEqual(auditEventHash(ok));
    for (const over of [
      { actorId: OWNER },
      { version: 3 },
      { recordId: null },
      { grantId: G },
      { type: 'exported' as const },
    ]) {
      const bad = { ...ok, ...over };
      expect(await codeOf(() => verifyAuditChain([bad], { chainId: F }))).toBe('CONTEXT_MISMATCH');
    }
  });
});

describe('client-signed audit events', () => {
  const fields: ClientAuditFields = {
    action: 'viewed',
    actorId: PATIENT,
    folderId: F,
    recordId: R,
    version: 4,
    grantId: G,
    at: T0,
  };

  it('sign, inspect and verify with a fixed length', async () => {
    const p = await testIdentity('patient');
    const bytes = await signClientAuditEvent(p.seed, fields);
    expect(bytes.length).toBe(CLIENT_AUDIT_EVENT_LEN);
    expect(CLIENT_AUDIT_EVENT_LEN).toBe(144);
    expect([bytes[0], bytes[1]]).toEqual([1, KIND.AUDIT_VIEWED]);
    expect(inspectClientAuditEvent(bytes)).toEqual(fields);
    expect(await verifyClientAuditEvent(p.pub, bytes, { actorId: PATIENT, grantId: G })).toEqual(
      fields,
    );
    const folderOnly = { ...fields, recordId: null, version: 0, grantId: null };
    const b2 = await signClientAuditEvent(p.seed, { ...folderOnly, action: 'exported' });
    expect(await verifyClientAuditEvent(p.pub, b2)).toEqual({
      ...folderOnly,
      action: 'exported',
    });
  });

  it('refuses malformed fields with INVALID_ARGUMENT', async () => {
    const p = await testIdentity('patient');
    const bad: Partial<ClientAuditFields>[] = [
      { action: 'deleted' as 'viewed' },
      { actorId: 'x' as AccountId },
      { version: 0 },
      { recordId: null },
      { version: -1 },
      { at: 2 ** 53 },
      { grantId: 'bad' as GrantId },
    ];
    for (const b of bad)
      await expectCode(() => signClientAuditEvent(p.seed, { ...fields, ...b }), 'INVALID_ARGUMENT');
  });

  it('refuses every mutation', async () => {
    const p = await testIdentity('patient');
    const bytes = await signClientAuditEvent(p.seed, fields);
    await assertEveryMutationRefused(bytes, (d) => verifyClientAuditEvent(p.pub, d), 150);
  });
});

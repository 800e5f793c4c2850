/**
 * Writes the vector files of audit chains, staged imports and deletion receipts:
 * vectors/{audit,import,receipt}.v1.json — objects that must open or verify (with their result)
 * and objects that must be refused (with the error code).
 *
 * Keys and ids come from fixed labels so the files are reviewable; envelope nonces, HPKE
 * ephemeral keys and file-stream salts are random, so each run gives different objects (the
 * files are committed once, then only checked). Signatures and audit hashes are deterministic.
 * Every entry goes through the same interpreter as the tests (test/trail-vectors.ts) before
 * anything is written.
 *
 * Run from shared/: npx tsx scripts/gen-vectors-trail.ts
 */
import { writeFileSync } from 'node:fs';
import {
  auditEventHash,
  AUDIT_GENESIS_HASH,
  signClientAuditEvent,
  type AuditEvent,
  type ClientAuditFields,
} from '../src/audit';
import { concatBytes, toHex, u32, u64 } from '../src/bytes';
import type { AccountId, BlobId, FolderId, GrantId, RecordId } from '../src/ids';
import {
  importStreamContext,
  sealImportHeader,
  signImportItem,
  wrapImportKey,
  type ImportHeader,
  type ImportItemContext,
} from '../src/import-item';
import { asKey } from '../src/keys';
import type { DataKey } from '../src/keys';
import { signDeletionReceipt, type DeletionReceiptFields } from '../src/receipt';
import { KIND } from '../src/registry';
import { sha256 } from '../src/primitives/sha2';
import { encryptFileBytes } from '../src/stream/encrypt';
import { flip, testEncryption, testId, testIdentity, testKey } from '../test/folder-helpers';
import { toJson, type Json, type VectorEntry, type VectorFile } from '../test/folder-vectors';
import { checkEntry, execute } from '../test/trail-vectors';

const F = testId<FolderId>('folder');
const F2 = testId<FolderId>('other folder');
const R = testId<RecordId>('record');
const OWNER = testId<AccountId>('owner');
const PATIENT = testId<AccountId>('patient');
const AGENT = testId<AccountId>('agent');
const PRACTITIONER = testId<AccountId>('practitioner');
const ALICE = testId<AccountId>('alice');
const G = testId<GrantId>('grant');
const G2 = testId<GrantId>('other grant');
const IMPORT = testId<FolderId>('import batch');
const IMPORT2 = testId<FolderId>('other import batch');
const B = testId<RecordId>('blob') as string as BlobId;
const T0 = 1_750_000_000_000;

const h = toHex;
const withByte = (b: Uint8Array, i: number, v: number): Uint8Array =>
  b.map((x, j) => (j === i ? v : x));

type Code = NonNullable<VectorEntry['expected_error']>;
type Damage = { flip: Code; truncate: Code; extend: Code };
const AEAD: Damage = { flip: 'INTEGRITY', truncate: 'INTEGRITY', extend: 'INTEGRITY' };
const SIGNED: Damage = { flip: 'INTEGRITY', truncate: 'TRUNCATED', extend: 'FORMAT' };

/** Builds entries: `ok` runs the op to fill `expected`; `bad` records an expected error. */
class Builder {
  readonly valid: VectorEntry[] = [];
  readonly invalid: VectorEntry[] = [];

  async ok(
    description: string,
    op: string,
    input: { [k: string]: Json },
    object?: Uint8Array,
  ): Promise<void> {
    const e: VectorEntry = { description, op, input, ...(object ? { object: h(object) } : {}) };
    e.expected = await execute(e);
    this.valid.push(e);
  }

  bad(
    description: string,
    op: string,
    input: { [k: string]: Json },
    object: Uint8Array | undefined,
    expected_error: Code,
  ): void {
    this.invalid.push({
      description,
      op,
      input,
      ...(object ? { object: h(object) } : {}),
      expected_error,
    });
  }

  /**
   * The usual damage to one object: flipped bytes, truncation, extension, prefix changes.
   * `mid` is a byte inside a hash or id, where a flip leaves the structure well-formed.
   */
  damage(op: string, input: { [k: string]: Json }, o: Uint8Array, codes: Damage, mid: number) {
    this.bad(`${op}: last byte flipped`, op, input, flip(o, o.length - 1), codes.flip);
    this.bad(`${op}: a middle byte flipped`, op, input, flip(o, mid), codes.flip);
    this.bad(`${op}: truncated by one byte`, op, input, o.subarray(0, -1), codes.truncate);
    this.bad(
      `${op}: one byte appended`,
      op,
      input,
      concatBytes(o, new Uint8Array([0])),
      codes.extend,
    );
    this.bad(`${op}: prefix only`, op, input, o.subarray(0, 2), 'TRUNCATED');
    this.bad(`${op}: format byte 0x00`, op, input, withByte(o, 0, 0x00), 'DOWNGRADE');
    this.bad(`${op}: unknown format byte 0x02`, op, input, withByte(o, 0, 0x02), 'FORMAT');
    this.bad(`${op}: unknown kind byte 0xee`, op, input, withByte(o, 1, 0xee), 'FORMAT');
  }

  async write(name: string, format: string, description: string): Promise<void> {
    const problems = (await Promise.all([...this.valid, ...this.invalid].map(checkEntry))).filter(
      Boolean,
    );
    if (problems.length > 0) throw new Error(`self-check failed:\n${problems.join('\n')}`);
    const doc: VectorFile = {
      format,
      version: 1,
      description,
      valid: this.valid,
      invalid: this.invalid,
    };
    const url = new URL(`../vectors/${name}`, import.meta.url);
    writeFileSync(url, `${JSON.stringify(doc, null, 1)}\n`);
    process.stdout.write(
      `wrote ${url.pathname} (${this.valid.length} valid, ${this.invalid.length} invalid)\n`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Audit

type EventDraft = Partial<Omit<AuditEvent, 'seq' | 'prevHash' | 'chainId'>> &
  Pick<AuditEvent, 'type'>;

function draft(d: EventDraft, chainId: string, seq: number): Omit<AuditEvent, 'prevHash'> {
  return {
    chainId,
    seq,
    at: T0 + seq * 60_000,
    actorId: null,
    folderId: null,
    recordId: null,
    version: null,
    grantId: null,
    blobId: null,
    subjectId: null,
    signed: null,
    ...d,
  };
}

/** Links drafts into a chain: seq from `firstSeq`, each prevHash the previous event's hash. */
function link(
  drafts: Omit<AuditEvent, 'prevHash'>[],
  prev: Uint8Array = AUDIT_GENESIS_HASH,
): { events: AuditEvent[]; hashes: Uint8Array[] } {
  const events: AuditEvent[] = [];
  const hashes: Uint8Array[] = [];
  for (const d of drafts) {
    const e: AuditEvent = { ...d, prevHash: prev };
    prev = auditEventHash(e);
    events.push(e);
    hashes.push(prev);
  }
  return { events, hashes };
}

const ev = (events: AuditEvent[]): Json => events.map((e) => toJson(e));
const anchorOf = (seq: number, hash: Uint8Array): Json => ({ seq, hash: h(hash) });

async function audit(): Promise<void> {
  const b = new Builder();
  const patient = await testIdentity('patient');
  const owner = await testIdentity('owner');
  const agent = await testIdentity('agent');
  const viewed: ClientAuditFields = {
    action: 'viewed',
    actorId: PATIENT,
    folderId: F,
    recordId: R,
    version: 1,
    grantId: null,
    at: T0 + 3 * 60_000 + 5,
  };
  const viewedBytes = await signClientAuditEvent(patient.seed, viewed);
  const exported: ClientAuditFields = {
    action: 'exported',
    actorId: OWNER,
    folderId: F,
    recordId: null,
    version: 0,
    grantId: null,
    at: T0 + 7 * 60_000 + 5,
  };
  const exportedBytes = await signClientAuditEvent(owner.seed, exported);
  const agentViewed: ClientAuditFields = {
    action: 'viewed',
    actorId: AGENT,
    folderId: F,
    recordId: R,
    version: 1,
    grantId: G,
    at: T0 + 6 * 60_000 + 5,
  };
  const agentViewedBytes = await signClientAuditEvent(agent.seed, agentViewed);

  const drafts: EventDraft[] = [
    { type: 'folder.created', actorId: OWNER, folderId: F },
    { type: 'member.added', actorId: OWNER, folderId: F, subjectId: PATIENT },
    { type: 'record.written', actorId: OWNER, folderId: F, recordId: R, version: 1 },
    {
      type: 'viewed',
      actorId: PATIENT,
      folderId: F,
      recordId: R,
      version: 1,
      signed: viewedBytes,
    },
    { type: 'grant.created', actorId: OWNER, folderId: F, grantId: G },
    { type: 'grant.read', actorId: AGENT, folderId: F, recordId: R, grantId: G, blobId: B },
    { type: 'exported', actorId: OWNER, folderId: F, signed: exportedBytes },
  ];
  const all = drafts.map((d, i) => draft(d, F, i + 1));
  const { events, hashes } = link(all);
  const hx = hashes.map(h);
  const chain = (evs: AuditEvent[], extra: { [k: string]: Json } = {}): { [k: string]: Json } => ({
    chainId: F,
    events: ev(evs),
    ...extra,
  });

  await b.ok('hash of a plain event (folder.created)', 'audit-event-hash', {
    event: toJson(events[0]),
  });
  await b.ok('hash of an event carrying a client-signed "viewed"', 'audit-event-hash', {
    event: toJson(events[3]),
  });
  await b.ok('hash of an event with every optional field', 'audit-event-hash', {
    event: toJson(events[5]),
  });
  await b.ok('a folder chain of 7 events from seq 1', 'verify-audit-chain', chain(events));
  await b.ok(
    'the same chain with the relay-stated hashes',
    'verify-audit-chain',
    chain(events, { hashes: hx }),
  );
  await b.ok(
    'fetched from the anchor (seq 3) inclusive',
    'verify-audit-chain',
    chain(events.slice(2), { anchor: anchorOf(3, hashes[2]!) }),
  );
  await b.ok(
    'starting right after the anchor (seq 3)',
    'verify-audit-chain',
    chain(events.slice(3), { anchor: anchorOf(3, hashes[2]!) }),
  );
  await b.ok(
    'nothing new since the anchor (head = anchor)',
    'verify-audit-chain',
    chain(events.slice(6), { anchor: anchorOf(7, hashes[6]!) }),
  );
  await b.ok('an empty chain without anchor', 'verify-audit-chain', chain([]));
  const account = link(
    [
      { type: 'grant.created', actorId: PRACTITIONER, grantId: G2, subjectId: AGENT },
      { type: 'import.staged', actorId: AGENT, grantId: G2, folderId: IMPORT },
      { type: 'folder.deleted', actorId: PRACTITIONER, folderId: F2 },
    ].map((d, i) => draft(d as EventDraft, PRACTITIONER, i + 1)),
  );
  await b.ok('an account chain', 'verify-audit-chain', {
    chainId: PRACTITIONER,
    events: ev(account.events),
  });

  const broken = (d: string, input: { [k: string]: Json }): void =>
    b.bad(d, 'verify-audit-chain', input, undefined, 'AUDIT_BROKEN');
  broken('event 4 deleted', chain([...events.slice(0, 3), ...events.slice(4)]));
  broken(
    'event 4 deleted and later seqs renumbered',
    chain([...events.slice(0, 3), ...events.slice(4).map((e) => ({ ...e, seq: e.seq - 1 }))]),
  );
  broken(
    'event 3 edited (version 1 → 2)',
    chain(events.map((e) => (e.seq === 3 ? { ...e, version: 2 } : e))),
  );
  broken(
    'events 5 and 6 swapped',
    chain([...events.slice(0, 4), events[5]!, events[4]!, events[6]!]),
  );
  broken(
    'events 5 and 6 swapped, seqs kept in order',
    chain([
      ...events.slice(0, 4),
      { ...events[5]!, seq: 5 },
      { ...events[4]!, seq: 6 },
      events[6]!,
    ]),
  );
  broken(
    'last event edited, relay-stated hash kept',
    chain(
      events.map((e) => (e.seq === 7 ? { ...e, at: e.at + 1 } : e)),
      { hashes: hx },
    ),
  );
  broken(
    'last event edited, anchor on it',
    chain(
      events.slice(6).map((e) => ({ ...e, at: e.at + 1 })),
      { anchor: anchorOf(7, hashes[6]!) },
    ),
  );
  broken(
    'a wrong relay-stated hash',
    chain(events, { hashes: hx.map((x, i) => (i === 2 ? h(flip(hashes[2]!, 0)) : x)) }),
  );
  broken(
    'truncated: served head 5, anchor at 7',
    chain(events.slice(0, 5), { anchor: anchorOf(7, hashes[6]!) }),
  );
  broken('empty run with an anchor', chain([], { anchor: anchorOf(3, hashes[2]!) }));
  broken(
    'anchor hash differs (fork)',
    chain(events.slice(2), { anchor: anchorOf(3, flip(hashes[2]!, 31)) }),
  );
  broken(
    'continues the anchor with another prevHash',
    chain(events.slice(3), { anchor: anchorOf(3, hashes[1]!) }),
  );
  broken('gap after the anchor', chain(events.slice(4), { anchor: anchorOf(3, hashes[2]!) }));
  broken('starts at seq 2 without anchor', chain(events.slice(1)));
  const rewritten = link(all.map((d) => (d.seq === 2 ? { ...d, subjectId: ALICE } : d)));
  broken(
    'history rewritten consistently (member 2 replaced), anchor at 7',
    chain(rewritten.events, { anchor: anchorOf(7, hashes[6]!) }),
  );
  broken(
    'rewritten history presented with its own hashes, anchor at 7',
    chain(rewritten.events, { anchor: anchorOf(7, hashes[6]!), hashes: rewritten.hashes.map(h) }),
  );
  const notGenesis = link(all, testKey('not genesis'));
  broken('seq 1 with a non-zero prevHash', chain(notGenesis.events));
  const otherChain = link(all.map((d) => ({ ...d, chainId: F2 })));
  broken('events of another chain', chain(otherChain.events));
  b.bad(
    'unknown event type',
    'audit-event-hash',
    { event: { ...(toJson(events[0]) as { [k: string]: Json }), type: 'record.deleted' } },
    undefined,
    'FORMAT',
  );
  b.bad(
    'signed bytes on a relay event type',
    'audit-event-hash',
    { event: { ...(toJson(events[0]) as { [k: string]: Json }), signed: h(viewedBytes) } },
    undefined,
    'FORMAT',
  );
  b.bad(
    '"viewed" without signed bytes',
    'audit-event-hash',
    { event: { ...(toJson(events[3]) as { [k: string]: Json }), signed: null } },
    undefined,
    'FORMAT',
  );
  b.bad(
    'seq 0',
    'audit-event-hash',
    { event: { ...(toJson(events[0]) as { [k: string]: Json }), seq: 0 } },
    undefined,
    'FORMAT',
  );
  const misattributed = link(all.map((d) => (d.seq === 4 ? { ...d, actorId: OWNER } : d)));
  b.bad(
    'signed "viewed" attributed by the relay to another actor',
    'verify-audit-chain',
    chain(misattributed.events),
    undefined,
    'CONTEXT_MISMATCH',
  );

  // Client-signed events.
  const cv = { actorPublicKey: h(patient.pub) };
  await b.ok('"viewed" signed by a patient', 'verify-client-audit-event', cv, viewedBytes);
  await b.ok(
    '"exported" of a whole folder',
    'verify-client-audit-event',
    { actorPublicKey: h(owner.pub) },
    exportedBytes,
  );
  await b.ok(
    '"viewed" by a support agent under a grant',
    'verify-client-audit-event',
    { actorPublicKey: h(agent.pub), expected: { grantId: G, folderId: F } },
    agentViewedBytes,
  );
  await b.ok('structure of a "viewed" (relay side)', 'inspect-client-audit-event', {}, viewedBytes);
  b.bad(
    'signed by another key',
    'verify-client-audit-event',
    { actorPublicKey: h(owner.pub) },
    viewedBytes,
    'INTEGRITY',
  );
  b.bad(
    'expected in another folder',
    'verify-client-audit-event',
    { ...cv, expected: { folderId: F2 } },
    viewedBytes,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'expected from another actor',
    'verify-client-audit-event',
    { ...cv, expected: { actorId: ALICE } },
    viewedBytes,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'signature stripped',
    'verify-client-audit-event',
    cv,
    viewedBytes.subarray(0, -64),
    'TRUNCATED',
  );
  b.bad(
    'signature zeroed',
    'verify-client-audit-event',
    cv,
    concatBytes(viewedBytes.subarray(0, -64), new Uint8Array(64)),
    'INTEGRITY',
  );
  b.bad(
    'action changed to "exported" (signature kept)',
    'verify-client-audit-event',
    cv,
    withByte(viewedBytes, 2, 0x02),
    'INTEGRITY',
  );
  b.bad(
    'unknown action byte',
    'inspect-client-audit-event',
    {},
    withByte(viewedBytes, 2, 9),
    'FORMAT',
  );
  b.bad(
    'unknown presence bit',
    'inspect-client-audit-event',
    {},
    withByte(viewedBytes, 3, 0x05),
    'FORMAT',
  );
  b.bad(
    'record marked absent but its slot not zero',
    'inspect-client-audit-event',
    {},
    withByte(viewedBytes, 3, 0x00),
    'FORMAT',
  );
  b.bad(
    'presented as an import item',
    'verify-client-audit-event',
    cv,
    withByte(viewedBytes, 1, KIND.IMPORT_ITEM),
    'CONTEXT_MISMATCH',
  );
  // Byte 40 lies inside folderId: flipping it keeps the structure valid.
  b.damage('verify-client-audit-event', cv, viewedBytes, SIGNED, 40);
  await b.write(
    'audit.v1.json',
    'carnet-audit',
    'Audit chains (AUDIT_EVENT hash encoding, chain verification with anchor) and client-signed audit events (AUDIT_VIEWED, Ed25519 by the actor). See docs/protocol.md §60 and shared/test/trail-vectors.ts.',
  );
}

// ---------------------------------------------------------------------------------------------
// Imports

async function imports(): Promise<void> {
  const b = new Builder();
  const agent = await testIdentity('agent');
  const other = await testIdentity('other agent');
  const pract = await testEncryption('practitioner');
  const otherPract = await testEncryption('other practitioner');
  const dek = asKey<DataKey>(testKey('import item 1 data key'));
  const dek2 = asKey<DataKey>(testKey('import item 2 data key'));
  const ctx: ImportItemContext = {
    grantId: G,
    importId: IMPORT,
    item: 1,
    practitionerId: PRACTITIONER,
  };
  const ctx2: ImportItemContext = { ...ctx, item: 2 };
  const header: ImportHeader = {
    type: 'fhir',
    fileName: 'dupont-bundle.json',
    mimeType: 'application/fhir+json',
    size: 100,
    patientName: 'Marie Dupont',
    createdAt: T0,
  };
  const content = new Uint8Array(100).map((_, i) => (i * 7 + 3) & 0xff);
  const sealedHeader = sealImportHeader(dek, header, { importId: IMPORT, item: 1 });
  const sealedHeader2 = sealImportHeader(
    dek2,
    { type: 'file', fileName: 'scan.pdf', size: 0, createdAt: T0 },
    { importId: IMPORT, item: 2 },
  );
  const keyWrap = await wrapImportKey(pract.pub, dek, ctx);
  const keyWrap2 = await wrapImportKey(pract.pub, dek2, ctx2);
  const { ciphertext, digest } = await encryptFileBytes(
    dek,
    importStreamContext(IMPORT, 1),
    content,
    { chunkSize: 32 },
  );
  const item = await signImportItem(agent.seed, {
    ...ctx,
    agentId: AGENT,
    headerHash: sha256(sealedHeader),
    contentDigest: digest,
    keyWrapHash: sha256(keyWrap),
    at: T0 + 1000,
  });

  const expected = {
    ...ctx,
    agentId: AGENT,
    header: h(sealedHeader),
    keyWrap: h(keyWrap),
  };
  const vi = { agentPublicKey: h(agent.pub), expected };
  const viWith = (x: { [k: string]: Json }): { [k: string]: Json } => ({
    ...vi,
    expected: { ...expected, ...x },
  });
  await b.ok('item 1 of an import, with header and key wrap', 'verify-import-item', vi, item);
  await b.ok('structure of an item (relay side)', 'inspect-import-item', {}, item);
  b.bad(
    'signed by another agent key',
    'verify-import-item',
    { ...vi, agentPublicKey: h(other.pub) },
    item,
    'INTEGRITY',
  );
  b.bad(
    'expected under another grant',
    'verify-import-item',
    viWith({ grantId: G2 }),
    item,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'expected in another import',
    'verify-import-item',
    viWith({ importId: IMPORT2 }),
    item,
    'CONTEXT_MISMATCH',
  );
  b.bad('expected as item 2', 'verify-import-item', viWith({ item: 2 }), item, 'CONTEXT_MISMATCH');
  b.bad(
    'expected for another practitioner',
    'verify-import-item',
    viWith({ practitionerId: ALICE }),
    item,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'expected from another agent',
    'verify-import-item',
    viWith({ agentId: ALICE }),
    item,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'header of item 2 served with item 1',
    'verify-import-item',
    viWith({ header: h(sealedHeader2) }),
    item,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'key wrap of item 2 served with item 1',
    'verify-import-item',
    viWith({ keyWrap: h(keyWrap2) }),
    item,
    'CONTEXT_MISMATCH',
  );
  b.bad('signature stripped', 'verify-import-item', vi, item.subarray(0, -64), 'TRUNCATED');
  const item0 = item.slice();
  item0.set(u32(0), 34);
  b.bad('item number 0', 'inspect-import-item', {}, item0, 'FORMAT');
  const renumbered = item.slice();
  renumbered.set(u32(2), 34);
  b.bad(
    'item renumbered by the relay',
    'verify-import-item',
    viWith({ item: 2 }),
    renumbered,
    'INTEGRITY',
  );
  b.bad(
    'presented as a deletion receipt',
    'verify-import-item',
    vi,
    withByte(item, 1, KIND.DELETION_RECEIPT),
    'CONTEXT_MISMATCH',
  );
  // Byte 119 lies inside contentDigest.
  b.damage('verify-import-item', vi, item, SIGNED, 119);

  const ui = { practitionerPrivateKey: h(pract.priv), context: toJson(ctx) };
  const uiWith = (x: Partial<ImportItemContext>): { [k: string]: Json } => ({
    ...ui,
    context: toJson({ ...ctx, ...x }),
  });
  await b.ok('data key of item 1 wrapped to the practitioner', 'unwrap-import-key', ui, keyWrap);
  b.bad('opened as item 2', 'unwrap-import-key', uiWith({ item: 2 }), keyWrap, 'INTEGRITY');
  b.bad(
    'opened under another grant',
    'unwrap-import-key',
    uiWith({ grantId: G2 }),
    keyWrap,
    'INTEGRITY',
  );
  b.bad(
    'opened in another import',
    'unwrap-import-key',
    uiWith({ importId: IMPORT2 }),
    keyWrap,
    'INTEGRITY',
  );
  b.bad(
    'opened for another practitioner id',
    'unwrap-import-key',
    uiWith({ practitionerId: ALICE }),
    keyWrap,
    'INTEGRITY',
  );
  b.bad('key wraps of items 1 and 2 swapped', 'unwrap-import-key', ui, keyWrap2, 'INTEGRITY');
  b.bad(
    'another practitioner key',
    'unwrap-import-key',
    { ...ui, practitionerPrivateKey: h(otherPract.priv) },
    keyWrap,
    'INTEGRITY',
  );
  b.bad(
    'presented as a grant key wrap',
    'unwrap-import-key',
    ui,
    withByte(keyWrap, 1, KIND.GRANT_KEY_WRAP),
    'CONTEXT_MISMATCH',
  );
  b.damage('unwrap-import-key', ui, keyWrap, AEAD, 40);

  const oh = { dataKey: h(dek), importId: IMPORT, item: 1 };
  await b.ok('header of item 1', 'open-import-header', oh, sealedHeader);
  b.bad('opened as item 2', 'open-import-header', { ...oh, item: 2 }, sealedHeader, 'INTEGRITY');
  b.bad(
    'opened in another import',
    'open-import-header',
    { ...oh, importId: IMPORT2 },
    sealedHeader,
    'INTEGRITY',
  );
  b.bad(
    'under the data key of item 2',
    'open-import-header',
    { ...oh, dataKey: h(dek2) },
    sealedHeader,
    'INTEGRITY',
  );
  b.bad(
    'presented as a record header',
    'open-import-header',
    oh,
    withByte(sealedHeader, 1, KIND.RECORD_HEADER),
    'CONTEXT_MISMATCH',
  );
  b.damage('open-import-header', oh, sealedHeader, AEAD, 40);

  const dc = { dataKey: h(dek), importId: IMPORT, item: 1 };
  await b.ok(
    'content of item 1 (100 bytes, 32-byte chunks)',
    'decrypt-import-content',
    dc,
    ciphertext,
  );
  b.bad(
    'content opened as item 2',
    'decrypt-import-content',
    { ...dc, item: 2 },
    ciphertext,
    'INTEGRITY',
  );
  b.bad(
    'content opened in another import',
    'decrypt-import-content',
    { ...dc, importId: IMPORT2 },
    ciphertext,
    'INTEGRITY',
  );
  b.bad(
    'content under another data key',
    'decrypt-import-content',
    { ...dc, dataKey: h(dek2) },
    ciphertext,
    'INTEGRITY',
  );
  b.bad(
    'content with a flipped byte',
    'decrypt-import-content',
    dc,
    flip(ciphertext, 100),
    'INTEGRITY',
  );
  b.bad('content cut short', 'decrypt-import-content', dc, ciphertext.subarray(0, -1), 'INTEGRITY');
  await b.write(
    'import.v1.json',
    'carnet-import',
    'Staged imports: signed items (IMPORT_ITEM, Ed25519 by the agent), data keys wrapped to the practitioner (IMPORT_KEY_WRAP), sealed headers (IMPORT_HEADER) and content streams (FILE_STREAM in importStreamContext). See docs/protocol.md §70 and shared/test/trail-vectors.ts.',
  );
}

// ---------------------------------------------------------------------------------------------
// Receipts

async function receipts(): Promise<void> {
  const b = new Builder();
  const relay = await testIdentity('relay');
  const other = await testIdentity('other relay');
  const folderReceipt: DeletionReceiptFields = {
    subject: 'folder',
    subjectId: F,
    requestedBy: OWNER,
    at: T0 + 5000,
    counts: {
      folders: 1,
      records: 12,
      versions: 17,
      blobs: 3,
      bytes: 5_242_880,
      members: 2,
      grants: 1,
      auditEvents: 41,
    },
  };
  const accountReceipt: DeletionReceiptFields = {
    subject: 'account',
    subjectId: OWNER,
    requestedBy: OWNER,
    at: T0 + 9000,
    counts: {
      folders: 3,
      records: 40,
      versions: 52,
      blobs: 9,
      bytes: 2 ** 40 + 7,
      members: 5,
      grants: 2,
      auditEvents: 300,
    },
  };
  const r1 = await signDeletionReceipt(relay.seed, folderReceipt);
  const r2 = await signDeletionReceipt(relay.seed, accountReceipt);
  const vr = { relayPublicKey: h(relay.pub) };
  await b.ok(
    'folder deleted',
    'verify-deletion-receipt',
    { ...vr, expected: { subject: 'folder', subjectId: F, requestedBy: OWNER } },
    r1,
  );
  await b.ok('account deleted, over 1 TiB', 'verify-deletion-receipt', vr, r2);
  await b.ok('structure of a receipt', 'inspect-deletion-receipt', {}, r1);
  await b.ok('fingerprint of the relay key', 'relay-key-fingerprint', vr);
  b.bad(
    'signed by another relay key',
    'verify-deletion-receipt',
    { relayPublicKey: h(other.pub) },
    r1,
    'INTEGRITY',
  );
  b.bad(
    'expected about another folder',
    'verify-deletion-receipt',
    { ...vr, expected: { subjectId: F2 } },
    r1,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'expected as an account deletion',
    'verify-deletion-receipt',
    { ...vr, expected: { subject: 'account' } },
    r1,
    'CONTEXT_MISMATCH',
  );
  b.bad(
    'expected for another requester',
    'verify-deletion-receipt',
    { ...vr, expected: { requestedBy: ALICE } },
    r1,
    'CONTEXT_MISMATCH',
  );
  const fewer = r1.slice();
  fewer.set(u64(1), 2 + 1 + 32 + 8 + 8);
  b.bad(
    'record count lowered by the relay (signature kept)',
    'verify-deletion-receipt',
    vr,
    fewer,
    'INTEGRITY',
  );
  b.bad('unknown subject byte', 'inspect-deletion-receipt', {}, withByte(r1, 2, 0x03), 'FORMAT');
  const huge = r1.slice();
  huge.set(new Uint8Array(8).fill(0xff), 2 + 1 + 32 + 8);
  b.bad('a count beyond 2^53', 'inspect-deletion-receipt', {}, huge, 'FORMAT');
  b.bad('signature stripped', 'verify-deletion-receipt', vr, r1.subarray(0, -64), 'TRUNCATED');
  b.bad(
    'presented as a client audit event',
    'verify-deletion-receipt',
    vr,
    withByte(r1, 1, KIND.AUDIT_VIEWED),
    'CONTEXT_MISMATCH',
  );
  // Byte 10 lies inside subjectId.
  b.damage('verify-deletion-receipt', vr, r1, SIGNED, 10);
  await b.write(
    'receipt.v1.json',
    'carnet-receipt',
    "Deletion receipts (DELETION_RECEIPT, Ed25519 by the relay's own key) and relay key fingerprints. See docs/protocol.md §60 and shared/test/trail-vectors.ts.",
  );
}

await audit();
await imports();
await receipts();

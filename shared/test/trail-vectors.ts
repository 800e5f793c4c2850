/**
 * Interpreter of the audit, import and receipt vector files
 * (vectors/{audit,import,receipt}.v1.json), in the manner of folder-vectors.ts: the generator
 * (scripts/gen-vectors-trail.ts) runs every entry through it before writing, and the tests run
 * every entry through it again, so both agree on what an entry means.
 *
 * An entry is `{ description, op, input, object?, expected | expected_error }`; bytes are
 * lower-case hex, ids text. Audit events appear as JSON objects with `signed` and `prevHash`
 * in hex.
 */
import { describe, expect, it } from 'vitest';
import {
  auditEventHash,
  inspectClientAuditEvent,
  verifyAuditChain,
  verifyClientAuditEvent,
  type AuditEvent,
  type ClientAuditFields,
} from '../src/audit';
import { fromHex } from '../src/bytes';
import type { AccountId, FolderId, GrantId } from '../src/ids';
import {
  importStreamContext,
  inspectImportItem,
  openImportHeader,
  unwrapImportKey,
  verifyImportItem,
  type ImportItemContext,
  type ImportItemExpectation,
} from '../src/import-item';
import { asKey } from '../src/keys';
import type { DataKey, EncryptionPrivateKey, IdentityPublicKey } from '../src/keys';
import {
  inspectDeletionReceipt,
  verifyDeletionReceipt,
  type DeletionReceiptExpectation,
} from '../src/receipt';
import { relayKeyFingerprint } from '../src/relay-key';
import { decryptFileBytes } from '../src/stream/decrypt';
import { codeOf } from './folder-helpers';
import { toJson, type Json, type VectorEntry, type VectorFile } from './folder-vectors';
import { vectorFile } from './vector-files';

const hex = (v: Json | undefined): Uint8Array => fromHex(v as string);
const str = <T extends string>(v: Json | undefined): T => v as T;
const num = (v: Json | undefined): number => v as number;

/** An audit event from its JSON form (`signed` and `prevHash` in hex). */
export function eventFromJson(v: Json): AuditEvent {
  const o = v as { [k: string]: Json };
  return {
    ...(o as unknown as AuditEvent),
    signed: o.signed === null ? null : hex(o.signed),
    prevHash: hex(o.prevHash),
  };
}

function importContext(v: Json | undefined): ImportItemContext {
  const o = v as { [k: string]: Json };
  return {
    grantId: str<GrantId>(o.grantId),
    importId: str<FolderId>(o.importId),
    item: num(o.item),
    practitionerId: str<AccountId>(o.practitionerId),
  };
}

/** Performs an entry's operation and returns its JSON result; throws what the code throws. */
export async function execute(e: VectorEntry): Promise<Json> {
  const i = e.input;
  const obj = (): Uint8Array => fromHex(e.object ?? '');
  switch (e.op) {
    case 'audit-event-hash':
      return toJson({ hash: auditEventHash(eventFromJson(i.event!)) });
    case 'verify-audit-chain': {
      const anchor = i.anchor as { seq: number; hash: string } | undefined;
      const hashes = i.hashes as string[] | undefined;
      const head = verifyAuditChain((i.events as Json[]).map(eventFromJson), {
        chainId: str(i.chainId),
        ...(anchor ? { anchor: { seq: anchor.seq, hash: fromHex(anchor.hash) } } : {}),
        ...(hashes ? { hashes: hashes.map(fromHex) } : {}),
      });
      return toJson({ head });
    }
    case 'inspect-client-audit-event':
      return toJson({ fields: inspectClientAuditEvent(obj()) });
    case 'verify-client-audit-event':
      return toJson({
        fields: await verifyClientAuditEvent(
          asKey<IdentityPublicKey>(hex(i.actorPublicKey)),
          obj(),
          (i.expected ?? {}) as unknown as Partial<ClientAuditFields>,
        ),
      });
    case 'inspect-import-item':
      return toJson({ fields: inspectImportItem(obj()) });
    case 'verify-import-item': {
      const x = i.expected as { [k: string]: Json };
      const expected: ImportItemExpectation = {
        ...importContext(x),
        ...(x.agentId ? { agentId: str<AccountId>(x.agentId) } : {}),
        ...(x.header ? { header: hex(x.header) } : {}),
        ...(x.keyWrap ? { keyWrap: hex(x.keyWrap) } : {}),
      };
      return toJson({
        fields: await verifyImportItem(
          asKey<IdentityPublicKey>(hex(i.agentPublicKey)),
          obj(),
          expected,
        ),
      });
    }
    case 'unwrap-import-key':
      return toJson({
        dataKey: await unwrapImportKey(
          asKey<EncryptionPrivateKey>(hex(i.practitionerPrivateKey)),
          obj(),
          importContext(i.context),
        ),
      });
    case 'open-import-header':
      return toJson({
        header: openImportHeader(asKey<DataKey>(hex(i.dataKey)), obj(), {
          importId: str(i.importId),
          item: num(i.item),
        }),
      });
    case 'decrypt-import-content': {
      const ctx = importStreamContext(str(i.importId), num(i.item));
      const { content, digest } = await decryptFileBytes(
        asKey<DataKey>(hex(i.dataKey)),
        ctx,
        obj(),
      );
      return toJson({ streamContext: ctx, content, digest });
    }
    case 'inspect-deletion-receipt':
      return toJson({ fields: inspectDeletionReceipt(obj()) });
    case 'verify-deletion-receipt':
      return toJson({
        fields: await verifyDeletionReceipt(
          asKey<IdentityPublicKey>(hex(i.relayPublicKey)),
          obj(),
          (i.expected ?? {}) as unknown as DeletionReceiptExpectation,
        ),
      });
    case 'relay-key-fingerprint':
      return {
        fingerprint: relayKeyFingerprint(asKey<IdentityPublicKey>(hex(i.relayPublicKey))),
      };
    default:
      throw new Error(`unknown vector op "${e.op}"`);
  }
}

/** JSON text with sorted keys, so that key order never matters in comparisons. */
function canonical(v: Json): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k] as Json)}`)
    .join(',')}}`;
}

/**
 * Checks one entry: a valid entry must give `expected` exactly, an invalid one must fail with
 * `expected_error`. Returns a description of the disagreement, or undefined.
 */
export async function checkEntry(e: VectorEntry): Promise<string | undefined> {
  if (e.expected_error !== undefined) {
    const code = await codeOf(() => execute(e));
    return code === e.expected_error
      ? undefined
      : `${e.description}: got ${code}, expected ${e.expected_error}`;
  }
  const got = canonical(await execute(e));
  const want = canonical(e.expected ?? null);
  return got === want ? undefined : `${e.description}: got ${got}, expected ${want}`;
}

/** The standard suite of one of these vector files, as vector-suite.ts for the folder files. */
export function describeTrailVectorFile(name: string): void {
  describe(`vectors/${name}`, () => {
    const doc = vectorFile<VectorFile>(name);

    it('holds objects to accept and objects to refuse', () => {
      expect(doc.version).toBe(1);
      expect(doc.valid.length).toBeGreaterThan(0);
      expect(doc.invalid.length).toBeGreaterThan(0);
      expect(doc.invalid.every((e) => typeof e.expected_error === 'string')).toBe(true);
    });

    it.each(doc.valid.map((e) => [e.description, e] as const))('accepts: %s', async (_, e) => {
      expect(await checkEntry(e)).toBeUndefined();
    });

    it.each(doc.invalid.map((e) => [e.description, e] as const))('refuses: %s', async (_, e) => {
      expect(await checkEntry(e)).toBeUndefined();
    });
  });
}

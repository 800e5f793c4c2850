/**
 * Verifying and opening staged imports as the practitioner (docs/fhir.md, "Imports"): the
 * grant under my own key, every item under the agent's pinned key, then keys, headers and
 * content, decrypted and checked against what the agent signed.
 */
import { equalBytes } from '../bytes';
import { CarnetError } from '../errors';
import { fhirToDrafts } from '../fhir/import';
import type { PatientProfile } from '../folder';
import { inspectGrant, verifyGrant, type GrantFields } from '../grant';
import type { AccountId, FolderId, GrantId } from '../ids';
import {
  importStreamContext,
  openImportHeader,
  unwrapImportKey,
  verifyImportItem,
  type ImportHeader,
  type ImportItemContext,
} from '../import-item';
import type { DataKey } from '../keys';
import { createFileDecryptor } from '../stream';
import type { ClientParts } from './client';
import type { ImportApi, WireImport, WireImportItem } from './import-wire';

/** One opened item of a staged import. */
export interface ReviewedItem {
  item: number;
  type: 'fhir' | 'file';
  fileName: string;
  mimeType?: string;
  size: number;
  patientName?: string;
  /** When the agent signed it (its clock). */
  stagedAt: number;
  /** FHIR items: the patients found and their record counts per kind. */
  patients?: { profile: PatientProfile; counts: Record<string, number> }[];
}

/** A staged import as the practitioner reviews it. */
export interface ReviewedImport {
  importId: FolderId;
  grantId: GrantId;
  agent: { accountId: AccountId; userName: string; safetyCode: string };
  createdAt: number;
  /** "imported by <agent> under grant <id>": shown until adoption. */
  marking: string;
  /** The verified grant's reason and window. */
  grant: { reason: string; notBefore: number; expiresAt: number };
  items: ReviewedItem[];
  /** Patients' names across items, and record counts per kind (files as `document`). */
  summary: { patients: string[]; counts: Record<string, number>; files: number };
  /** Set when a check failed: the import cannot be adopted (reject it). */
  error?: { code: string; message: string };
}

/** Tolerance on the agent's clock when checking an item's signed time against the grant. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** An item verified and opened: its key and header. */
export interface OpenedItem {
  wire: WireImportItem;
  header: ImportHeader;
  dek: DataKey;
  contentDigest: Uint8Array;
  stagedAt: number;
}

/** An import verified, its items opened. */
export interface OpenedImport {
  wire: WireImport;
  fields: GrantFields;
  agent: ReviewedImport['agent'];
  items: OpenedItem[];
}

/**
 * Verifies an import and opens its items' keys and headers. The grant must be mine, for this
 * agent (whose pinned safety code it names), with the `import` right; each item signed by
 * that agent for this grant, import, item number and me, its served header and key wrap the
 * signed ones, its signed time within the grant's window.
 */
export async function openImport(parts: ClientParts, wire: WireImport): Promise<OpenedImport> {
  const { core, contacts } = parts;
  const s = core.session;
  const agent = await contacts.get(wire.agentId);
  if (agent.bundle.role !== 'support') throw new CarnetError('KEY_UNVERIFIED');
  const claimed = inspectGrant(wire.grant);
  // The time check is the window itself: adoption may come after the grant ended.
  const fields = await verifyGrant(s.bundle.identityPublicKey, wire.grant, {
    agentId: wire.agentId,
    agentFingerprint: agent.safetyCode,
    now: claimed.notBefore,
    right: 'import',
    practitionerId: s.accountId,
  });
  if (fields.grantId !== wire.grantId) throw new CarnetError('CONTEXT_MISMATCH');
  const items: OpenedItem[] = [];
  try {
    for (const w of wire.items) {
      const ctx: ImportItemContext = {
        grantId: wire.grantId,
        importId: wire.importId,
        item: w.item,
        practitionerId: s.accountId,
      };
      const f = await verifyImportItem(agent.bundle.identityPublicKey, w.signed, {
        ...ctx,
        agentId: wire.agentId,
        header: w.header,
        keyWrap: w.keyWrap,
      });
      if (f.at < fields.notBefore - CLOCK_SKEW_MS || f.at >= fields.expiresAt + CLOCK_SKEW_MS)
        throw new CarnetError('GRANT_EXPIRED', 'An item was signed outside the grant’s window.');
      // Every item has content (an empty file is still one encrypted chunk).
      if (w.blobId === null) throw new CarnetError('INTEGRITY');
      const dek = await unwrapImportKey(s.secrets.encryptionPrivateKey, w.keyWrap, ctx);
      try {
        const header = openImportHeader(dek, w.header, { importId: wire.importId, item: w.item });
        items.push({ wire: w, dek, header, contentDigest: f.contentDigest, stagedAt: f.at });
      } catch (e) {
        dek.fill(0);
        throw e;
      }
    }
  } catch (e) {
    for (const it of items) it.dek.fill(0);
    throw e;
  }
  return {
    wire,
    fields,
    agent: {
      accountId: wire.agentId,
      userName: agent.entry.userName,
      safetyCode: agent.safetyCode,
    },
    items,
  };
}

/** An item's decrypted content, in memory (FHIR items), checked against the signed digest. */
export async function itemContent(
  api: ImportApi,
  importId: FolderId,
  it: OpenedItem,
): Promise<Uint8Array> {
  const body = await decryptedItem(api, importId, it);
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/**
 * Decrypts an item's content as it downloads. The stream errors (`INTEGRITY`) before it ends
 * if the content's digest or size is not the signed one: nothing unverified is kept.
 */
export async function decryptedItem(
  api: ImportApi,
  importId: FolderId,
  it: OpenedItem,
): Promise<ReadableStream<Uint8Array>> {
  const ciphertext = await api.blob(importId, it.wire.item);
  const dec = createFileDecryptor(it.dek, importStreamContext(importId, it.wire.item));
  dec.digest.catch(() => undefined);
  let seen = 0;
  const check = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      seen += chunk.length;
      c.enqueue(chunk);
    },
    async flush() {
      const digest = await dec.digest;
      if (!equalBytes(digest, it.contentDigest) || seen !== it.header.size)
        throw new CarnetError('INTEGRITY');
    },
  });
  return ciphertext.pipeThrough(dec.stream).pipeThrough(check);
}

/** The review of an opened import: its items, and FHIR items mapped to count their records. */
export async function summarise(api: ImportApi, o: OpenedImport): Promise<ReviewedImport> {
  const items: ReviewedItem[] = [];
  const counts: Record<string, number> = {};
  const patients: string[] = [];
  let files = 0;
  for (const it of o.items) {
    const h = it.header;
    const r: ReviewedItem = {
      item: it.wire.item,
      type: h.type,
      fileName: h.fileName,
      size: h.size,
      stagedAt: it.stagedAt,
    };
    if (h.mimeType !== undefined) r.mimeType = h.mimeType;
    if (h.patientName !== undefined) r.patientName = h.patientName;
    if (h.type === 'fhir') {
      const drafts = fhirToDrafts(await itemContent(api, o.wire.importId, it));
      r.patients = drafts.map((d) => {
        const c: Record<string, number> = {};
        for (const rec of d.records) c[rec.kind] = (c[rec.kind] ?? 0) + 1;
        for (const [k, n] of Object.entries(c)) counts[k] = (counts[k] ?? 0) + n;
        patients.push(d.profile.name);
        return { profile: d.profile, counts: c };
      });
    } else {
      files++;
      counts.document = (counts.document ?? 0) + 1;
      if (h.patientName !== undefined && !patients.includes(h.patientName))
        patients.push(h.patientName);
    }
    items.push(r);
  }
  return {
    importId: o.wire.importId,
    grantId: o.wire.grantId,
    agent: o.agent,
    createdAt: o.wire.createdAt,
    marking: `imported by ${o.agent.userName} under grant ${o.wire.grantId}`,
    grant: {
      reason: o.fields.reason,
      notBefore: o.fields.notBefore,
      expiresAt: o.fields.expiresAt,
    },
    items,
    summary: { patients, counts, files },
  };
}

/** An import that failed a check: listed with its error, nothing of it opened. */
export function refused(wire: WireImport, e: CarnetError): ReviewedImport {
  return {
    importId: wire.importId,
    grantId: wire.grantId,
    agent: { accountId: wire.agentId, userName: '', safetyCode: '' },
    createdAt: wire.createdAt,
    marking: `imported by ${wire.agentId} under grant ${wire.grantId}`,
    grant: { reason: '', notBefore: 0, expiresAt: 0 },
    items: [],
    summary: { patients: [], counts: {}, files: 0 },
    error: { code: e.code, message: e.message },
  };
}

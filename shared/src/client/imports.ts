/**
 * Write-only imports under a grant (issue 4 §2, docs/fhir.md "Imports"). The support agent
 * encrypts each item to the practitioner under a fresh data key that it wipes right after, and
 * keeps nothing: the relay serves nothing of an import back to it. The practitioner verifies
 * the grant and every item (signed by the agent's pinned key), opens and reviews them, then
 * adopts them as ordinary folders signed by itself under new keys.
 */
import { equalBytes, fromUtf8, utf8 } from '../bytes';
import { CarnetError, invalidArgument } from '../errors';
import { fhirToDrafts } from '../fhir/import';
import type { PatientDraft } from '../fhir/types';
import { verifyGrant, type GrantFields } from '../grant';
import { newId, parseId, type BlobId, type FolderId, type GrantId, type RecordId } from '../ids';
import {
  importStreamContext,
  sealImportHeader,
  signImportItem,
  wrapImportKey,
  type ImportHeader,
  type ImportItemContext,
} from '../import-item';
import type { DataKey } from '../keys';
import { newDataKey } from '../record';
import { randomBytes } from '../primitives/random';
import { sha256 } from '../primitives/sha2';
import { createFileEncryptor, paddedFileSize } from '../stream';
import { createSha256 } from '../stream/digest';
import type { ClientParts } from './client';
import { GrantApi } from './grant-wire';
import { ApiError } from './http';
import {
  addCounts,
  bytesStream,
  derivedId,
  draftInput,
  ensureFolder,
  writePlanned,
  type PlannedRecord,
  type WrittenCounts,
} from './import-drafts';
import {
  decryptedItem,
  itemContent,
  openImport,
  refused,
  summarise,
  type OpenedImport,
  type OpenedItem,
  type ReviewedImport,
} from './import-review';
import { ImportApi, type WireImport } from './import-wire';
import { IN_MEMORY_UPLOAD_LIMIT } from './record-write';
import type { FolderDetails, RecordInput } from './types';

export type { ReviewedImport, ReviewedItem } from './import-review';

/** What an agent stages: FHIR (JSON text, bytes or parsed) or any file. */
export type ImportSource =
  | { fhir: unknown; fileName?: string }
  | {
      file: {
        body: ReadableStream<Uint8Array> | Uint8Array;
        /** Exact byte length of `body`. */
        size: number;
        fileName: string;
        mimeType?: string;
      };
    };

/** Options of {@link ImportClient.stage}. */
export interface StageOptions {
  /** Add to this import (the practitioner adopts one import as one patient's folder). */
  importId?: string;
  /** Whom the item is about (default: the Patient's name for FHIR). */
  patientName?: string;
}

/** The result of {@link ImportClient.adopt}: the (first) folder, and every folder created. */
export interface AdoptedImport extends FolderDetails {
  /** Every folder of the import (one per patient; the first is this one, id = import id). */
  folders: FolderDetails[];
  counts: WrittenCounts;
}

/** The result of {@link ImportClient.importFhir}. */
export interface FhirImportResult {
  folders: FolderDetails[];
  counts: WrittenCounts;
}

/** Write-only imports under a grant (agent), their review and adoption (practitioner). */
export class ImportClient {
  readonly #imports: ImportApi;
  readonly #grants: GrantApi;

  constructor(protected readonly parts: ClientParts) {
    this.#imports = new ImportApi(parts.core.api.http);
    this.#grants = new GrantApi(parts.core.api.http);
  }

  // --- agent ------------------------------------------------------------------------------------

  /**
   * Stages one item under an import grant, as its agent: verifies the grant (practitioner's
   * pinned key, this agent, `import` right, time window), encrypts the content to the
   * practitioner under a fresh data key, uploads it and signs the item. The data key is wiped
   * right after; nothing is kept locally and the relay serves nothing of it back.
   */
  async stage(
    grantId: string,
    source: ImportSource,
    o: StageOptions = {},
  ): Promise<{ importId: FolderId; item: number }> {
    const { core, contacts } = this.parts;
    core.assertLoggedIn();
    const gid = parseId<GrantId>(grantId, 'grantId');
    const content = sourceContent(source, o.patientName, core.now());
    const entry = await this.#grants.get(gid);
    const practitioner = await contacts.get(entry.practitionerId);
    if (practitioner.bundle.role !== 'practitioner') throw new CarnetError('KEY_UNVERIFIED');
    const check = async (): Promise<GrantFields> => {
      const s = core.session;
      const f = await verifyGrant(practitioner.bundle.identityPublicKey, entry.grant, {
        agentId: s.accountId,
        agentFingerprint: s.safetyCode,
        now: core.now(),
        right: 'import',
        practitionerId: entry.practitionerId,
      });
      if (f.grantId !== gid) throw new CarnetError('CONTEXT_MISMATCH');
      return f;
    };
    await check();
    const importId =
      o.importId === undefined ? newId<FolderId>() : parseId<FolderId>(o.importId, 'importId');
    // A new import starts at item 1; an item added to an existing one takes a random number:
    // the agent cannot list the import to find the next free one.
    const item = o.importId === undefined ? 1 : randomItemNumber();
    const ctx: ImportItemContext = {
      grantId: gid,
      importId,
      item,
      practitionerId: entry.practitionerId,
    };
    await this.#imports.open(gid, importId);
    const dek = newDataKey();
    let blobId: BlobId | undefined;
    try {
      const keyWrap = await wrapImportKey(practitioner.bundle.encryptionPublicKey, dek, ctx);
      const header = sealImportHeader(dek, content.header, { importId, item });
      const up = await this.upload(dek, importId, item, content.size, content.body());
      blobId = up.blobId;
      const signed = await signImportItem(core.session.secrets.identityPrivateKey, {
        ...ctx,
        agentId: core.session.accountId,
        headerHash: sha256(header),
        contentDigest: up.digest,
        keyWrapHash: sha256(keyWrap),
        at: core.now(),
      });
      // Again right before the item is sent: the grant may have ended during the upload.
      await check();
      await this.#imports.addItem(gid, importId, { item, signed, keyWrap, header, blobId });
      blobId = undefined;
    } finally {
      dek.fill(0);
      // An upload left unattached by a failure is removed now rather than by the relay's sweep.
      if (blobId !== undefined) await core.api.deleteBlob(blobId).catch(() => undefined);
    }
    return { importId, item };
  }

  /** Encrypts the content as a file stream under the item's key and uploads it. */
  private async upload(
    dek: DataKey,
    importId: FolderId,
    item: number,
    size: number,
    body: ReadableStream<Uint8Array>,
  ): Promise<{ blobId: BlobId; digest: Uint8Array }> {
    const api = this.parts.core.api;
    const enc = createFileEncryptor(dek, importStreamContext(importId, item), size);
    let sourceError: unknown;
    enc.digest.catch((e: unknown) => (sourceError = e));
    const hasher = await createSha256();
    const ciphertext = body.pipeThrough(enc.stream).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          hasher.update(chunk);
          c.enqueue(chunk);
        },
      }),
    );
    const expected = paddedFileSize(size);
    let sent: { blobId: BlobId; size: number; sha256: Uint8Array };
    let local: Uint8Array;
    try {
      if (expected <= IN_MEMORY_UPLOAD_LIMIT) {
        const bytes = new Uint8Array(await new Response(ciphertext).arrayBuffer());
        local = hasher.digest();
        sent = await api.uploadBlob(bytes, local);
      } else {
        sent = await api.uploadBlob(ciphertext);
        local = hasher.digest();
      }
    } catch (e) {
      throw sourceError ?? e;
    }
    if (sent.size !== expected || !equalBytes(sent.sha256, local)) {
      await api.deleteBlob(sent.blobId).catch(() => undefined);
      throw new CarnetError('INTEGRITY', 'The relay stored something other than what was sent.');
    }
    return { blobId: sent.blobId, digest: await enc.digest };
  }

  // --- practitioner -----------------------------------------------------------------------------

  /**
   * The imports staged for me, each verified (the grant signed by me for that agent, every
   * item signed by the agent's pinned key for this grant, import and item), opened and
   * summarised. An import that fails a check is listed with `error` and nothing opened.
   */
  async review(): Promise<ReviewedImport[]> {
    const out: ReviewedImport[] = [];
    for (const wire of await this.#imports.list()) {
      let opened: OpenedImport | undefined;
      try {
        opened = await openImport(this.parts, wire);
        out.push(await summarise(this.#imports, opened));
      } catch (e) {
        if (!(e instanceof CarnetError)) throw e;
        out.push(refused(wire, e));
      } finally {
        for (const it of opened?.items ?? []) it.dek.fill(0);
      }
    }
    return out;
  }

  /**
   * Adopts a staged import: one ordinary folder per patient, owned and signed by me under new
   * keys (the agent knew the staging keys, never these), records authored by me, files as
   * documents; then the staged import is deleted. The first folder's id is the import's, and
   * record ids derive from the import, so an interrupted adoption resumes where it stopped.
   */
  async adopt(importId: string): Promise<AdoptedImport> {
    const id = parseId<FolderId>(importId, 'importId');
    const opened = await openImport(this.parts, await this.find(id));
    try {
      if (opened.items.length === 0)
        throw invalidArgument('importId', 'an import with at least one item (reject this one)');
      const fhir: PatientDraft[] = [];
      for (const it of opened.items) {
        if (it.header.type === 'fhir')
          fhir.push(...fhirToDrafts(await itemContent(this.#imports, id, it)));
      }
      const files = opened.items.filter((it) => it.header.type === 'file');
      const patients: PatientDraft[] =
        fhir.length > 0
          ? fhir
          : [
              {
                profile: { name: files[0]?.header.patientName ?? 'Imported patient' },
                records: [],
              },
            ];
      const fileTarget = (it: OpenedItem): number => {
        const want = it.header.patientName?.trim().toLowerCase();
        const at = patients.findIndex((p) => p.profile.name.trim().toLowerCase() === want);
        return at < 0 ? 0 : at;
      };
      const folders: FolderDetails[] = [];
      const counts: WrittenCounts = { records: 0, files: 0, existing: 0, skipped: 0 };
      for (const [i, p] of patients.entries()) {
        const folderId = i === 0 ? id : derivedId<FolderId>('folder', id, i);
        await ensureFolder(this.parts, folderId, p.profile);
        const planned: PlannedRecord[] = p.records.map((d, j) => ({
          recordId: derivedId<RecordId>('record', folderId, j),
          input: () => Promise.resolve(draftInput(d)),
        }));
        for (const it of files.filter((f) => fileTarget(f) === i)) {
          planned.push({
            recordId: derivedId<RecordId>('file', folderId, it.wire.item),
            input: () => Promise.resolve(this.fileInput(id, it)),
          });
        }
        addCounts(counts, await writePlanned(this.parts, folderId, planned));
        folders.push(await this.parts.folders.get(folderId));
      }
      await this.#imports.remove(id, folders[0]!.folderId);
      return { ...folders[0]!, folders, counts };
    } finally {
      for (const it of opened.items) it.dek.fill(0);
    }
  }

  /** Rejects a staged import: the relay deletes it (items and files). */
  async reject(importId: string): Promise<void> {
    this.parts.core.assertLoggedIn();
    await this.#imports.remove(parseId<FolderId>(importId, 'importId'));
  }

  // --- own account ------------------------------------------------------------------------------

  /**
   * Imports FHIR R4 into my own vault (a Bundle, a resource, an array, JSON or NDJSON text):
   * one folder per Patient, one record per resource (docs/fhir.md for the mapping).
   */
  async importFhir(input: unknown): Promise<FhirImportResult> {
    this.parts.core.assertLoggedIn();
    const drafts = fhirToDrafts(input);
    const folders: FolderDetails[] = [];
    const counts: WrittenCounts = { records: 0, files: 0, existing: 0, skipped: 0 };
    for (const p of drafts) {
      const folder = await this.parts.folders.create(p.profile);
      const planned = p.records.map((d) => ({
        recordId: newId<RecordId>(),
        input: () => Promise.resolve(draftInput(d)),
      }));
      addCounts(counts, await writePlanned(this.parts, folder.folderId, planned));
      folders.push(await this.parts.folders.get(folder.folderId));
    }
    return { folders, counts };
  }

  // --- verification -----------------------------------------------------------------------------

  private async find(importId: FolderId): Promise<WireImport> {
    const wire = (await this.#imports.list()).find((w) => w.importId === importId);
    if (wire === undefined) throw new ApiError(404, 'NOT_FOUND', 'no such import');
    return wire;
  }

  private async fileInput(importId: FolderId, it: OpenedItem): Promise<RecordInput> {
    const stream = await decryptedItem(this.#imports, importId, it);
    const input: RecordInput = {
      kind: 'document',
      title: it.header.fileName,
      fileName: it.header.fileName,
      size: it.header.size,
      body: stream,
    };
    if (it.header.mimeType !== undefined) input.mimeType = it.header.mimeType;
    return input;
  }
}

/** The content of a source, with its header, read once (FHIR is checked before staging). */
function sourceContent(
  source: ImportSource,
  patientName: string | undefined,
  now: number,
): { header: ImportHeader; size: number; body: () => ReadableStream<Uint8Array> } {
  if ('fhir' in source) {
    const bytes =
      source.fhir instanceof Uint8Array
        ? source.fhir
        : utf8(typeof source.fhir === 'string' ? source.fhir : JSON.stringify(source.fhir));
    // Refuse what the practitioner could not adopt, before anything is sent.
    const drafts = fhirToDrafts(fromUtf8(bytes));
    const header: ImportHeader = {
      type: 'fhir',
      fileName: source.fileName ?? 'bundle.json',
      mimeType: 'application/fhir+json',
      size: bytes.length,
      createdAt: now,
    };
    const name = patientName ?? drafts.map((d) => d.profile.name).join(', ');
    if (name !== '') header.patientName = name;
    return { header, size: bytes.length, body: () => bytesStream(bytes) };
  }
  const f = source.file;
  if (typeof f?.fileName !== 'string' || f.fileName === '')
    throw invalidArgument('file.fileName', 'a file name');
  if (!Number.isSafeInteger(f.size) || f.size < 0)
    throw invalidArgument('file.size', 'the byte length of the body');
  const header: ImportHeader = { type: 'file', fileName: f.fileName, size: f.size, createdAt: now };
  if (f.mimeType !== undefined) header.mimeType = f.mimeType;
  if (patientName !== undefined) header.patientName = patientName;
  const body = f.body;
  return {
    header,
    size: f.size,
    body: () => (body instanceof Uint8Array ? bytesStream(body) : body),
  };
}

function randomItemNumber(): number {
  const b = randomBytes(4);
  const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  return Math.max(2, n);
}

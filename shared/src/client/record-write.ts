/**
 * Writing record versions: a fresh data key per version sealed under the folder key of the
 * current epoch, the header sealed under the data key, the body (documents) encrypted chunk by
 * chunk while it uploads, and the version signed by its author. The relay's compare-and-swap
 * on the version number turns concurrent edits into a `CONFLICT`, never an overwrite.
 */
import { equalBytes } from '../bytes';
import { CarnetError, invalidArgument } from '../errors';
import type { BlobId, FolderId, RecordId } from '../ids';
import type { DataKey } from '../keys';
import {
  headerHash,
  newDataKey,
  recordVersionHash,
  sealDataKey,
  sealRecordHeader,
  signRecordVersion,
  type RecordHeader,
  type RecordVersionFields,
} from '../record';
import { createFileEncryptor, paddedFileSize } from '../stream';
import { createSha256 } from '../stream/digest';
import type { VersionOut } from './api';
import type { Core } from './core';
import type { FolderLoader, FolderState } from './folder-state';
import { advanceRecordMark, markSeen } from './record-verify';
import type { RecordInput, RecordView } from './types';
import type { WireVersion } from './wire';

/**
 * Stages a ciphertext stream (e.g. in a temporary file) so that its SHA-256 is known before it
 * is sent: the relay requires `Content-Digest` up front. Node: `tempFileSpool()`.
 */
export type UploadSpool = (ciphertext: ReadableStream<Uint8Array>) => Promise<SpooledBlob>;

/** A staged ciphertext. */
export interface SpooledBlob {
  sha256: Uint8Array;
  size: number;
  /** A fresh stream of the staged bytes. */
  open(): ReadableStream<Uint8Array>;
  /** Removes the staged copy. */
  dispose(): Promise<void>;
}

/** Documents up to this size are encrypted in memory and sent with their digest. */
export const IN_MEMORY_UPLOAD_LIMIT = 16 * 1024 * 1024;

const ZERO32 = new Uint8Array(32);

/** Writes record versions. */
export class RecordWriter {
  constructor(
    private readonly core: Core,
    private readonly loader: FolderLoader,
    private readonly spool: UploadSpool | undefined,
  ) {}

  /**
   * Writes version `version` of `recordId` after the version whose hash is `prevHash` (zero for
   * a new record). Resolves with the written version, decrypted view.
   */
  async write(
    state: FolderState,
    recordId: RecordId,
    version: number,
    prevHash: Uint8Array,
    input: RecordInput,
  ): Promise<RecordView> {
    const { folderId } = state;
    const epoch = state.manifest.epoch;
    const s = this.core.session;
    const header = headerOf(input, this.core.now());
    const dek = newDataKey();
    try {
      const sealedHeader = sealRecordHeader(dek, header, { folderId, recordId, version });
      const fk = await this.loader.currentKey(state);
      const dataKey = sealDataKey(fk, dek, { folderId, recordId, version, epoch });
      const body =
        input.kind === 'document'
          ? await this.upload(dek, { folderId, recordId, version }, input.size, input.body)
          : { blobId: undefined, digest: ZERO32 };
      const fields: RecordVersionFields = {
        folderId,
        recordId,
        version,
        prevVersionHash: version === 1 ? ZERO32 : prevHash,
        headerHash: headerHash(sealedHeader),
        bodyDigest: body.digest,
        epoch,
        authorId: s.accountId,
      };
      const signed = await signRecordVersion(s.secrets.identityPrivateKey, fields);
      const out: VersionOut = { version, epoch, header: sealedHeader, signed, dataKey };
      if (body.blobId !== undefined) out.blobId = body.blobId;
      const stored = await this.post(folderId, recordId, out);
      const hash = recordVersionHash(signed);
      await advanceRecordMark(this.core, folderId, recordId, {
        fields,
        hash,
        createdAt: stored.createdAt,
      });
      await markSeen(this.core, folderId, [recordId]);
      return { recordId, version, epoch, authorId: s.accountId, ...header };
    } finally {
      dek.fill(0);
    }
  }

  /**
   * Sends a version; the relay must store exactly it. A refused version (a lost race: CONFLICT)
   * leaves its uploaded body unattached: it is removed now rather than by the relay's sweep.
   */
  private async post(
    folderId: FolderId,
    recordId: RecordId,
    out: VersionOut,
  ): Promise<WireVersion> {
    let stored: WireVersion;
    try {
      stored = await this.core.api.postVersion(folderId, recordId, out);
    } catch (e) {
      if (out.blobId) await this.core.api.deleteBlob(out.blobId).catch(() => undefined);
      throw e;
    }
    if (stored.version !== out.version || !equalBytes(stored.signed, out.signed)) {
      throw new CarnetError('CONTEXT_MISMATCH');
    }
    return stored;
  }

  /**
   * Encrypts and uploads a document body; resolves with the blob id and the content digest
   * the version signs. The relay's own hash of what it stored must equal ours.
   */
  private async upload(
    dek: DataKey,
    ctx: { folderId: FolderId; recordId: RecordId; version: number },
    size: number,
    content: ReadableStream<Uint8Array>,
  ): Promise<{ blobId: BlobId; digest: Uint8Array }> {
    const enc = createFileEncryptor(dek, ctx, size);
    // The encryptor's own error (e.g. a body longer or shorter than `size`) is the one to
    // report; fetch would only say that its body stream failed.
    let sourceError: unknown;
    enc.digest.catch((e: unknown) => (sourceError = e));
    const expectedSize = paddedFileSize(size);
    const hasher = await createSha256();
    const ciphertext = content.pipeThrough(enc.stream).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          hasher.update(chunk);
          c.enqueue(chunk);
        },
      }),
    );
    let sent: Awaited<ReturnType<RecordWriter['send']>>;
    try {
      sent = await this.send(ciphertext, expectedSize, () => hasher.digest());
    } catch (e) {
      throw sourceError ?? e;
    }
    if (sent.size !== expectedSize || !equalBytes(sent.sha256, sent.local)) {
      await this.core.api.deleteBlob(sent.blobId).catch(() => undefined);
      throw new CarnetError('INTEGRITY', 'The relay stored something other than what was sent.');
    }
    return { blobId: sent.blobId, digest: await enc.digest };
  }

  /** Small bodies go in one request with their digest; large ones through the spool or streamed. */
  private async send(
    ciphertext: ReadableStream<Uint8Array>,
    expectedSize: number,
    localDigest: () => Uint8Array,
  ): Promise<{ blobId: BlobId; size: number; sha256: Uint8Array; local: Uint8Array }> {
    const api = this.core.api;
    if (expectedSize <= IN_MEMORY_UPLOAD_LIMIT) {
      const bytes = new Uint8Array(await new Response(ciphertext).arrayBuffer());
      const local = localDigest();
      return { ...(await api.uploadBlob(bytes, local)), local };
    }
    if (this.spool !== undefined) {
      const staged = await this.spool(ciphertext);
      try {
        const local = localDigest();
        if (!equalBytes(local, staged.sha256)) throw new CarnetError('INTEGRITY');
        return { ...(await api.uploadBlob(staged.open(), staged.sha256)), local };
      } finally {
        await staged.dispose();
      }
    }
    const res = await api.uploadBlob(ciphertext);
    return { ...res, local: localDigest() };
  }
}

/** The header of a new version. */
function headerOf(input: RecordInput, now: number): RecordHeader {
  switch (input.kind) {
    case 'note':
      return { kind: 'note', title: input.title, text: input.text, createdAt: now };
    case 'document': {
      if (!Number.isSafeInteger(input.size) || input.size < 0) {
        throw invalidArgument('size', 'the byte length of the body');
      }
      return {
        kind: 'document',
        title: input.title ?? input.fileName,
        fileName: input.fileName,
        size: input.size,
        createdAt: now,
        ...(input.mimeType !== undefined ? { mimeType: input.mimeType } : {}),
        ...(input.text !== undefined ? { text: input.text } : {}),
      };
    }
    case 'observation':
    case 'condition':
    case 'allergy':
    case 'medication':
    case 'encounter':
    case 'fhir':
    case 'profile':
      return {
        kind: input.kind,
        title: input.title,
        structured: input.structured,
        createdAt: now,
        ...(input.text !== undefined ? { text: input.text } : {}),
      };
    default:
      throw invalidArgument(
        'kind',
        'note, document or a structured kind (observation, condition, allergy, medication, encounter, fhir, profile)',
      );
  }
}

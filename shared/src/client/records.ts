/**
 * Reading records: every version verified (record-verify.ts) before its data key, header or
 * body is opened. Opening N records costs N small symmetric unwraps under the folder key.
 */
import { equalBytes } from '../bytes';
import { CarnetError, invalidArgument } from '../errors';
import type { FolderId, RecordId } from '../ids';
import type { DataKey } from '../keys';
import { recordListDigest } from '../manifest';
import { openDataKey, openRecordHeader, type RecordHeader } from '../record';
import { createFileDecryptor } from '../stream';
import type { Contacts } from './contacts';
import type { Core } from './core';
import type { FolderLoader, FolderState } from './folder-state';
import {
  AuthorPolicy,
  advanceRecordMark,
  checkNothingDropped,
  checkStoredVersion,
  latestEntries,
  markSeen,
  matchRecordDigest,
  verifyChain,
  type VerifiedVersion,
} from './record-verify';
import type { RecordSummary, RecordView } from './types';
import type { WireVersion } from './wire';

/** A record's signed version objects, as listed (no header, no key). */
export interface SignedRecord {
  recordId: RecordId;
  versions: readonly { version: number; epoch: number; createdAt: number; signed: Uint8Array }[];
}

/** The verified record list of a folder. */
export interface VerifiedList {
  chains: Map<RecordId, VerifiedVersion[]>;
  latest: Map<RecordId, WireVersion>;
  /** Whether the manifest's digest covers the latest versions or an earlier state. */
  digest: 'current' | 'older';
}

/** An opened record version. */
export interface OpenedVersion {
  view: RecordView;
  verified: VerifiedVersion;
  stored: WireVersion;
  dek: DataKey;
}

/** Record reading and verification. */
export class RecordReader {
  constructor(
    private readonly core: Core,
    private readonly loader: FolderLoader,
    private readonly contacts: Contacts,
  ) {}

  /** Who may author versions in this folder, from its verified manifest history. */
  async authors(state: FolderState): Promise<AuthorPolicy> {
    return new AuthorPolicy(await this.loader.history(state), this.core, this.contacts);
  }

  /** Fetches and verifies the whole record list of a folder (see record-verify.ts). */
  async verifiedList(state: FolderState): Promise<VerifiedList> {
    const records = await this.core.api.listRecords(state.folderId);
    const { chains, digest } = await this.verifyVersions(state, records, (r, top) =>
      checkStoredVersion(
        r.latest,
        top,
        r.versions.find((v) => v.version === top.fields.version)!.signed,
      ),
    );
    return { chains, latest: new Map(records.map((r) => [r.recordId, r.latest])), digest };
  }

  /** The record-list digest of the folder's current records (verified first). */
  async currentDigest(state: FolderState): Promise<Uint8Array> {
    return recordListDigest(latestEntries((await this.verifiedList(state)).chains));
  }

  /**
   * The record-list digest of the folder's current records from signed version objects fetched
   * in bulk (`POST /rotations/records`): the same checks as {@link verifiedList} — chains,
   * authors, high-water marks, nothing dropped, the manifest's digest — without the headers.
   */
  async digestOfVersions(
    state: FolderState,
    records: readonly SignedRecord[],
  ): Promise<Uint8Array> {
    const { chains } = await this.verifyVersions(state, records, () => {});
    return recordListDigest(latestEntries(chains));
  }

  private async verifyVersions<R extends SignedRecord>(
    state: FolderState,
    records: readonly R[],
    checkLatest: (r: R, top: VerifiedVersion) => void,
  ): Promise<{ chains: Map<RecordId, VerifiedVersion[]>; digest: 'current' | 'older' }> {
    const authors = await this.authors(state);
    const chains = new Map<RecordId, VerifiedVersion[]>();
    for (const r of records) {
      if (chains.has(r.recordId)) throw new CarnetError('FORMAT', 'A record is listed twice.');
      const chain = await verifyChain(state.folderId, r.recordId, r.versions, authors);
      const top = chain.at(-1)!;
      checkLatest(r, top);
      await advanceRecordMark(this.core, state.folderId, r.recordId, top);
      chains.set(r.recordId, chain);
    }
    await checkNothingDropped(this.core, state.folderId, new Set(chains.keys()));
    const digest = matchRecordDigest(state.manifest.recordListDigest, chains, {
      epoch: state.manifest.epoch,
      members: new Set(state.manifest.members.map((m) => m.accountId)),
    });
    if (digest === undefined) {
      throw new CarnetError(
        'RECORD_MISSING',
        'The record list does not match the signed manifest.',
      );
    }
    return { chains, digest };
  }

  /** Latest version of every record, headers opened. */
  async summaries(state: FolderState, list: VerifiedList): Promise<RecordSummary[]> {
    return (await this.views(state, list)).map(summaryOf);
  }

  /** Latest version of every record, headers opened, with their content (text, structured). */
  async views(state: FolderState, list: VerifiedList): Promise<RecordView[]> {
    const out: RecordView[] = [];
    for (const [recordId, chain] of list.chains) {
      out.push((await this.open(state, chain.at(-1)!, list.latest.get(recordId)!)).view);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt || (a.recordId < b.recordId ? -1 : 1));
  }

  /** Every version of a record, verified, oldest first (not opened). */
  async history(
    state: FolderState,
    recordId: RecordId,
  ): Promise<{ chain: VerifiedVersion[]; stored: WireVersion[] }> {
    const stored = await this.core.api.getRecord(state.folderId, recordId);
    const chain = await verifyChain(state.folderId, recordId, stored, await this.authors(state));
    await advanceRecordMark(this.core, state.folderId, recordId, chain.at(-1)!);
    await markSeen(this.core, state.folderId, [recordId]);
    return { chain, stored: [...stored].sort((a, b) => a.version - b.version) };
  }

  /** One version (default: the latest), verified and opened. */
  async read(state: FolderState, recordId: RecordId, version?: number): Promise<OpenedVersion> {
    const { chain, stored } = await this.history(state, recordId);
    const n = version ?? chain.length;
    const verified = chain[n - 1];
    const s = stored[n - 1];
    if (verified === undefined || s === undefined)
      throw invalidArgument('version', 'an existing version');
    return this.open(state, verified, s);
  }

  /** Every version of a record, opened, oldest first. */
  async readAll(state: FolderState, recordId: RecordId): Promise<RecordView[]> {
    const { chain, stored } = await this.history(state, recordId);
    const out: RecordView[] = [];
    for (const [i, v] of chain.entries()) out.push((await this.open(state, v, stored[i]!)).view);
    return out;
  }

  /**
   * The body of a document version as a stream: downloaded, decrypted and checked chunk by
   * chunk; the stream errors instead of ending if the content's digest is not the signed one.
   */
  async body(state: FolderState, opened: OpenedVersion): Promise<ReadableStream<Uint8Array>> {
    const { stored, verified, view, dek } = opened;
    if (view.kind !== 'document') throw invalidArgument('recordId', 'a document');
    if (stored.blobId === undefined)
      throw new CarnetError('RECORD_MISSING', 'The document body is missing.');
    const ciphertext = await this.core.api.downloadBlob(stored.blobId);
    return decryptBody(ciphertext, dek, state.folderId, view, verified);
  }

  /** Opens a verified version: its data key under the folder key of its epoch, then its header. */
  async open(
    state: FolderState,
    verified: VerifiedVersion,
    stored: WireVersion,
  ): Promise<OpenedVersion> {
    checkStoredVersion(stored, verified, stored.signed);
    const { folderId, recordId, version, epoch, authorId } = verified.fields;
    if (stored.epoch !== epoch) throw new CarnetError('CONTEXT_MISMATCH');
    const fk = await this.loader.keyFor(state, epoch);
    const dek = openDataKey(fk, stored.dataKey, { folderId, recordId, version, epoch });
    const header = openRecordHeader(dek, stored.header, { folderId, recordId, version });
    return { view: viewOf(recordId, version, epoch, authorId, header), verified, stored, dek };
  }
}

/**
 * Decrypts a document body as it streams; the stream errors instead of ending if the content's
 * digest is not the signed one, or its length not the header's.
 */
export function decryptBody(
  ciphertext: ReadableStream<Uint8Array>,
  dek: DataKey,
  folderId: FolderId,
  view: RecordView,
  verified: VerifiedVersion,
): ReadableStream<Uint8Array> {
  const dec = createFileDecryptor(dek, {
    folderId,
    recordId: view.recordId,
    version: view.version,
  });
  // Observed here so that a failure that ends the stream early is not also unhandled.
  dec.digest.catch(() => undefined);
  dec.contentLength.catch(() => undefined);
  const check = new TransformStream<Uint8Array, Uint8Array>({
    async flush() {
      const [digest, length] = await Promise.all([dec.digest, dec.contentLength]);
      if (!equalBytes(digest, verified.fields.bodyDigest)) throw new CarnetError('INTEGRITY');
      if (view.size !== undefined && length !== view.size) throw new CarnetError('INTEGRITY');
    },
  });
  return ciphertext.pipeThrough(dec.stream).pipeThrough(check);
}

/** The public view of an opened version header. */
export function viewOf(
  recordId: RecordId,
  version: number,
  epoch: number,
  authorId: RecordView['authorId'],
  h: RecordHeader,
): RecordView {
  return {
    recordId,
    version,
    epoch,
    authorId,
    createdAt: h.createdAt,
    kind: h.kind,
    title: h.title,
    ...(h.fileName !== undefined ? { fileName: h.fileName } : {}),
    ...(h.mimeType !== undefined ? { mimeType: h.mimeType } : {}),
    ...(h.size !== undefined ? { size: h.size } : {}),
    ...(h.text !== undefined ? { text: h.text } : {}),
    ...(h.structured !== undefined ? { structured: h.structured } : {}),
  };
}

/** A {@link RecordView} without its content fields. */
export function summaryOf(v: RecordView): RecordSummary {
  const { text: _text, structured: _structured, ...summary } = v;
  return summary;
}

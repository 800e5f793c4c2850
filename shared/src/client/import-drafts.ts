/**
 * Writing mapped FHIR drafts into folders I own (own-account FHIR import and adoption of staged
 * imports), through the SDK's ordinary paths: `Folders.create`, `RecordWriter.write`, then one
 * manifest refresh so that the signed record-list digest covers what was written.
 */
import { concatBytes, lp, toBase64url, u32, utf8 } from '../bytes';
import { CarnetError } from '../errors';
import type { PatientProfile } from '../folder';
import type { RecordDraft } from '../fhir/types';
import type { FolderId, RecordId } from '../ids';
import { sha256 } from '../primitives/sha2';
import type { ClientParts } from './client';
import { isApiError } from './http';
import type { FolderDetails, RecordInput } from './types';

const ZERO32 = new Uint8Array(32);
const ID_DOMAIN = lp(utf8('carnet/v1/import/adopted-id'));

/** A record to write: its id, and how to get its input (undefined: nothing to write). */
export interface PlannedRecord {
  recordId: RecordId;
  input: () => Promise<RecordInput | undefined>;
}

/** What a write of drafts did. */
export interface WrittenCounts {
  /** Records written now (not those that already existed). */
  records: number;
  /** Of which documents. */
  files: number;
  /** Records already there (a resumed adoption). */
  existing: number;
  /** Drafts that could not be written: a document whose file is not in the input. */
  skipped: number;
}

/**
 * A 22-character id derived from `label` and `parts`: the same adoption, resumed after a crash,
 * names the same folders and records and so finds what it already wrote.
 */
export function derivedId<T extends string>(label: string, ...parts: (string | number)[]): T {
  const enc = parts.map((p) => (typeof p === 'number' ? u32(p) : lp(utf8(p))));
  return toBase64url(sha256(concatBytes(ID_DOMAIN, lp(utf8(label)), ...enc)).subarray(0, 16)) as T;
}

/** The record input of a draft, or undefined for a document whose bytes are not at hand. */
export function draftInput(d: RecordDraft): RecordInput | undefined {
  switch (d.kind) {
    case 'note':
      return { kind: 'note', title: d.title, text: d.text ?? '' };
    case 'document': {
      const data = d.document?.data;
      if (d.document === undefined || data === undefined) return undefined;
      const input: RecordInput = {
        kind: 'document',
        title: d.title,
        fileName: d.document.fileName,
        size: data.length,
        body: bytesStream(data),
      };
      if (d.document.mimeType !== undefined) input.mimeType = d.document.mimeType;
      if (d.text !== undefined) input.text = d.text;
      return input;
    }
    default: {
      const input: RecordInput = { kind: d.kind, title: d.title, structured: d.structured ?? null };
      if (d.text !== undefined) input.text = d.text;
      return input;
    }
  }
}

/** A one-chunk stream of `data`. */
export function bytesStream(data: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      if (data.length > 0) c.enqueue(data);
      c.close();
    },
  });
}

/**
 * The folder `folderId` if it exists and I own it, else a new folder with that id and
 * `profile`. An existing folder of someone else is `CONTEXT_MISMATCH`.
 */
export async function ensureFolder(
  parts: ClientParts,
  folderId: FolderId,
  profile: PatientProfile,
): Promise<FolderDetails> {
  let existing: FolderDetails | undefined;
  try {
    existing = await parts.folders.get(folderId);
  } catch (e) {
    if (!isApiError(e, 'NOT_FOUND')) throw e;
  }
  if (existing === undefined) return parts.folders.create(profile, folderId);
  if (existing.ownerId !== parts.core.session.accountId) {
    throw new CarnetError('CONTEXT_MISMATCH', 'The folder of this import belongs to someone else.');
  }
  return existing;
}

/**
 * Writes the planned records missing from the folder (each as version 1, authored by me), then
 * re-signs the manifest once so that its record-list digest covers them.
 */
export async function writePlanned(
  parts: ClientParts,
  folderId: FolderId,
  planned: PlannedRecord[],
): Promise<WrittenCounts> {
  const counts: WrittenCounts = { records: 0, files: 0, existing: 0, skipped: 0 };
  const state = await parts.loader.load(folderId);
  const have = new Set((await parts.reader.verifiedList(state)).chains.keys());
  for (const p of planned) {
    if (have.has(p.recordId)) {
      counts.existing++;
      continue;
    }
    const input = await p.input();
    if (input === undefined) {
      counts.skipped++;
      continue;
    }
    await parts.writer.write(state, p.recordId, 1, ZERO32, input);
    counts.records++;
    if (input.kind === 'document') counts.files++;
  }
  if (counts.records > 0) await parts.folders.refreshDigest(await parts.loader.load(folderId));
  return counts;
}

/** Adds `b` into `a`. */
export function addCounts(a: WrittenCounts, b: WrittenCounts): void {
  a.records += b.records;
  a.files += b.files;
  a.existing += b.existing;
  a.skipped += b.skipped;
}
